"""The per-file and per-dataset/county account of a pipeline run, read back from the platform records."""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.storage.tables import ingest_files

_COUNTS = ["rows_read", "rows_loaded", "rows_rejected", "rows_skipped"]


def ingest_records(engine: Engine, batch_ids: Collection[str]) -> pd.DataFrame:
    if not batch_ids:
        return pd.DataFrame(columns=[c.name for c in ingest_files.columns])
    query = sa.select(ingest_files).where(ingest_files.c.batch_id.in_(list(batch_ids)))
    with engine.connect() as connection:
        frame = pd.read_sql(query.order_by(ingest_files.c.relative_path), connection)
    return frame


def records_by_id(engine: Engine, record_ids: Collection[int]) -> pd.DataFrame:
    """Ingest records by id (the latest record of deliveries a rerun found unchanged)."""
    if not record_ids:
        return pd.DataFrame(columns=[c.name for c in ingest_files.columns])
    query = sa.select(ingest_files).where(ingest_files.c.id.in_(list(record_ids)))
    with engine.connect() as connection:
        return pd.read_sql(query.order_by(ingest_files.c.relative_path), connection)


def file_records(records: pd.DataFrame) -> list[dict]:
    out = []
    for row in records.itertuples(index=False):
        record = {
            "path": row.relative_path,
            "dataset": row.dataset_id,
            "county": row.county_code,
            "period": row.period,
            "department": row.department_id,
            "status": row.status,
            "rows_read": int(row.rows_read),
            "rows_loaded": int(row.rows_loaded),
            "rows_rejected": int(row.rows_rejected),
            "rows_skipped": int(row.rows_skipped),
        }
        if row.extra_columns:  # reported, not loaded, not a defect: no ticket
            record["extra_columns"] = list(row.extra_columns)
        if getattr(row, "unchanged", False):
            record["unchanged"] = True  # skipped by this run: its content was already processed
        if row.status == "loaded":
            record["encoding"] = row.encoding
            record["format"] = row.file_format
        else:
            record["reason_code"] = row.reason_code
            record["reason"] = row.reason
        out.append(record)
    return out


def totals(records: pd.DataFrame, by: str) -> dict[str, dict[str, int]]:
    if records.empty:
        return {}
    frame = records.assign(files=1, files_rejected=(records["status"] != "loaded").astype(int))
    grouped = frame.groupby(by)[["files", "files_rejected", *_COUNTS]].sum()
    return {str(key): {k: int(v) for k, v in row.items()} for key, row in grouped.iterrows()}


def overall(records: pd.DataFrame) -> dict[str, int]:
    return {
        "files": len(records),
        "files_rejected": int((records["status"] != "loaded").sum()) if len(records) else 0,
        **{c: int(records[c].sum()) if len(records) else 0 for c in _COUNTS},
    }
