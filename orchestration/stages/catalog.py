"""Wiring of the catalog stage (issue 5): the city catalog asset, its publication job and the registry
sensor; one freshness check per catalog entry on its exchange asset, the checks-only freshness job and
its daily schedule. After every CLI ingest the runner publishes the catalog, then checks freshness."""

import dagster as dg

from assets.catalog_sync.assets import CITY_CATALOG_KEY, city_catalog
from assets.catalog_sync.checks import (
    FRESHNESS_CHECK_NAME,
    FRESHNESS_JOB_NAME,
    freshness_checks,
    freshness_job,
    freshness_schedule,
)
from assets.catalog_sync.sensors import CATALOG_JOB_NAME, catalog_job, catalog_registry_sensor
from assets.catalog_sync.versions import latest_version
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.storage.engine import get_engine
from orchestration.settings import Settings
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


def catalog_summary(
    settings: Settings, instance: dg.DagsterInstance, run_ids: list[str]
) -> dict | None:
    """The ``catalog`` part of ``publicdata run --json``: the current version, what it publishes and
    its diff, whether these runs made it, and the freshness checks' late counties."""
    version = latest_version(get_engine(settings.platform_url))
    if version is None:
        return None
    catalog = version.catalog
    made_here = False
    late: dict[str, list[str]] = {}
    for run_id in run_ids:
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records:
            materialization = record.event_log_entry.asset_materialization
            if materialization and materialization.asset_key == CITY_CATALOG_KEY:
                new = materialization.metadata.get("new_version")
                made_here = made_here or bool(new and new.value)
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records:
            event = record.event_log_entry.dagster_event
            evaluation = event.event_specific_data if event else None
            if evaluation is None or evaluation.check_name != FRESHNESS_CHECK_NAME:
                continue
            if evaluation.passed:
                continue
            counties = evaluation.metadata.get("late_counties")
            late[evaluation.asset_key.path[-1]] = list(counties.value) if counties else []
    return {
        "version": version.version,
        "created_at": version.created_at.isoformat(),
        "new_version": made_here,
        "entries": version.entries,
        "published_entries": len(catalog.published),
        "withheld_entries": len(catalog.withheld),
        "diff": version.counts,
        "late_counties": late,
    }
