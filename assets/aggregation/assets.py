"""County aggregation assets: each county's delivery of a dataset, decoded, mapped and staged."""

from datetime import UTC, datetime

import dagster as dg

from assets.aggregation.holds import DEFAULT_SHRINK_RATIO, confirmed_checksums
from assets.aggregation.ingest import ingest_landing_file, record_ingest
from assets.aggregation.keys import aggregation_key, landing_key
from assets.aggregation.partitions import (
    COUNTY_NAME_TAG,
    county_tags,
    dataset_partitions,
    split_partition_key,
)
from assets.aggregation.tickets import delivery_tickets
from assets.common import progress
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.landing.limits import ReadLimits
from assets.landing.locate import locate_landing_file
from assets.landing.rejections import describe_counts
from assets.storage.platform import PlatformResource


def landing_spec(entry: CatalogEntry, city: City) -> dg.AssetSpec:
    """The files source departments deliver: landing/<county>/<dataset>/<period>.csv|.xlsx."""
    return dg.AssetSpec(
        key=landing_key(entry.dataset_id),
        description=(
            f"{entry.title}：各县（区）{entry.provider} 交付的原始文件 "
            f"(landing/<县区代码>/{entry.dataset_id}/<期>.csv|.xlsx|.xls，UTF-8 或 GB18030，或 Excel)。"
        ),
        group_name="landing",
        kinds={"csv", "xlsx", "xls"},
        owners=[f"team:{entry.provider}", city.dataset_owner(entry.provider, entry.title)],
        partitions_def=dataset_partitions(entry, city),
        metadata={"更新频率": entry.frequency.value, "开放属性": entry.openness.value},
    )


def county_ingest_asset(entry: CatalogEntry, city: City) -> dg.AssetsDefinition:
    dataset_id = entry.dataset_id

    @dg.asset(
        key=aggregation_key(dataset_id),
        deps=[landing_key(dataset_id)],
        partitions_def=dataset_partitions(entry, city),
        group_name="aggregation",
        kinds={"parquet"},
        owners=[f"team:{entry.provider}", city.dataset_owner(entry.provider, entry.title)],
        description=(
            f"{entry.title}（县区汇聚）：一个县（区）一期的交付文件，解码（编码自动识别）、按目录信息项映射表头、"
            "加来源字段（县区、数源部门、文件、校验和、批次、入库时间、行号），暂存为 Parquet。"
            "表头上方的标题行和合计行跳过并记录，目录未列的列不入库并提示；"
            "结构错误的行带原因拒收，整个文件无法读取时整文件拒收并记录原因。"
        ),
        tags={"stage": "aggregation"},
    )
    def _county_ingest(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        county_code, period = split_partition_key(context)
        tags = county_tags(city, county_code, period)
        if context.run.tags.get(COUNTY_NAME_TAG) != tags[COUNTY_NAME_TAG]:
            # a run launched from the UI or a backfill: name the county on the run itself
            context.instance.add_run_tags(context.run_id, tags)
        landing = locate_landing_file(platform.data_path, dataset_id, county_code, period)
        engine = platform.platform_engine()
        outcome = ingest_landing_file(
            landing,
            entry,
            department_id=entry.provider,
            staging_dir=platform.staging_dir,
            batch_id=context.run_id,
            ingested_at=datetime.now(UTC),
            limits=ReadLimits.of(platform.max_rows, platform.max_file_mb),
            shrink_ratio=(
                DEFAULT_SHRINK_RATIO
                if platform.shrink_hold_ratio is None
                else platform.shrink_hold_ratio
            ),
            confirmed=confirmed_checksums(engine, dataset_id, county_code, period),
        )
        record_ingest(platform.platform_engine(), outcome)
        progress.report(
            context.log.info, "ingest", dataset_id, entry.title, rows=outcome.rows_loaded
        )
        metadata = {
            "县区": f"{tags[COUNTY_NAME_TAG]}（{county_code}）",
            "county_name": tags[COUNTY_NAME_TAG],
            "期次": period,
            "source_file": landing.relative_path,
            "file_checksum": outcome.checksum or "",
            "rows_read": outcome.rows_read,
            "rows_loaded": outcome.rows_loaded,
            "rows_rejected": outcome.rows_rejected,
            "rows_skipped": outcome.rows_skipped,
            # a file rejected whole becomes a ticket to its department; a loaded one closes it
            **delivery_tickets(platform.platform_engine(), outcome, entry=entry),
        }
        if not outcome.loaded:
            what = "暂缓替换，待确认" if outcome.held else "整文件拒收"
            context.log.error(f"{landing.relative_path} {what}: {outcome.reason}")
            raise dg.Failure(
                description=f"{landing.relative_path} {what}（{outcome.reason_code}）: {outcome.reason}",
                metadata={**metadata, "reason_code": outcome.reason_code, "reason": outcome.reason},
                allow_retries=False,
            )
        if outcome.rows_rejected:
            context.log.warning(
                f"{landing.relative_path}: 拒收 {outcome.rows_rejected} 行"
                f"（{describe_counts(outcome.rejection_reasons())}）"
            )
        if outcome.rows_skipped:
            context.log.info(
                f"{landing.relative_path}: 跳过 {outcome.rows_skipped} 行"
                f"（{describe_counts(outcome.skip_reasons())}）"
            )
        if outcome.unknown_headers:  # a notice, not a defect: no ticket
            context.log.warning(
                f"{landing.relative_path}: 目录未列的列未入库：{'、'.join(outcome.unknown_headers)}"
            )
        return dg.MaterializeResult(
            # the delivery's content: a rerun finds the same SHA-256 and starts no run
            data_version=dg.DataVersion(outcome.checksum or ""),
            metadata={
                **metadata,
                "dagster/row_count": outcome.rows_loaded,
                "encoding": outcome.encoding,
                "file_format": outcome.file_format,
                "rejected_by_reason": outcome.rejection_reasons(),
                "skipped_by_reason": outcome.skip_reasons(),
                "unknown_headers": outcome.unknown_headers,
                "extra_columns": outcome.unknown_headers,
                "missing_optional_items": outcome.missing_optional,
                "staged_path": dg.MetadataValue.path(str(outcome.staged_path)),
            },
        )

    return _county_ingest
