"""The supervision reports as Dagster assets, partitioned by month and by year (China time).

- ``supervision/department_notice_monthly`` · ``_yearly`` — 第三十一条 通报 on the source departments;
- ``supervision/operator_report_monthly`` · ``_yearly`` — 第三十二条 report and public disclosure page;
- ``supervision/annual_evaluation`` — 第三十三条 evaluation data set (yearly).

Each materialization writes its files under ``<data dir>/reports/supervision/``, carries the audit head
in its metadata and appends an audit record with the files' SM3, so a report found later can be tied
to the log.
"""

from collections.abc import Callable

import dagster as dg

from assets.audit import log as audit
from assets.common.hashchain import sm3_hex
from assets.storage.platform import PlatformResource
from assets.supervision.periods import parse_period
from assets.supervision.reports import (
    Written,
    write_annual_evaluation,
    write_department_notice,
    write_operator_report,
)

TIMEZONE = "Asia/Shanghai"
monthly = dg.MonthlyPartitionsDefinition(start_date="2024-01", timezone=TIMEZONE, fmt="%Y-%m")
yearly = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start="2024", fmt="%Y", timezone=TIMEZONE
)
REPORT_ACTION = "supervision_report"


def _result(
    platform: PlatformResource, name: str, key: str, written: Written
) -> dg.MaterializeResult:
    data_dir = platform.data_path
    files = {
        str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path): sm3_hex(
            path.read_bytes()
        )
        for path in written.paths
    }
    with platform.platform_engine().begin() as connection:
        audit.record(
            connection,
            actor=audit.SYSTEM_ACTOR,
            action=REPORT_ACTION,
            target=f"supervision/{name}/{key}",
            detail={"files_sm3": files, "audit_head_seq": written.head_seq},
        )
    return dg.MaterializeResult(
        metadata={
            "period": key,
            "files": dg.MetadataValue.json(sorted(files)),
            "audit_head_seq": written.head_seq,
            "audit_head_hash": written.head_hash,
            "figures": dg.MetadataValue.json(written.figures),
        }
    )


def _department(context: dg.AssetExecutionContext, platform: PlatformResource) -> Written:
    return write_department_notice(
        platform.platform_engine(),
        platform.exchange_engine(),
        platform.city,
        platform.catalog,
        parse_period(context.partition_key),
        platform.reports_dir,
        platform.today_date(),
    )


def _operator(context: dg.AssetExecutionContext, platform: PlatformResource) -> Written:
    return write_operator_report(
        platform.platform_engine(), parse_period(context.partition_key), platform.reports_dir
    )


def _annual(context: dg.AssetExecutionContext, platform: PlatformResource) -> Written:
    return write_annual_evaluation(
        platform.platform_engine(),
        platform.exchange_engine(),
        platform.city,
        platform.catalog,
        parse_period(context.partition_key),
        platform.reports_dir,
        platform.today_date(),
    )


def _report_asset(
    name: str,
    partitions: dg.PartitionsDefinition,
    write: Callable[[dg.AssetExecutionContext, PlatformResource], Written],
    description: str,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=["supervision", name],
        partitions_def=partitions,
        group_name="supervision",
        kinds={"html", "xlsx"},
        description=description,
        tags={"stage": "supervision"},
    )
    def report(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        written = write(context, platform)
        context.log.info(f"{name} {context.partition_key}: {len(written.paths)} 个文件")
        return _result(platform, name, context.partition_key, written)

    return report


DEPARTMENT_DOC = "第三十一条：数源部门工作情况通报——目录登记、数据挂接与按时更新（分县区）、质量工单新开/逾期/按期关闭、申请审核及时性。"
OPERATOR_DOC = "第三十二条：运营机构运营情况报告与向社会披露页——供给数据集、申请受理/通过/视为同意/未通过、产品备案与出域、安全事件。"

supervision_assets = [
    _report_asset("department_notice_monthly", monthly, _department, DEPARTMENT_DOC),
    _report_asset("department_notice_yearly", yearly, _department, DEPARTMENT_DOC),
    _report_asset("operator_report_monthly", monthly, _operator, OPERATOR_DOC),
    _report_asset("operator_report_yearly", yearly, _operator, OPERATOR_DOC),
    _report_asset(
        "annual_evaluation",
        yearly,
        _annual,
        "第三十三条：运营机构年度评估数据集（评估指标与数源部门、县区、数据商评价表）。",
    ),
]

monthly_job = dg.define_asset_job(
    "supervision_monthly",
    selection=dg.AssetSelection.assets(
        ["supervision", "department_notice_monthly"], ["supervision", "operator_report_monthly"]
    ),
    partitions_def=monthly,
    description="每月监管报告（第三十一条、第三十二条）。",
)
yearly_job = dg.define_asset_job(
    "supervision_yearly",
    selection=dg.AssetSelection.assets(
        ["supervision", "department_notice_yearly"],
        ["supervision", "operator_report_yearly"],
        ["supervision", "annual_evaluation"],
    ),
    partitions_def=yearly,
    description="年度监管报告与年度评估数据集（第三十一条至第三十三条）。",
)
# the period just ended: monthly at 07:00 on the 1st; yearly at the turn of the year
monthly_schedule = dg.build_schedule_from_partitioned_job(monthly_job, hour_of_day=7)
yearly_schedule = dg.build_schedule_from_partitioned_job(yearly_job)  # at 00:00 on 1 January
