"""The operation section of ``publicdata run --json``: per dataset, governance's reconciliation and what
the operation platform holds, so that rows in = governed + quarantined + duplicates and governed =
published + suppressed can be read off directly."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.governance.reconciliation import reconciliation_totals
from assets.operation.records import publications
from assets.operation.suspension import active_suspensions
from assets.storage.engine import safe_url
from assets.storage.tables import operation_table_name


def operation_summary(
    platform_engine: Engine, operation_url: str, catalog: Mapping[str, CatalogEntry]
) -> dict[str, object]:
    totals = reconciliation_totals(platform_engine)
    published = publications(platform_engine)
    suspended: dict[str, list[str | None]] = {}
    for suspension in active_suspensions(platform_engine):
        suspended.setdefault(suspension.dataset_id, []).append(suspension.county_code)
    datasets: dict[str, dict[str, object]] = {}
    for dataset_id, entry in sorted(catalog.items()):
        counts = totals.get(
            dataset_id, {"rows_in": 0, "governed": 0, "quarantined": 0, "duplicates": 0}
        )
        record = published.get(dataset_id)
        if entry.is_prohibited:
            status = "prohibited"
        elif dataset_id in suspended:
            status = "suspended" if not record or record["status"] != "withdrawn" else "withdrawn"
        else:
            status = str(record["status"]) if record else "not_published"
        item: dict[str, object] = {
            **counts,
            "balanced": counts["rows_in"]
            == counts["governed"] + counts["quarantined"] + counts["duplicates"],
            "status": status,
            "table": None if entry.is_prohibited else operation_table_name(dataset_id),
            "published": int(record["rows"]) if record else 0,
            "desensitized_in": int(record["rows_in"]) if record else 0,
            "k": record["k"] if record else None,
            "k_threshold": record["k_threshold"] if record else None,
            "suppressed": int(record["suppressed"]) if record else 0,
        }
        if dataset_id in suspended:
            item["suspended_counties"] = [c or "*" for c in suspended[dataset_id]]
        datasets[dataset_id] = item
    return {"zone": safe_url(operation_url), "datasets": datasets}
