"""What names a slice's rows in the exchange table — its *stamp* — and the slice read from its staged
file when that file provably holds the same rows.

A (county, period) slice of an exchange table is written by one load of one staged file
(``load_exchange_slice`` replaces the whole slice): its rows carry that delivery's file checksum, the
ingest's batch id (the ingest run's id, one write of the staged file per run) and load time. The stamp
— per delivery file its checksum, batch id, rows and first and last load time — is read from the
table's loads (``storage/exchange_layout.py``) without touching the rows.

Governance and the quality suite read whole slices back. From SQLite that costs a Python object per
value (about 6 s CPU each at 1M rows); the staged Parquet file of the same ingest reads in a tenth of
that. :func:`staged_slice` hands it over only when its own stamp — computed from its rows — equals the
table's: same checksum, batch, row count and load times, i.e. the file the slice was loaded from.
Otherwise (a later delivery staged but not loaded, a load that failed, a staged file removed, no
staging directory given) the caller reads the table, as before. The timestamps come back as the
table read gives them (naive UTC from SQLite, UTC from PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.aggregation.ingest import staged_path
from assets.common.catalog import CatalogEntry
from assets.storage.exchange_layout import existing_loads
from assets.storage.tables import PROVENANCE_COLUMNS, exchange_table

SliceKey = tuple[str, str]  # (county_code, period)


def slice_stamps_query(loads: sa.Table) -> sa.Select:
    """Per (county, period, delivery file, batch) of an exchange table its rows and first and last
    load time: read from its loads (``storage.exchange_layout``)."""
    c = loads.c
    return sa.select(
        c.county_code,
        c.period,
        c.file_checksum,
        c.batch_id,
        sa.func.sum(c.rows),
        sa.func.min(c.ingested_at),
        sa.func.max(c.ingested_at),
    ).group_by(c.county_code, c.period, c.file_checksum, c.batch_id)


def slice_stamps(
    engine: Engine, entry: CatalogEntry, only: SliceKey | None = None
) -> dict[SliceKey, str]:
    """Per slice of the dataset's exchange table (or only the one ``only`` names), what names its
    rows: per delivery file its checksum, batch id, rows and first and last load time (one grouped
    read of its loads)."""
    loads = existing_loads(engine, entry)
    if loads is None:
        return {}
    query = slice_stamps_query(loads)
    if only is not None:
        query = query.where(loads.c.county_code == only[0], loads.c.period == only[1])
    parts: dict[SliceKey, list[str]] = {}
    with engine.connect() as connection:
        for county, period, *delivery in connection.execute(query):
            parts.setdefault((county, period), []).append(_line(*delivery))
    return {key: "\n".join(sorted(lines)) for key, lines in parts.items()}


def _line(checksum: str, batch: str, rows: int, first: object, last: object) -> str:
    """One delivery's part of a stamp."""
    return f"{checksum}|{batch}|{int(rows)}|{instant(first)}|{instant(last)}"


def instant(value: object) -> str:
    """A load time as one text whichever way it is handed over (text, datetime, naive = UTC)."""
    if value is None:
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").isoformat()


def table_stamp(table: pa.Table) -> str:
    """The stamp of a slice's rows held as an Arrow table (the provenance columns)."""
    grouped = table.group_by(["file_checksum", "batch_id"]).aggregate(
        [("source_row", "count"), ("ingested_at", "min"), ("ingested_at", "max")]
    )
    order = ["file_checksum", "batch_id", "source_row_count", "ingested_at_min", "ingested_at_max"]
    lines = [_line(*row.values()) for row in grouped.select(order).to_pylist()]
    return "\n".join(sorted(lines))


def staged_slice(
    engine: Engine,
    entry: CatalogEntry,
    staging_dir: Path | None,
    key: SliceKey,
    stamp: str | None = None,
    *,
    columns: list[str] | None = None,
) -> pa.Table | None:
    """The slice's rows from the staged file it was loaded from (``columns``, default all, in the
    exchange table's order and types), or None when that file is not provably the slice: then read
    the table. ``stamp`` is the table's stamp of the slice when the caller has it."""
    if staging_dir is None:
        return None
    path = staged_path(staging_dir, entry.dataset_id, *key)
    if stamp is None:
        stamp = slice_stamps(engine, entry, only=key).get(key)
    if not stamp:
        return None
    table = exchange_table(entry)
    selected = columns if columns is not None else [c.name for c in table.columns]
    needed = [*PROVENANCE_COLUMNS, *(name for name in selected if name not in PROVENANCE_COLUMNS)]
    try:
        staged = pq.read_table(path, columns=needed)
    except (OSError, pa.ArrowInvalid):  # not there, unreadable, or without a column read here
        return None
    if staged.num_rows == 0:
        return None
    for name, value in zip(("county_code", "period"), key, strict=True):
        if not pc.all(pc.equal(staged.column(name), value)).as_py():
            return None
    if table_stamp(staged) != stamp:
        return None
    sqlite = engine.dialect.name == "sqlite"
    arrays = []
    for name in selected:
        array = staged.column(name)
        if pa.types.is_timestamp(array.type) and sqlite:  # SQLite keeps naive UTC
            array = array.cast(pa.timestamp(array.type.unit))
        arrays.append(array)
    return pa.table(arrays, names=selected)
