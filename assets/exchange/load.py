"""Loading a county's staged slice into the city exchange platform table (市政务数据共享交换平台):
its loads and rows (``storage/exchange_layout.py``), the old slice replaced in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.common.catalog import CatalogEntry
from assets.storage.bulk import Progress, Rows, all_equal, write_rows
from assets.storage.exchange_layout import LOAD_COLUMNS, ensure_exchange, existing_loads
from assets.storage.tables import exchange_loads_table, exchange_rows_table, exchange_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExchangeLoad:
    rows: int
    replaced_rows: int
    unchanged: bool


def slice_fingerprint(
    engine: Engine, entry: CatalogEntry, county_code: str, period: str
) -> tuple[int, set[str]]:
    """Row count and source-file checksums of a slice as the exchange table holds it now (its
    loads; none before the dataset's first load)."""
    loads = existing_loads(engine, entry)
    if loads is None:
        return 0, set()
    where = sa.and_(loads.c.county_code == county_code, loads.c.period == period)
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(loads.c.rows, loads.c.file_checksum).where(where)
        ).all()
    return sum(int(rows) for rows, _ in found), {checksum for _, checksum in found}


def load_exchange_slice(
    engine: Engine,
    entry: CatalogEntry,
    frame: pd.DataFrame | pa.Table,
    *,
    county_code: str,
    period: str,
    progress: Progress | None = None,
) -> ExchangeLoad:
    """Replace exactly the (county, period) slice (``frame``: the staged rows, as a DataFrame or an
    Arrow table). A re-delivered identical file changes nothing."""
    rows = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    checksums = _checksums(frame) if rows else set()
    count, present = slice_fingerprint(engine, entry, county_code, period)
    if rows and count == rows and present == checksums:
        return ExchangeLoad(rows=count, replaced_rows=0, unchanged=True)
    replaced = replace_exchange_slice(engine, entry, frame, county_code, period, progress=progress)
    return ExchangeLoad(rows=rows, replaced_rows=replaced, unchanged=False)


def _as_arrow(frame: Rows, columns: Sequence[str]) -> pa.Table:
    if isinstance(frame, pa.Table):
        table = frame.select(list(columns))
    else:
        table = pa.Table.from_pandas(frame[list(columns)], preserve_index=False)
    arrays = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        arrays.append(column)
    return pa.table(arrays, names=list(columns))


def _loads_of(frame: Rows) -> tuple[pa.Table, pa.Array | None]:
    """The frame's distinct loads (provenance without the source row) in the order they first
    appear, with their rows; and each row's position among them (None: one load)."""
    provenance = _as_arrow(frame, LOAD_COLUMNS)
    numbered = provenance.append_column("__row", pa.array(range(provenance.num_rows), pa.int64()))
    grouped = numbered.group_by(list(LOAD_COLUMNS), use_threads=False).aggregate(
        [("__row", "min"), ("__row", "count")]
    )
    grouped = grouped.sort_by("__row_min")
    loads = grouped.select(list(LOAD_COLUMNS)).append_column("rows", grouped.column("__row_count"))
    if loads.num_rows == 1:
        return loads, None
    positions = grouped.select(list(LOAD_COLUMNS)).append_column(
        "__load", pa.array(range(loads.num_rows), pa.int64())
    )
    joined = numbered.join(positions, list(LOAD_COLUMNS), use_threads=False).sort_by("__row")
    return loads, joined.column("__load").combine_chunks()


def _load_values(connection: Connection, loads: pa.Table) -> list[dict[str, object]]:
    """The loads as parameters: load times as SQLAlchemy stores them (naive UTC on SQLite)."""
    values = loads.to_pylist()
    for value in values:
        stamp = pd.Timestamp(value["ingested_at"])
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        value["ingested_at"] = (
            stamp.tz_localize(None) if connection.dialect.name == "sqlite" else stamp
        ).to_pydatetime()
    return values


def replace_exchange_slice(
    engine: Engine,
    entry: CatalogEntry,
    frame: Rows,
    county_code: str,
    period: str,
    *,
    progress: Progress | None = None,
) -> int:
    """Replace the (county, period) slice with ``frame``'s rows (provenance and items, as a
    DataFrame or an Arrow table) in one transaction; returns the rows deleted. Every row must
    belong to the slice (checked), so a load never touches another partition."""
    total = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    for name, value in (("county_code", county_code), ("period", period)):
        if total and not all_equal(frame, name, value):
            raise ValueError(
                f"rows outside the slice {{'county_code': {county_code!r}, 'period': {period!r}}} "
                f"in column {name}"
            )
    rows = exchange_rows_table(entry)
    loads = exchange_loads_table(entry.dataset_id)
    in_slice = (loads.c.county_code == county_code, loads.c.period == period)
    name = exchange_table(entry).name
    slice_filter = {"county_code": county_code, "period": period}

    def on_chunk(done: int) -> None:
        log.info("loading %s %s: %d/%d rows", name, slice_filter, done, total)
        if progress:
            progress(done, total)

    ensure_exchange(engine, entry)  # its own transaction: DDL never waits on a load
    with engine.begin() as connection:
        slice_loads = sa.select(loads.c.id).where(*in_slice).scalar_subquery()
        deleted = connection.execute(
            sa.delete(rows).where(rows.c.load_id.in_(slice_loads))
        ).rowcount
        connection.execute(sa.delete(loads).where(*in_slice))
        log.info("deleted old slice of %s %s: %d rows", name, slice_filter, deleted)
        if not total:
            return deleted
        found, position = _loads_of(frame)
        ids = [
            connection.execute(sa.insert(loads).values(**value).returning(loads.c.id)).scalar_one()
            for value in _load_values(connection, found)
        ]
        load_ids = (
            pa.array([ids[0]] * total, pa.int64())  # one load: a literal in the INSERT (bulk)
            if position is None
            else pc.take(pa.array(ids, pa.int64()), position)
        )
        body = _as_arrow(frame, ["source_row", *(c for c in entry.columns if c in _names(frame))])
        body = body.add_column(0, "load_id", load_ids)
        write_rows(connection, rows, body, on_chunk)
    return deleted


def _names(frame: Rows) -> set[str]:
    return set(frame.column_names if isinstance(frame, pa.Table) else frame.columns)


def _checksums(frame: pd.DataFrame | pa.Table) -> set[str]:
    if isinstance(frame, pa.Table):
        return set(pc.unique(frame.column("file_checksum")).to_pylist())
    return set(frame["file_checksum"].unique())


def table_totals(engine: Engine, entry: CatalogEntry) -> dict[str, int]:
    """The whole exchange table's rows by county (every period): what the asset's overview shows
    beside the latest partition's own count, so the bureau reads the dataset, not one county."""
    loads = existing_loads(engine, entry)
    if loads is None:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(loads.c.county_code, sa.func.sum(loads.c.rows)).group_by(loads.c.county_code)
        ).all()
    return {county: int(count) for county, count in rows}
