"""Wiring of the quality stage (issue 4): a quality-suite asset check on every exchange table, and the
daily follow-up of the tickets (escalation of overdue ones, notices to departments, reports).

The ingest jobs of ``spine.py`` select the exchange assets, and Dagster runs the checks of selected
assets with them, so each county's delivery is checked in the run that loads it.
"""

from datetime import UTC, datetime

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.workdays import CHINA_TZ, china_date, is_working_day
from assets.quality.checks import exchange_quality_check
from assets.storage.platform import PlatformResource
from assets.tickets import store as ticket_store
from assets.tickets.notify import notify_departments
from assets.tickets.reports import write_department_reports
from orchestration.stages import StageDefinitions

FOLLOWUP_JOB = "quality_ticket_followup"
FOLLOWUP_CRON = "0 9 * * *"  # 09:00 China time, on official working days only


@dg.op(
    description=(
        "质量工单跟踪：逾期未整改的工单升级至县（区）数据局；把新建、重新打开、升级的工单通知数源部门"
        "（config/city.yaml 中各部门的 channels）；更新各部门的质量工单报告（XLSX、HTML）。"
    ),
    tags={"stage": "quality"},
)
def follow_up_quality_tickets(
    context: dg.OpExecutionContext, platform: PlatformResource
) -> dg.Output[None]:
    engine = platform.platform_engine()
    now = datetime.now(UTC)
    city, catalog = platform.city, platform.catalog
    escalated = ticket_store.escalate_overdue(engine, china_date(now), city=city, at=now)
    notices = notify_departments(engine, city, catalog, now=now)
    # every county office of every department, with tickets or not (本期无待处理问题)
    reports = [
        report.html
        for report in write_department_reports(engine, platform.reports_dir, city, catalog, now=now)
    ]
    # the Data Docs of the datasets a CLI run checked, once per dataset (its checks left them);
    # Great Expectations is imported here, not with the definitions (assets/quality/checks.py)
    from assets.quality.findings import validator_for
    from assets.quality.results import docs_root, rebuild_stale_docs, results_dir, write_index

    validator = validator_for(platform.catalog_path)
    results, docs = results_dir(platform.data_path), docs_root(platform.data_path)
    docs_built, docs_failed = rebuild_stale_docs(results, docs, validator.suite)
    if results.is_dir() and any(results.iterdir()):
        # the index across datasets once more, after every check: a CLI run's last partition of
        # each dataset built that dataset's site (and an index) beside the other worker's checks
        write_index(results, docs)
    for dataset_id, reason in docs_failed.items():
        context.log.warning(f"{dataset_id} 的 Data Docs 未能重建：{reason}")
    for notice in notices:
        for delivery in notice.deliveries:
            if not delivery.ok:
                context.log.warning(
                    f"通知 {notice.department_id} 失败（{delivery.channel}）：{delivery.error}"
                )
    context.log.info(
        f"升级 {len(escalated)} 个逾期工单；通知 {sum(n.delivered for n in notices)} 个部门；"
        f"更新 {len(reports)} 份部门报告"
    )
    return dg.Output(
        None,
        metadata={
            "tickets_escalated": [t.id for t in escalated],
            "departments_notified": [n.department_id for n in notices if n.delivered],
            "tickets_notified": [i for n in notices if n.delivered for i in n.ticket_ids],
            "notice_failures": [
                {"department": n.department_id, "channel": d.channel, "error": d.error}
                for n in notices
                for d in n.deliveries
                if not d.ok
            ],
            "reports": [str(path) for path in reports],
            "data_docs_rebuilt": docs_built,
        },
    )


@dg.job(
    name=FOLLOWUP_JOB,
    description="质量工单跟踪：逾期升级、通知数源部门、更新部门报告（每个工作日 9:00，入库后也运行一次）。",
    tags={"stage": "quality"},
)
def quality_ticket_followup() -> None:
    follow_up_quality_tickets()


@dg.schedule(
    job=quality_ticket_followup,
    cron_schedule=FOLLOWUP_CRON,
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="每个法定工作日（含调休上班日）9:00 跟踪质量工单；节假日和周末不运行。",
)
def quality_ticket_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = context.scheduled_execution_time.astimezone(CHINA_TZ).date()
    if not is_working_day(day):
        return dg.SkipReason(f"{day.isoformat()} 不是工作日")
    return dg.RunRequest(run_key=day.isoformat(), tags={"publicdata/trigger": "schedule"})


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            asset_checks=[exchange_quality_check(entry, city) for entry in catalog.values()],
            jobs=[quality_ticket_followup],
            schedules=[quality_ticket_schedule],
        ),
        post_ingest_jobs=(FOLLOWUP_JOB,),
    )
