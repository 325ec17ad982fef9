"""When the workspace reconciles: daily just after midnight China time (grants expire with the day),
hourly the privileges check alone (a hand-made grant is found within the hour), and whenever the live
grants differ from what the workspace applied (an approval, an exit, a suspension)."""

import hashlib

import dagster as dg

from assets.storage.platform import PlatformResource
from assets.workspace.checks import PRIVILEGES_JOB
from assets.workspace.keys import WORKSPACE_JOB
from assets.workspace.reconcile import live_state
from assets.workspace.records import applied_access

CHINA_TIMEZONE = "Asia/Shanghai"

workspace_daily = dg.ScheduleDefinition(
    name="workspace_reconcile_daily",
    job_name=WORKSPACE_JOB,
    cron_schedule="5 0 * * *",
    execution_timezone=CHINA_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="每天 0:05（北京时间）按当天生效的授权同步运营平台工作区：到期的授权当天即被收回",
)

privileges_hourly = dg.ScheduleDefinition(
    name="workspace_privileges_hourly",
    job_name=PRIVILEGES_JOB,
    cron_schedule="17 * * * *",
    execution_timezone=CHINA_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="每小时核对运营平台工作区的实际权限（发现手工授予的权限即告警）",
)


@dg.sensor(
    name="workspace_grants_changed",
    job_name=WORKSPACE_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="生效授权与工作区已同步的授权不一致时（批准、退出、暂停供给、到期）同步工作区",
)
def workspace_grants_changed(
    context: dg.SensorEvaluationContext, platform: PlatformResource
) -> dg.SensorResult:
    engine = platform.platform_engine()
    grants, _ = live_state(engine, platform.today_date())
    live = sorted({g.grant_id for g in grants})
    applied = sorted({row.grant_id for row in applied_access(engine)})
    if live == applied:
        return dg.SensorResult(skip_reason="工作区与生效授权一致")
    key = hashlib.sha256(f"{live}|{applied}".encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=key)])
