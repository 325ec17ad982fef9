"""The operation platform's publication state: per dataset, what was published (or withheld), when,
with which k and transformations — a platform record upserted inside the writer's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.storage.tables import operation_publications

if TYPE_CHECKING:  # the records are read where nothing is desensitized (the run's summary)
    from assets.desensitization.desensitize import DesensitizationReport


def record_publication(
    connection: Connection,
    *,
    dataset_id: str,
    table_name: str,
    status: str,
    report: DesensitizationReport | None,
    rows: int,
    run_id: str,
    at: datetime,
    k_threshold: int,
) -> None:
    """Upsert the dataset's publication state (portable: update, else insert)."""
    values: dict[str, object] = {
        "table_name": table_name,
        "status": status,
        "rows": rows,
        "run_id": run_id,
        "updated_at": at,
    }
    if report is not None:
        values |= {
            "rows_in": report.rows_in,
            "k": report.k,
            "k_threshold": report.k_threshold,
            "suppressed": report.suppressed,
            "key_id": report.key_id,
            "quasi_identifiers": list(report.quasi_identifiers),
            "transformations": dict(report.transformations),
        }
    table = operation_publications
    updated = connection.execute(
        table.update().where(table.c.dataset_id == dataset_id).values(**values)
    ).rowcount
    if not updated:
        defaults: Mapping[str, object] = {
            "rows_in": 0,
            "k": None,
            "k_threshold": k_threshold,
            "suppressed": 0,
            "key_id": None,
            "quasi_identifiers": [],
            "transformations": {},
        }
        connection.execute(table.insert().values(dataset_id=dataset_id, **{**defaults, **values}))


def publications(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(operation_publications)).mappings().all()
    return {row["dataset_id"]: dict(row) for row in rows}
