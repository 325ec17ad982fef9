"""The per-file and per-dataset/county account of a pipeline run, read back from the platform records.

A run has one record per landing file — tens, not millions — so they are plain rows (one mapping per
record), and the run's summary needs no pandas: an unchanged rerun, which does little else, does not
import it (about 0.3 s)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.storage.tables import ingest_files

_COUNTS = ["rows_read", "rows_loaded", "rows_rejected", "rows_skipped"]

Record = Mapping[str, object]  # an ingest_files row by column name (plus ``unchanged``)


def _read(engine: Engine, where: sa.ColumnElement[bool]) -> list[dict[str, object]]:
    query = sa.select(ingest_files).where(where).order_by(ingest_files.c.relative_path)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def ingest_records(engine: Engine, batch_ids: Collection[str]) -> list[dict[str, object]]:
    """The ingest records of these batches, by path."""
    if not batch_ids:
        return []
    return _read(engine, ingest_files.c.batch_id.in_(list(batch_ids)))


def records_by_id(engine: Engine, record_ids: Collection[int]) -> list[dict[str, object]]:
    """Ingest records by id (the latest record of deliveries a rerun found unchanged), by path."""
    if not record_ids:
        return []
    return _read(engine, ingest_files.c.id.in_(list(record_ids)))


def file_records(records: Iterable[Record]) -> list[dict]:
    out = []
    for row in records:
        record = {
            "path": row["relative_path"],
            "dataset": row["dataset_id"],
            "county": row["county_code"],
            "period": row["period"],
            "department": row["department_id"],
            "status": row["status"],
            **{count: int(row[count] or 0) for count in _COUNTS},
        }
        if row["extra_columns"]:  # reported, not loaded, not a defect: no ticket
            record["extra_columns"] = list(row["extra_columns"])
        if row.get("unchanged"):
            record["unchanged"] = True  # skipped by this run: its content was already processed
        if row["status"] == "loaded":
            record["encoding"] = row["encoding"]
            record["format"] = row["file_format"]
        else:
            record["reason_code"] = row["reason_code"]
            record["reason"] = row["reason"]
        out.append(record)
    return out


def overall(records: Iterable[Record]) -> dict[str, int]:
    out = dict.fromkeys(["files", "files_rejected", *_COUNTS], 0)
    for row in records:
        out["files"] += 1
        out["files_rejected"] += row["status"] != "loaded"
        for count in _COUNTS:
            out[count] += int(row[count] or 0)
    return out


def totals(records: Iterable[Record], by: str) -> dict[str, dict[str, int]]:
    """The counts per value of ``by`` (``dataset_id``, ``county_code``), in that value's order."""
    groups: dict[str, list[Record]] = {}
    for row in records:
        groups.setdefault(str(row[by]), []).append(row)
    return {key: overall(groups[key]) for key in sorted(groups)}
