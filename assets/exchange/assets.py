"""City exchange platform tables (市政务数据共享交换平台): every county's deliveries of a dataset."""

import dagster as dg
import pyarrow.compute as pc

from assets.aggregation.ingest import read_stage_table, staged_path
from assets.aggregation.keys import aggregation_key
from assets.aggregation.partitions import dataset_partitions, split_partition_key
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exchange.load import load_exchange_slice, table_totals
from assets.exchange.metadata import column_schema, masked_preview
from assets.storage.engine import safe_url
from assets.storage.platform import PlatformResource
from assets.storage.tables import exchange_table_name


def exchange_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["exchange", dataset_id])


def exchange_asset(entry: CatalogEntry, city: City) -> dg.AssetsDefinition:
    dataset_id = entry.dataset_id

    @dg.asset(
        key=exchange_key(dataset_id),
        deps=[aggregation_key(dataset_id)],
        partitions_def=dataset_partitions(entry, city),
        group_name="exchange",
        kinds={"sql", "table"},
        owners=[f"team:{entry.provider}", city.dataset_owner(entry.provider, entry.title)],
        description=(
            f"{entry.title}（市政务数据共享交换平台）：全市各县（区）汇聚的数据，信息项按交付原样保存"
            f"（来源可溯），表 {exchange_table_name(dataset_id)}。每个分区（县区×期）在一个事务内整体替换；"
            "同一文件重复交付不产生任何变化。"
        ),
        tags={"stage": "exchange"},
        metadata={"dagster/table_name": exchange_table_name(dataset_id)},
    )
    def _exchange(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        county_code, period = split_partition_key(context)
        staged = read_stage_table(
            staged_path(platform.staging_dir, dataset_id, county_code, period)
        )

        def progress(done: int, total: int) -> None:
            context.log.debug(f"exchange load {dataset_id} {county_code} {period}: {done}/{total}")

        load = load_exchange_slice(
            platform.exchange_engine(),
            entry,
            staged,
            county_code=county_code,
            period=period,
            progress=progress,
        )
        if load.unchanged:
            context.log.info(f"{dataset_id} {county_code} {period}: 与已入库版本相同，未改动")
        by_county = table_totals(platform.exchange_engine(), entry)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": load.rows,
                "dagster/column_schema": column_schema(entry),
                "replaced_rows": load.replaced_rows,
                # the partition's count above; the whole dataset here (all counties and periods)
                "全表行数（全部县区、期次）": sum(by_county.values()),
                "各县区行数": dg.MetadataValue.json(
                    {_county_label(platform.city, c): n for c, n in sorted(by_county.items())}
                ),
                "unchanged": load.unchanged,
                "source_files": sorted(pc.unique(staged.column("source_file")).to_pylist()),
                "zone": safe_url(platform.exchange_url),
                "preview_masked": masked_preview(staged.slice(0, 5).to_pandas(), entry),
            }
        )

    return _exchange


def _county_label(city: City, code: str) -> str:
    try:
        return f"{city.county(code).name}（{code}）"
    except KeyError:
        return code
