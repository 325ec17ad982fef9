"""County × period partitions. Counties come from config/city.yaml; periods are added as landing files
arrive (one dynamic partition set per dataset, since each dataset has its own delivery frequency)."""

import dagster as dg

from assets.common.catalog import CatalogEntry
from assets.common.city import City

COUNTY = "county"
PERIOD = "period"


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
