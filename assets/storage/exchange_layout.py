"""How a dataset's exchange table is stored: its rows, its loads, and the view readers query.

A slice's provenance — county, period, source department, file, checksum, batch and load time — is
the same for every row of one delivery file. Written on every row, with an index over it for the
grouped slice queries, it was two thirds of what an exchange load wrote (a 301,000-row household
slice: 590 bytes a row, 380 of them provenance and index). It is written once per load instead:

- ``exchange__loads_<dataset>``: one row per (slice, delivery file, batch, load time) with its rows;
  the grouped slice queries read it;
- ``exchange__rows_<dataset>``: each delivered row, its load id and source row, in load order;
- ``exchange_<dataset>``: the view joining the two, with the columns the table had — what every
  reader and the bureau's SQL see.

A slice is replaced whole in one transaction (``exchange/load.py``). A table of the earlier
layout (the provenance on every row) is converted by ``ensure_exchange`` on its dataset's first read
or load after the upgrade, in one transaction, keeping every row and its order.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.common.catalog import CatalogEntry
from assets.storage.dependents import quote_ident
from assets.storage.tables import (
    PROVENANCE_COLUMNS,
    exchange_loads_table,
    exchange_rows_table,
    exchange_table,
)

log = logging.getLogger(__name__)

# the provenance a load holds once (the rows hold source_row)
LOAD_COLUMNS = tuple(c for c in PROVENANCE_COLUMNS if c != "source_row")


def view_sql(entry: CatalogEntry) -> str:
    """The view's definition: the table's columns, in its order, from the rows and their loads."""
    rows = exchange_rows_table(entry)
    loads = exchange_loads_table(entry.dataset_id)
    columns = [f"l.{quote_ident(c)}" for c in LOAD_COLUMNS] + ['r."source_row"']
    columns += [f"r.{quote_ident(c)}" for c in entry.columns]
    return (
        f"CREATE VIEW {quote_ident(exchange_table(entry).name)} AS SELECT {', '.join(columns)} "
        f"FROM {quote_ident(rows.name)} AS r JOIN {quote_ident(loads.name)} AS l ON l.id = r.load_id"
    )


def ensure_exchange(engine: Engine, entry: CatalogEntry) -> None:
    """The dataset's rows and loads tables and its view, created when missing; columns the catalog
    gained since added (never one dropped); a table of the earlier layout converted."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # one at a time: loads of two slices at once
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"exchange_layout:{entry.dataset_id}"},
            )
        _ensure(connection, entry)


def _ensure(connection: Connection, entry: CatalogEntry) -> None:
    """The rows and loads tables created when missing, the columns the catalog gained added to the
    rows, a table of the earlier layout converted, the view (re)made when its columns differ."""
    rows = exchange_rows_table(entry)
    loads = exchange_loads_table(entry.dataset_id)
    name = exchange_table(entry).name
    inspector = sa.inspect(connection)
    view = name in inspector.get_view_names()
    old_table = not view and inspector.has_table(name)
    loads.create(connection, checkfirst=True)
    rows.create(connection, checkfirst=True)
    present = {c["name"] for c in sa.inspect(connection).get_columns(rows.name)}
    for column in rows.columns:
        if column.name not in present:
            ddl = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(sa.text(f"ALTER TABLE {quote_ident(rows.name)} ADD COLUMN {ddl}"))
    if old_table:
        _convert(connection, entry)
    if view:
        shown = [c["name"] for c in sa.inspect(connection).get_columns(name)]
        if shown == [*PROVENANCE_COLUMNS, *entry.columns]:
            return
        connection.execute(sa.text(f"DROP VIEW {quote_ident(name)}"))
    connection.execute(sa.text(view_sql(entry)))


def existing_loads(engine: Engine, entry: CatalogEntry) -> sa.Table | None:
    """The dataset's loads table, or None before its first load. A table of the earlier layout is
    converted first (the first reader after an upgrade does it, once)."""
    loads = exchange_loads_table(entry.dataset_id)
    inspector = sa.inspect(engine)
    if inspector.has_table(loads.name):
        return loads
    if not inspector.has_table(exchange_table(entry).name):
        return None
    ensure_exchange(engine, entry)
    return loads


def _convert(connection: Connection, entry: CatalogEntry) -> None:
    """An exchange table of the earlier layout (provenance on every row) into rows and loads, every
    row kept in its order; then the table is dropped (the view takes its name)."""
    old = exchange_table(entry).name
    rows = exchange_rows_table(entry)
    loads = exchange_loads_table(entry.dataset_id)
    present = {c["name"] for c in sa.inspect(connection).get_columns(old)}
    sqlite = connection.dialect.name == "sqlite"
    order = "min(rowid)" if sqlite else "min(ingested_at)"
    keys = ", ".join(quote_ident(c) for c in LOAD_COLUMNS)
    connection.execute(
        sa.text(
            f"INSERT INTO {quote_ident(loads.name)} ({keys}, rows) "
            f"SELECT {keys}, count(*) FROM {quote_ident(old)} GROUP BY {keys} ORDER BY {order}"
        )
    )
    items = [c for c in entry.columns if c in present]
    matched = " AND ".join(f"l.{quote_ident(c)} = o.{quote_ident(c)}" for c in LOAD_COLUMNS)
    targets = ", ".join(quote_ident(c) for c in ["load_id", "source_row", *items])
    values = ", ".join(["l.id", "o.source_row", *(f"o.{quote_ident(c)}" for c in items)])
    connection.execute(
        sa.text(
            f"INSERT INTO {quote_ident(rows.name)} ({targets}) SELECT {values} "
            f"FROM {quote_ident(old)} AS o JOIN {quote_ident(loads.name)} AS l ON {matched}"
            + (" ORDER BY o.rowid" if sqlite else "")
        )
    )
    connection.execute(sa.text(f"DROP TABLE {quote_ident(old)}"))
    log.info("exchange table %s converted to rows and loads", old)


def slice_query(entry: CatalogEntry, county_code: str, period: str, *, sqlite: bool) -> sa.Select:
    """The (county, period) slice's rows with the view's columns, found through its loads; on SQLite
    in table order (the rows' own, which a view has no rowid for)."""
    rows = exchange_rows_table(entry).alias("r")
    loads = exchange_loads_table(entry.dataset_id).alias("l")
    names = [*PROVENANCE_COLUMNS, *entry.columns]
    query = (
        sa.select(*(loads.c[c] if c in LOAD_COLUMNS else rows.c[c] for c in names))
        .select_from(rows.join(loads, loads.c.id == rows.c.load_id))
        .where(loads.c.county_code == county_code, loads.c.period == period)
    )
    return query.order_by(sa.literal_column("r.rowid")) if sqlite else query
