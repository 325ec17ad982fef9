"""Wiring of the supervision reports (issue 10): monthly and yearly report assets, their jobs and
schedules."""

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.supervision.assets import (
    monthly_job,
    monthly_schedule,
    supervision_assets,
    yearly_job,
    yearly_schedule,
)
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            assets=supervision_assets,
            jobs=[monthly_job, yearly_job],
            schedules=[monthly_schedule, yearly_schedule],
        )
    )
