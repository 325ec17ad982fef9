"""The daily clock of the authorized operation: deemed approvals (视为同意, 第二十一条) and the expiry of
applications whose period ended, every working day at 08:30 China time."""

from datetime import date

import dagster as dg

from assets.authorization.reviews import apply_deemed_approvals as apply_deemed
from assets.storage.platform import PlatformResource, working_day_schedule

DEEM_JOB = "application_deadlines"
DEEM_CRON = "30 8 * * *"  # 08:30 China time, official working days only


class DeadlineConfig(dg.Config):
    today: str | None = None  # ISO date the schedule passes (its tick's day); else the platform's


@dg.op(
    description=(
        "数据使用申请的审核时限：审核期限（正式日历上的）已过、未作出审核且未申请延期的审核，依第二十一条"
        "视为同意并记录；期限落在尚未公布放假安排的年份（临时日历）的，不作视为同意，等待加载该年日历文件。"
        "使用期限届满的申请标记为已过期并撤销其授权。"
    ),
    tags={"stage": "authorization"},
)
def apply_deemed_approvals(
    context: dg.OpExecutionContext, config: DeadlineConfig, platform: PlatformResource
) -> dg.Output[None]:
    today = date.fromisoformat(config.today) if config.today else platform.today_date()
    outcome = apply_deemed(
        platform.platform_engine(), platform.catalog, today, calendar=platform.calendar
    )
    for held in outcome.held_provisional:
        context.log.warning(
            f"申请 {held['application_id']} 的审核期限 {held['due_date']} 依据临时日历，"
            "暂不视为同意：请加载该年国务院放假安排（config/calendar/<年>.yaml）"
        )
    context.log.info(
        f"{today}: 视为同意 {len(outcome.deemed)} 项审核，决定 {len(outcome.decided)} 个申请，"
        f"过期 {len(outcome.expired)} 个申请"
    )
    record = outcome.as_record()
    return dg.Output(
        None,
        metadata={
            "today": today.isoformat(),
            "reviews_deemed": dg.MetadataValue.json(record["deemed"]),
            "reviews_held_provisional": dg.MetadataValue.json(record["held_provisional"]),
            "applications_decided": dg.MetadataValue.json(record["decided"]),
            "applications_expired": record["expired"],
        },
    )


@dg.job(
    name=DEEM_JOB,
    description="数据使用申请时限：视为同意与期满过期（每个工作日 8:30）。",
    tags={"stage": "authorization"},
)
def application_deadlines() -> None:
    apply_deemed_approvals()


application_deadlines_schedule = working_day_schedule(
    application_deadlines,
    name="application_deadlines_schedule",
    cron_schedule=DEEM_CRON,
    op_name="apply_deemed_approvals",
    run_key_prefix="deadlines",
    description="每个法定工作日（含调休上班日）8:30 处理审核时限：到期未审核的视为同意，期满的申请过期。",
    tags={"publicdata/trigger": "schedule"},
)
