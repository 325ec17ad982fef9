"""The operation asset's checks, measured as the table is published and reported with its
materialization (``check_specs``: no second read of the table in another step).

- ``no_cleartext_identifiers`` (blocking): every chunk the writer loads is leak-scanned before it is
  written, and a finding stops the publish before the swap (``guards.assert_no_leak``); the rows of
  counties carried over from the published table were not seen by this writer, so those are read
  back and scanned in the zone (``PublishedRows.measure_leaks``);
- ``k_anonymity`` (blocking): k over the quasi-identifiers as the writer measured it over the whole
  new table (the chunks' classes, or in the zone when counties were carried) before the swap;
- ``no_emptied_columns`` (warning): the columns desensitization left with no information, from the
  chunks seen, or measured in the zone when counties were carried.

A table the writer refused (a leak, k below the threshold) is never swapped in: the asset fails and
no check result is reported for it. A run of the checks alone (the Dagster UI's "execute checks", no
publish) measures the table as it stands in the zone (``zone_check_results``): every column's values
scanned, k over the quasi-identifiers recorded with the publication, the emptied columns."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import dagster as dg
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.desensitization.kanonymity import measure_k
from assets.desensitization.policy import load_policy
from assets.operation.keys import operation_key
from assets.operation.records import publications
from assets.operation.writer import (
    PublishOutcome,
    emptied_published_columns,
    published_columns,
    read_published,
)
from assets.operation.zone_scan import PublishedScan, scan_published

LEAK_CHECK = "no_cleartext_identifiers"
K_CHECK = "k_anonymity"
EMPTIED_CHECK = "no_emptied_columns"
ALL_CHECKS = (LEAK_CHECK, K_CHECK, EMPTIED_CHECK)


def operation_check_specs(entry: CatalogEntry) -> list[dg.AssetCheckSpec]:
    asset = operation_key(entry.dataset_id)
    return [
        dg.AssetCheckSpec(
            LEAK_CHECK,
            asset=asset,
            blocking=True,
            description=(
                "运营平台表中没有任何明文公民身份号码、手机号码或银行卡号（含自由文本中的）："
                "每块数据写入前扫描，沿用的县区在运营区内整表复扫。"
            ),
        ),
        dg.AssetCheckSpec(
            K_CHECK,
            asset=asset,
            blocking=True,
            description="运营平台表在准标识符上的 k-匿名度不低于脱敏策略的阈值（切换前对整表测得）。",
        ),
        dg.AssetCheckSpec(
            EMPTIED_CHECK,
            asset=asset,
            blocking=False,
            description=(
                "脱敏后没有整列为空（每行都是 * 或空值）的列：这样的列对使用者没有信息，"
                "提示调整脱敏策略或分级（警告，不阻断发布）。"
            ),
        ),
    ]


def published_check_results(
    entry: CatalogEntry,
    outcome: PublishOutcome,
    *,
    k_threshold: int,
    quasi_identifiers: Sequence[str],
    leaks: PublishedScan | None,
    emptied: Sequence[str],
    names: Collection[str] = ALL_CHECKS,
) -> list[dg.AssetCheckResult]:
    """The checks ``names`` of the table just published (``leaks``: its scan, None when no table
    was found to scan)."""
    return _results(
        entry,
        names,
        k=outcome.k,
        k_threshold=k_threshold,
        quasi_identifiers=quasi_identifiers,
        leaks=leaks,
        emptied=emptied,
        rows=outcome.rows,
    )


def zone_check_results(
    entry: CatalogEntry,
    operation_engine: Engine,
    platform_engine: Engine,
    names: Collection[str] = ALL_CHECKS,
) -> list[dg.AssetCheckResult]:
    """The checks ``names`` measured on the published table as it stands in the zone, without
    publishing: the leak scan of every column (``zone_scan``), k over the quasi-identifiers the
    publication recorded (only those columns read), the emptied columns (first rows, then DISTINCT
    values); what a check not asked for needs is not read. A dataset with no published table fails
    the two blocking checks."""
    dataset_id = entry.dataset_id
    record = publications(platform_engine).get(dataset_id)
    threshold = int(record["k_threshold"]) if record else load_policy().k_threshold
    quasi = list(record["quasi_identifiers"]) if record else []
    published = published_columns(operation_engine, dataset_id) is not None
    k = None
    if published and K_CHECK in names:
        # k needs the quasi-identifiers only: the rest of the table is not read
        k = measure_k(read_published(operation_engine, dataset_id, quasi, strings="arrow"), quasi)
    measured = (
        emptied_published_columns(operation_engine, dataset_id) if EMPTIED_CHECK in names else None
    )
    emptied, rows = measured if measured is not None else ([], 0)
    return _results(
        entry,
        names,
        k=k,
        k_threshold=threshold,
        quasi_identifiers=quasi,
        leaks=scan_published(operation_engine, dataset_id) if LEAK_CHECK in names else None,
        emptied=emptied,
        rows=rows,
        published=published,
    )


def _results(
    entry: CatalogEntry,
    checks: Collection[str],
    *,
    k: int | None,
    k_threshold: int,
    quasi_identifiers: Sequence[str],
    leaks: PublishedScan | None,
    emptied: Sequence[str],
    rows: int,
    published: bool = True,
) -> list[dg.AssetCheckResult]:
    asset = operation_key(entry.dataset_id)
    found: Mapping[str, Mapping[str, int]] = leaks.found if leaks is not None else {}
    clean = leaks is not None and not found
    names = {i.column: i.name for i in entry.items}
    results = [
        dg.AssetCheckResult(
            asset_key=asset,
            check_name=LEAK_CHECK,
            passed=clean,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "未发现明文标识符" if clean else "发现明文标识符" if found else "运营平台表不存在"
            ),
            metadata={
                "rows": 0 if leaks is None else leaks.rows,
                "columns_scanned": 0 if leaks is None else leaks.columns,
                # the rest: the chunks the writer scanned before it wrote them
                "rows_scanned_in_zone": 0 if leaks is None else leaks.zone_rows,
                "findings": {c: dict(kinds) for c, kinds in found.items()},
            },
        ),
        dg.AssetCheckResult(
            asset_key=asset,
            check_name=K_CHECK,
            passed=published and (k is None or k >= k_threshold),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "k": k,
                "k_threshold": k_threshold,
                "quasi_identifiers": list(quasi_identifiers),
            },
        ),
        dg.AssetCheckResult(
            asset_key=asset,
            check_name=EMPTIED_CHECK,
            passed=not emptied,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "脱敏后整列为空：" + "、".join(f"{names.get(c, c)}（{c}）" for c in emptied)
                if emptied
                else "没有整列为空的列"
            ),
            metadata={"emptied_columns": list(emptied), "rows": rows},
        ),
    ]
    return [result for result in results if result.check_name in checks]
