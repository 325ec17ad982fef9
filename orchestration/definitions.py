"""The one Definitions: the asset graph is built from the catalog, so a new catalog entry file is a new
set of assets with no code change."""

from __future__ import annotations

import dagster as dg

from assets.aggregation.assets import aggregation_key, county_ingest_asset, landing_spec
from assets.aggregation.partitions import dataset_partitions
from assets.catalog_sync.entry import load_catalog
from assets.common.city import load_city
from assets.exchange.assets import exchange_asset, exchange_key
from assets.landing.sensors import ingest_job_name, landing_sensor
from orchestration.resources import PlatformResource
from orchestration.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.load()
    city = load_city(settings.city_config)
    catalog = load_catalog(settings.catalog_dir)

    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    ingest_jobs: list = []
    for dataset_id, entry in catalog.items():
        assets += [landing_spec(entry, city), county_ingest_asset(entry, city), exchange_asset(entry, city)]
        ingest_jobs.append(
            dg.define_asset_job(
                ingest_job_name(dataset_id),
                selection=dg.AssetSelection.assets(aggregation_key(dataset_id), exchange_key(dataset_id)),
                partitions_def=dataset_partitions(entry, city),
                description=f"{entry.title}：一个县（区）一期的交付 → 县区汇聚 → 市交换平台",
                tags={"dataset": dataset_id},
            )
        )

    return dg.Definitions(
        assets=assets,
        jobs=ingest_jobs,
        sensors=[landing_sensor(catalog, city, ingest_jobs)],
        resources={"platform": PlatformResource.from_settings(settings)},
        executor=dg.in_process_executor,
    )


defs = build_definitions()
