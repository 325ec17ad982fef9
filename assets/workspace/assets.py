"""The workspace asset: the operation zone's database objects reconciled with the live grants."""

import dagster as dg

from assets.audit import log as audit
from assets.common.catalog import CatalogEntry
from assets.operation.assets import OPERATOR
from assets.operation.keys import operation_key
from assets.storage.engine import safe_url
from assets.storage.platform import PlatformResource
from assets.workspace.keys import WORKSPACE_JOB, WORKSPACE_KEY
from assets.workspace.reconcile import live_state, reconcile

WORKSPACE_GROUP = "workspace"


def workspace_grants_asset(catalog: dict[str, CatalogEntry]) -> dg.AssetsDefinition:
    deps = [operation_key(d) for d, entry in catalog.items() if not entry.is_prohibited]

    @dg.asset(
        key=WORKSPACE_KEY,
        deps=deps,
        group_name=WORKSPACE_GROUP,
        kinds={"sql"},
        owners=[OPERATOR],
        automation_condition=dg.AutomationCondition.eager(),
        description=(
            "运营平台工作区（第四条 可用不可见）：按当天生效的数据使用授权同步数据库对象。PostgreSQL："
            "每个数据商一个登录角色（无生效授权时不能登录，退出后删除），每项授权一个模式，内含只选取"
            "授权信息项的视图，角色只对这些视图有 SELECT，对运营平台表本身没有任何权限；手工授予数据商"
            "角色的权限被收回。SQLite：授权器的允许清单。授权到期、数据商退出、暂停供给、运营授权终止"
            "后对应对象即被删除。每天 0:05、每次运营平台发布后、授权变化时运行；每项变更写审计日志。"
        ),
        tags={"stage": "workspace"},
    )
    def _workspace(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        platform_engine = platform.platform_engine()
        today = platform.today_date()
        grants, merchants = live_state(platform_engine, today)
        outcome = reconcile(
            platform_engine,
            platform.operation_engine(),
            grants,
            merchants=merchants,
            actor=audit.SYSTEM_ACTOR,
        )
        for privilege in outcome.found:
            context.log.warning(f"发现没有有效授权的权限: {privilege.describe()}")
        for pending in outcome.plan.pending:
            context.log.info(f"授权 {pending.grant_id} 暂不生效: {pending.reason}")
        metadata = outcome.metadata()
        return dg.MaterializeResult(
            metadata={
                "today": today.isoformat(),
                "zone": safe_url(platform.operation_url),
                "backend": metadata["backend"],
                "merchants": metadata["merchants"],
                "merchants_with_grants": metadata["merchants_with_grants"],
                "grants_live": metadata["grants_live"],
                "grants_applied": metadata["grants_applied"],
                "grants_pending": dg.MetadataValue.json(metadata["grants_pending"]),
                "objects_created": metadata["objects_created"],
                "objects_dropped": metadata["objects_dropped"],
                "changes": dg.MetadataValue.json(metadata["changes"]),
                "privileges_without_grant_found": dg.MetadataValue.json(
                    metadata["privileges_without_grant_found"]
                ),
                "privileges_without_grant_remaining": dg.MetadataValue.json(
                    metadata["privileges_without_grant_remaining"]
                ),
            }
        )

    return _workspace


workspace_job = dg.define_asset_job(
    WORKSPACE_JOB,
    selection=dg.AssetSelection.assets(WORKSPACE_KEY),
    description="按生效授权同步运营平台工作区（角色、授权模式、视图、权限 / SQLite 允许清单），并核对实际权限",
    tags={"stage": "workspace"},
)
