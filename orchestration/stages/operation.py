"""Wiring of the operation stage: governance → classification & grading → operation platform, one set
of assets per dataset (no operation asset for 禁止开放 datasets), and the job the CLI runs after ingest."""

import dagster as dg

from assets.classification.assets import classification_asset
from assets.classification.keys import classification_key
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.governance.assets import governance_asset, governance_reconciled_check
from assets.governance.keys import governance_key
from assets.operation.assets import operation_asset
from assets.operation.keys import operation_key
from orchestration.stages import StageDefinitions

OPERATION_JOB = "govern_and_publish"


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    keys: list[dg.AssetKey] = []
    for dataset_id, entry in catalog.items():
        assets += [governance_asset(entry, city), classification_asset(entry, city)]
        checks.append(governance_reconciled_check(entry))
        keys += [governance_key(dataset_id), classification_key(dataset_id)]
        if not entry.is_prohibited:  # 第四条: never operated
            assets.append(operation_asset(entry, city))
            keys.append(operation_key(dataset_id))
    job = dg.define_asset_job(
        OPERATION_JOB,
        selection=dg.AssetSelection.assets(*keys),
        description="全部数据集：治理 → 分类分级 → 脱敏后供给公共数据运营平台（读取交换平台全部分区）",
    )
    return StageDefinitions(
        defs=dg.Definitions(assets=assets, asset_checks=checks, jobs=[job]),
        post_ingest_jobs=(OPERATION_JOB,),
    )
