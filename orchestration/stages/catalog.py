"""Wiring of the catalog stage (filled in by its issue's work)."""

import dagster as dg

from assets.catalog_sync.entry import CatalogEntry
from assets.common.city import City
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    return StageDefinitions(defs=dg.Definitions())
