"""Landing → county aggregation → city exchange platform, one set of assets and a job per dataset."""

import dagster as dg

from assets.aggregation.assets import county_ingest_asset, landing_spec
from assets.aggregation.keys import aggregation_key, ingest_job_name
from assets.aggregation.partitions import dataset_partitions
from assets.aggregation.sensors import landing_sensor
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exchange.assets import exchange_asset, exchange_key
from orchestration.stages import StageDefinitions


def definitions(catalog: dict[str, CatalogEntry], city: City) -> StageDefinitions:
    assets: list = []
    ingest_jobs: list = []
    for dataset_id, entry in catalog.items():
        assets += [
            landing_spec(entry, city),
            county_ingest_asset(entry, city),
            exchange_asset(entry, city),
        ]
        ingest_jobs.append(
            dg.define_asset_job(
                ingest_job_name(dataset_id),
                # the exchange asset's checks (quality suites, freshness) run with it
                selection=dg.AssetSelection.assets(
                    aggregation_key(dataset_id), exchange_key(dataset_id)
                ),
                partitions_def=dataset_partitions(entry, city),
                description=f"{entry.title}：一个县（区）一期的交付 → 县区汇聚 → 市交换平台",
                tags={"dataset": dataset_id},
            )
        )
    return StageDefinitions(
        defs=dg.Definitions(
            assets=assets, jobs=ingest_jobs, sensors=[landing_sensor(catalog, city, ingest_jobs)]
        )
    )
