"""Wiring of the catalog stage (issue 5): the city catalog asset, its publication job and the registry
sensor; one freshness check per catalog entry on its exchange asset, the checks-only freshness job and
its daily schedule. After every CLI ingest the runner publishes the catalog, then checks freshness."""

import dagster as dg

from assets.catalog_sync.assets import city_catalog
from assets.catalog_sync.checks import (
    FRESHNESS_JOB_NAME,
    freshness_checks,
    freshness_job,
    freshness_schedule,
)
from assets.catalog_sync.keys import CATALOG_JOB_NAME
from assets.catalog_sync.sensors import catalog_job, catalog_registry_sensor
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    check_job = freshness_job(catalog)
    return StageDefinitions(
        defs=dg.Definitions(
            assets=[city_catalog],
            asset_checks=freshness_checks(catalog, city),
            jobs=[catalog_job, check_job],
            sensors=[catalog_registry_sensor],
            schedules=[freshness_schedule(check_job)],
        ),
        post_ingest_jobs=(CATALOG_JOB_NAME, FRESHNESS_JOB_NAME),
    )
