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
from orchestration.stages import StageDefinitions

__all__ = ["DEEM_JOB", "definitions"]


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            jobs=[application_deadlines], schedules=[application_deadlines_schedule]
        )
    )
