"""The workspace's asset check: the privileges that actually exist, against the live grants."""

import dagster as dg

from assets.storage.platform import PlatformResource
from assets.workspace.keys import WORKSPACE_KEY
from assets.workspace.reconcile import check_privileges, live_state

PRIVILEGES_CHECK = "privileges_match_grants"
PRIVILEGES_JOB = "workspace_privileges"


@dg.asset_check(
    asset=WORKSPACE_KEY,
    name=PRIVILEGES_CHECK,
    blocking=False,
    description=(
        "读取数据库中实际存在的权限（PostgreSQL 系统目录：表、视图、字段、模式、默认权限、数据库、"
        "SECURITY DEFINER 函数、角色成员关系，以及每个数据商角色的实际有效权限），凡不属于平台自身的"
        "角色（含 PUBLIC）持有的、没有生效授权对应的权限，一项即失败（ERROR），并列出是谁、对什么、"
        "什么权限。SQLite：授权器的允许清单必须等于生效授权。"
    ),
)
def privileges_match_grants(platform: PlatformResource) -> dg.AssetCheckResult:
    platform_engine = platform.platform_engine()
    today = platform.today_date()
    grants, merchants = live_state(platform_engine, today)
    outcome = check_privileges(
        platform_engine, platform.operation_engine(), grants, merchants=merchants
    )
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.description(),
        metadata={
            "today": today.isoformat(),
            "backend": outcome.backend,
            "grants_live": len(grants),
            "grants_applied": len(outcome.plan.views),
            "violations": dg.MetadataValue.json(outcome.violations),
            "not_applied": dg.MetadataValue.json(outcome.not_applied),
        },
    )


privileges_job = dg.define_asset_job(
    PRIVILEGES_JOB,
    selection=dg.AssetSelection.checks(privileges_match_grants),
    description="只核对运营平台工作区的实际权限与生效授权（不改变任何对象）",
    tags={"stage": "workspace"},
)
