"""Governance assets (治理, 第十条): per dataset, the governed data of every county and period, taken from
the city exchange platform, with quarantine, duplicate and reconciliation records, and a blocking check
that no row was lost or counted twice."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from assets.aggregation.incremental import exchange_fingerprint, exchange_slices
from assets.common import progress
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exchange.assets import exchange_key
from assets.exchange.metadata import column_schema
from assets.governance.keys import governance_key
from assets.governance.records import (
    count_exchange_rows,
    governed_path,
    record_governance,
    recorded_reconciliation,
)
from assets.governance.rules import rule_registry
from assets.governance.slices import SliceCount, govern_dataset
from assets.storage.platform import PlatformResource
from assets.storage.tables import exchange_table_name

DATA_BUREAU = "team:data_bureau"


def _markdown(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "（无）")


def _lineage(upstream: dg.AssetKey, columns: list[str]) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={c: [dg.TableColumnDep(asset_key=upstream, column_name=c)] for c in columns}
    )


def governance_asset(entry: CatalogEntry, city: City) -> dg.AssetsDefinition:
    dataset_id = entry.dataset_id

    @dg.asset(
        key=governance_key(dataset_id),
        deps=[exchange_key(dataset_id)],
        group_name="governance",
        kinds={"pandas", "parquet"},
        owners=[DATA_BUREAU, city.dataset_owner(entry.provider, entry.title)],
        description=(
            f"{entry.title}（治理）：取市交换平台表 {exchange_table_name(dataset_id)} 的全部县区和期，"
            "标准化（全角转半角、日期、证件号、手机号；Excel 损坏的数字只识别不猜测）、定型、"
            "同一县区同一期内去重（完全重复和业务键重复，保留最新），违反硬性规则的行带原因代码和 "
            "GB/T 36344 质量维度进入隔离记录，不丢弃任何一行；按县区×期对账：输入 = 治理后 + 隔离 + 重复。"
        ),
        tags={"stage": "governance"},
    )
    def _governance(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        # the exchange content governed, as the data version (measured first: a delivery loaded
        # while this reads makes the next run govern again, never the other way round)
        slices = exchange_slices(platform.exchange_engine(), entry)
        fingerprint = exchange_fingerprint(slices)
        progress.report(
            context.log.info,
            "governance",
            dataset_id,
            entry.title,
            rows=sum(s.rows for s in slices.values()),
            finished=False,
        )
        # one (county, period) slice at a time: only one slice's rows are ever in memory; a slice
        # whose kept outcome provably stands is not governed again (``slice_cache``). The day the
        # not-future rules compare with: PUBLICDATA_TODAY, else today in China.
        path = governed_path(platform.data_path, dataset_id)
        count = SliceCount()
        result = govern_dataset(
            platform.exchange_engine(),
            entry,
            path,
            city=platform.city,
            as_of=platform.today_date(),
            count=count,
            staging_dir=platform.staging_dir,
        )
        record_governance(
            platform.platform_engine(), result, run_id=context.run_id, at=datetime.now(UTC)
        )
        recon = result.reconciliation
        progress.report(context.log.info, "governance", dataset_id, entry.title, rows=recon.rows_in)
        if result.quarantine.empty:
            by_reason: dict[str, int] = {}
        else:
            codes = result.quarantine["reason_codes"].str.split(";").explode()
            by_reason = {str(k): int(v) for k, v in codes.value_counts().items()}
        registry = rule_registry(entry)
        rules = pd.DataFrame(
            [
                {"rule_id": rule_id, "dimension": str(registry[rule_id].dimension), "violations": n}
                for rule_id, n in result.violations.items()
                if n
            ]
        )
        columns = [str(c) for c in result.governed.columns]
        return dg.MaterializeResult(
            data_version=dg.DataVersion(fingerprint),
            metadata={
                "dagster/row_count": recon.governed,
                "exchange_fingerprint": fingerprint,
                **recon.as_metadata(),
                "reconciliation_by_partition": _markdown(recon.by_partition),
                "quarantined_by_reason": by_reason,
                "violations_by_rule": _markdown(rules),
                "standardized_cells": {k: int(v) for k, v in result.standardized_cells.items()},
                "dagster/column_schema": column_schema(
                    entry, extra_tags={c: {"治理": "标准化、定型"} for c in entry.columns}
                ),
                "dagster/column_lineage": _lineage(exchange_key(dataset_id), columns),
                "governed_path": dg.MetadataValue.path(str(path)),
                # slices governed by this run, and those whose kept outcome still stood
                "slices_governed": len(count.governed),
                "slices_reused": len(count.reused),
            },
        )

    return _governance


def governance_reconciled_check(entry: CatalogEntry) -> dg.AssetChecksDefinition:
    dataset_id = entry.dataset_id

    @dg.asset_check(
        asset=governance_key(dataset_id),
        name="reconciled",
        blocking=True,
        description=(
            "对账（阻断）：每个县区×期，交换平台现有行数 = 治理后 + 隔离 + 重复，且隔离、重复记录条数和"
            "治理后数据文件的行数与对账一致；不平则不分类分级、不供给运营平台。"
        ),
    )
    def _reconciled(platform: PlatformResource) -> dg.AssetCheckResult:
        exchange = count_exchange_rows(platform.exchange_engine(), entry)
        recorded = recorded_reconciliation(platform.platform_engine(), dataset_id)
        table = exchange.merge(recorded, on=["county_code", "period"], how="outer")
        counts = [c for c in table.columns if c not in ("county_code", "period")]
        table[counts] = table[counts].fillna(0).astype("int64")
        path = governed_path(platform.data_path, dataset_id)
        governed_rows = pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
        problems: list[str] = []
        unbalanced = table.loc[
            (table["rows"] != table["rows_in"])
            | (table["rows_in"] != table["governed"] + table["quarantined"] + table["duplicates"])
            | (table["quarantined"] != table["quarantine_records"])
            | (table["duplicates"] != table["duplicate_records"])
        ]
        for row in unbalanced.itertuples(index=False):
            problems.append(
                f"{row.county_code} {row.period}: 交换平台 {row.rows} 行，对账输入 {row.rows_in} = "
                f"治理后 {row.governed} + 隔离 {row.quarantined}（记录 {row.quarantine_records}）+ "
                f"重复 {row.duplicates}（记录 {row.duplicate_records}）"
            )
        if governed_rows != int(table["governed"].sum()):
            problems.append(f"治理后数据文件 {governed_rows} 行，与对账的治理后行数不一致")
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description="；".join(problems) if problems else "对账平衡",
            metadata={
                "rows_in": int(table["rows"].sum()),
                "governed": int(table["governed"].sum()),
                "quarantined": int(table["quarantined"].sum()),
                "duplicates": int(table["duplicates"].sum()),
                "governed_file_rows": int(governed_rows),
                "unbalanced_partitions": len(unbalanced),
            },
        )

    return _reconciled
