"""Dagster objects of the export stage: the monthly summary for the supervision reports, and the daily
job that lists the exports waiting on the operator's review or the bureau's filing with their due
dates on the working-day clock."""

import json
from datetime import date
from pathlib import Path

import dagster as dg

from assets.exports.config import load_exports_config
from assets.exports.summary import monthly_summary
from assets.exports.workflow import open_deadlines
from assets.storage.platform import PlatformResource, working_day_schedule

MONTHS = dg.MonthlyPartitionsDefinition(start_date="2025-01-01", timezone="Asia/Shanghai")
DEADLINE_JOB = "export_deadlines"


def _config(platform: PlatformResource):
    return load_exports_config(Path(platform.exports_config) if platform.exports_config else None)


@dg.asset(
    key=["exports", "monthly_summary"],
    partitions_def=MONTHS,
    group_name="exports",
    kinds={"python", "json"},
    owners=["team:operator"],
)
def exports_monthly_summary(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult:
    """产品、出域与收益月报：当月登记的产品（按类型、用途）、出域申请（按状态）、已出域（次数、行数、价格）
    和收入及其分配，供监管报告（第三十一条、第三十二条）。写入 reports/exports/<月>.json。"""
    month = date.fromisoformat(context.partition_key)
    summary = monthly_summary(platform.platform_engine(), month)
    target = platform.reports_dir / "exports" / f"{summary['month']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    releases = summary["releases"]
    return dg.MaterializeResult(
        metadata={
            "month": summary["month"],
            "releases": sum(r["count"] for r in releases),
            "rows_released": sum(r["rows"] for r in releases),
            "income_fen": summary["income_fen"],
            "summary": dg.MetadataValue.json(summary),
            "path": dg.MetadataValue.path(str(target)),
        }
    )


exports_monthly_schedule = dg.build_schedule_from_partitioned_job(
    dg.define_asset_job(
        "exports_monthly_report", selection=[exports_monthly_summary], partitions_def=MONTHS
    ),
    hour_of_day=6,
    description="每月 1 日 6:00 生成上月的产品、出域与收益月报。",
)


class DeadlineConfig(dg.Config):
    today: str | None = None


@dg.op(
    description="列出待运营机构审核、待市数据局备案的出域申请及其工作日期限，逾期的记警告。",
    tags={"stage": "exports"},
)
def list_export_deadlines(
    context: dg.OpExecutionContext, config: DeadlineConfig, platform: PlatformResource
) -> dg.Output[None]:
    today = date.fromisoformat(config.today) if config.today else platform.today_date()
    waiting = open_deadlines(
        platform.platform_engine(), _config(platform), today, platform.calendar
    )
    for item in waiting:
        if item["overdue"]:
            who = "运营机构审核" if item["waiting_for"] == "operator_review" else "市数据局备案"
            context.log.warning(f"出域申请 {item['id']} 待{who}，已超过期限 {item['due_date']}")
    context.log.info(f"{today}: 待审核/待备案的出域申请 {len(waiting)} 个")
    return dg.Output(
        None,
        metadata={
            "today": today.isoformat(),
            "waiting": dg.MetadataValue.json(waiting),
            "overdue": sum(1 for i in waiting if i["overdue"]),
        },
    )


@dg.job(
    name=DEADLINE_JOB,
    description="出域审核与备案的期限（每个工作日 8:45）。",
    tags={"stage": "exports"},
)
def export_deadlines() -> None:
    list_export_deadlines()


export_deadlines_schedule = working_day_schedule(
    export_deadlines,
    name="export_deadlines_schedule",
    cron_schedule="45 8 * * *",
    op_name="list_export_deadlines",
    run_key_prefix="export-deadlines",
    description="每个法定工作日 8:45 列出待审核、待备案的出域申请及其期限。",
)
