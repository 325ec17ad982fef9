"""County × period partitions. Counties come from config/city.yaml; periods are added as landing files
arrive (one dynamic partition set per dataset, since each dataset has its own delivery frequency).

A partition key reads ``<county code>|<period>`` in the UI (``640521|2026-10``: 中宁县, October 2026).
Dagster gives partition keys no display names, so the county's Chinese name travels as the run tags
:func:`county_tags` (``publicdata/county_name``), set by whoever launches the run and by the ingest
asset itself (for runs launched from the UI), and as the materialization's metadata."""

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City

COUNTY = "county"
PERIOD = "period"
COUNTY_TAG = "publicdata/county"
COUNTY_NAME_TAG = "publicdata/county_name"
PERIOD_TAG = "publicdata/period"


def county_tags(city: City, county_code: str, period: str | None = None) -> dict[str, str]:
    """Run tags naming the partition's county in Chinese: ``publicdata/county_name: 中宁县``."""
    try:
        name = city.county(county_code).name
    except KeyError:
        name = county_code
    tags = {COUNTY_TAG: county_code, COUNTY_NAME_TAG: name}
    if period is not None:
        tags[PERIOD_TAG] = period
    return tags


def period_partitions_name(dataset_id: str) -> str:
    return f"{dataset_id}_periods"


def dataset_partitions(entry: CatalogEntry, city: City) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            COUNTY: dg.StaticPartitionsDefinition(city.county_codes),
            PERIOD: dg.DynamicPartitionsDefinition(name=period_partitions_name(entry.dataset_id)),
        }
    )


def partition_key(county_code: str, period: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({COUNTY: county_code, PERIOD: period})


def split_partition_key(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    return keys[COUNTY], keys[PERIOD]
