"""Wiring of the workspace (第四条 可用不可见): the reconciled grants asset and its privileges check,
the checks-only job, the daily and hourly schedules and the grants sensor. After every CLI ingest the
runner reconciles once the operation platform has published."""

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.workspace.assets import workspace_grants_asset, workspace_job
from assets.workspace.checks import privileges_job, privileges_match_grants
from assets.workspace.keys import WORKSPACE_JOB
from assets.workspace.sensors import privileges_hourly, workspace_daily, workspace_grants_changed
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            assets=[workspace_grants_asset(catalog)],
            asset_checks=[privileges_match_grants],
            jobs=[workspace_job, privileges_job],
            schedules=[workspace_daily, privileges_hourly],
            sensors=[workspace_grants_changed],
        ),
        post_ingest_jobs=(WORKSPACE_JOB,),
    )
