"""Wiring of the authorized operation (issue 15): the daily deadline job (deemed approvals, expiry)
and its working-day schedule."""

import dagster as dg

from assets.authorization.schedules import (
    DEEM_JOB,
    application_deadlines,
    application_deadlines_schedule,
)
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from orchestration.settings import Settings
from orchestration.stages import StageDefinitions

__all__ = ["DEEM_JOB", "create_demo", "definitions"]


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            jobs=[application_deadlines], schedules=[application_deadlines_schedule]
        )
    )


def create_demo(settings: Settings) -> bool:
    """The demo's operator authorization, merchant and applications (after the pipeline published),
    and the workspace brought to the live grant."""
    from assets.authorization.demo import create_demo_operation
    from assets.common.catalog import load_catalog
    from assets.common.city import load_city
    from assets.storage.engine import get_engine
    from assets.workspace.reconcile import live_state, reconcile

    platform = get_engine(settings.platform_url)
    created = create_demo_operation(
        platform,
        load_catalog(settings.catalog_dir),
        load_city(settings.city_config),
        settings.today_date(),
    )
    if created:  # the demo merchant's approved grant is live today: its workspace opens at once
        grants, merchants = live_state(platform, settings.today_date())
        reconcile(platform, get_engine(settings.operation_url), grants, merchants=merchants)
    return created
