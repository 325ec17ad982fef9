"""Loading a county's staged slice into the city exchange platform table (市政务数据共享交换平台)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.storage.bulk import Progress, ensure_table, replace_slice
from assets.storage.tables import exchange_table


@dataclass(frozen=True)
class ExchangeLoad:
    rows: int
    replaced_rows: int
    unchanged: bool


def slice_fingerprint(
    engine: Engine, table: sa.Table, county_code: str, period: str
) -> tuple[int, set[str]]:
    """Row count and source-file checksums of a slice as the exchange table holds it now."""
    where = sa.and_(table.c.county_code == county_code, table.c.period == period)
    with engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(where)
        ).scalar_one()
        checksums = set(
            connection.execute(sa.select(table.c.file_checksum).where(where).distinct()).scalars()
        )
    return count, checksums


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
    table = exchange_table(entry)
    ensure_table(engine, table)
    rows = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    checksums = _checksums(frame) if rows else set()
    count, present = slice_fingerprint(engine, table, county_code, period)
    if rows and count == rows and present == checksums:
        return ExchangeLoad(rows=count, replaced_rows=0, unchanged=True)
    replaced = replace_slice(
        engine, table, frame, {"county_code": county_code, "period": period}, progress=progress
    )
    return ExchangeLoad(rows=rows, replaced_rows=replaced, unchanged=False)


def _checksums(frame: pd.DataFrame | pa.Table) -> set[str]:
    if isinstance(frame, pa.Table):
        return set(pc.unique(frame.column("file_checksum")).to_pylist())
    return set(frame["file_checksum"].unique())


def table_totals(engine: Engine, entry: CatalogEntry) -> dict[str, int]:
    """The whole exchange table's rows by county (every period): what the asset's overview shows
    beside the latest partition's own count, so the bureau reads the dataset, not one county."""
    table = exchange_table(entry)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.county_code, sa.func.count()).group_by(table.c.county_code)
        ).all()
    return {county: count for county, count in rows}
