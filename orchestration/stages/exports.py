"""Wiring of the export stage (issue 14): the monthly summary of products, releases and income, and
the daily list of exports waiting on review or filing."""

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exports.assets import (
    export_deadlines,
    export_deadlines_schedule,
    exports_monthly_schedule,
    exports_monthly_summary,
)
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(
        defs=dg.Definitions(
            assets=[exports_monthly_summary],
            jobs=[export_deadlines],
            schedules=[export_deadlines_schedule, exports_monthly_schedule],
        )
    )
