"""Idempotent slice replacement: delete exactly a partition's rows and load the new ones, in one
transaction. PostgreSQL loads through COPY; SQLite through executemany. A writer killed half-way leaves
the old slice whole, because nothing commits until the last chunk is in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.storage.engine import is_postgres

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
Progress = Callable[[int, int], None]


def ensure_table(engine: Engine, table: sa.Table) -> None:
    """Create the table when missing; add columns the catalog gained since. Never drops anything."""
    with engine.begin() as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table(table.name):
            table.create(connection)
            return
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                ddl = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
                connection.execute(sa.text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))


def _slice_condition(table: sa.Table, slice_filter: Mapping[str, str]) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[name] == value for name, value in slice_filter.items()))


def _copy_text(frame: pd.DataFrame) -> str:
    """Rows in COPY's text format: tab-separated, backslash escapes, ``\\N`` for NULL."""
    parts: list[pd.Series] = []
    for name in frame.columns:
        column = frame[name]
        missing = column.isna()
        if pd.api.types.is_datetime64_any_dtype(column):
            text = column.dt.strftime("%Y-%m-%d %H:%M:%S.%f%z")
        else:
            text = column.astype(str)
        text = (
            text.str.replace("\\", "\\\\", regex=False)
            .str.replace("\t", "\\t", regex=False)
            .str.replace("\n", "\\n", regex=False)
            .str.replace("\r", "\\r", regex=False)
            # NUL is not valid in PostgreSQL text; it cannot be stored at all.
            .str.replace("\x00", "", regex=False)
        )
        parts.append(text.where(~missing, "\\N"))
    lines = parts[0].str.cat(parts[1:], sep="\t") if len(parts) > 1 else parts[0]
    return "\n".join(lines.tolist()) + "\n"


def _copy_chunks(connection: Connection, table: sa.Table, frame: pd.DataFrame, on_chunk) -> None:
    column_sql = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f'COPY "{table.name}" ({column_sql}) FROM STDIN'
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start : start + CHUNK_ROWS]
            copy.write(_copy_text(chunk))
            on_chunk(start + len(chunk))


def _insert_chunks(connection: Connection, table: sa.Table, frame: pd.DataFrame, on_chunk) -> None:
    statement = table.insert()
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        records = chunk.astype(object).where(chunk.notna(), None).to_dict("records")
        connection.execute(statement, records)
        on_chunk(start + len(chunk))


def replace_slice(
    engine: Engine,
    table: sa.Table,
    frame: pd.DataFrame,
    slice_filter: Mapping[str, str],
    *,
    progress: Progress | None = None,
) -> int:
    """Replace the rows of ``table`` matching ``slice_filter`` with ``frame``; returns rows deleted.

    Every row of ``frame`` must belong to the slice (checked), so a load can never touch another
    partition.
    """
    for name, value in slice_filter.items():
        if len(frame) and not (frame[name] == value).all():
            raise ValueError(f"rows outside the slice {dict(slice_filter)} in column {name}")
    total = len(frame)

    def on_chunk(done: int) -> None:
        log.info("loading %s %s: %d/%d rows", table.name, dict(slice_filter), done, total)
        if progress:
            progress(done, total)

    with engine.begin() as connection:
        deleted = connection.execute(
            sa.delete(table).where(_slice_condition(table, slice_filter))
        ).rowcount
        log.info("deleted old slice of %s %s: %d rows", table.name, dict(slice_filter), deleted)
        if total:
            if is_postgres(engine):
                _copy_chunks(connection, table, frame, on_chunk)
            else:
                _insert_chunks(connection, table, frame, on_chunk)
    return deleted
