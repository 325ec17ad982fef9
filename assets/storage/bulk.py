"""Idempotent slice replacement: delete exactly a partition's rows and load the new ones, in one
transaction. PostgreSQL loads through COPY; SQLite through executemany. A writer killed half-way leaves
the old slice whole, because nothing commits until the last chunk is in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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


_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", ""))


def _copy_column(array: pa.Array) -> pa.Array:
    """One column as COPY text: backslash escapes, NUL dropped (PostgreSQL text cannot hold it), NULL as \\N."""
    if pa.types.is_timestamp(array.type):
        text = pc.strftime(array, format="%Y-%m-%d %H:%M:%S%z")
    elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = array
        for needle, replacement in _ESCAPES:
            text = pc.replace_substring(text, needle, replacement)
    else:
        text = pc.cast(array, pa.string())
    # one string width for all columns, whatever pandas handed over (object → string,
    # string[pyarrow] → large_string): the join kernel wants them alike
    return pc.fill_null(text.cast(pa.large_string()), "\\N")


def _copy_text(frame: pd.DataFrame) -> bytes:
    """Rows in COPY's text format — tab-separated, backslash escapes, ``\\N`` for NULL — built by Arrow
    kernels and handed over as one buffer, with no Python object per row."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = [_copy_column(table.column(i).combine_chunks()) for i in range(table.num_columns)]
    lines = pc.binary_join_element_wise(*columns, pa.scalar("\t", pa.large_string()))
    lines = pc.binary_join_element_wise(
        lines, pa.array(["\n"] * len(lines), pa.large_string()), pa.scalar("", pa.large_string())
    )
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


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
    """SQLite: executemany over plain tuples through the driver (SQLAlchemy's per-row dict handling is
    the slow part at this size). Timestamps go in SQLAlchemy's own SQLite text form."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    prepared = frame.copy()
    for name in prepared.columns:
        column = prepared[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            # naive UTC: pandas formats tz-aware timestamps value by value (about 3× slower)
            utc = column
            if column.dt.tz is not None:
                utc = column.dt.tz_convert("UTC").dt.tz_localize(None)
            prepared[name] = utc.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    prepared = prepared.astype(object).where(prepared.notna(), None)
    for start in range(0, len(prepared), CHUNK_ROWS):
        chunk = prepared.iloc[start : start + CHUNK_ROWS]
        connection.exec_driver_sql(sql, list(chunk.itertuples(index=False, name=None)))
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


def append_rows(engine: Engine, table: sa.Table, frame: pd.DataFrame) -> None:
    """Add ``frame``'s rows to ``table`` in one transaction, deleting nothing: for a table only its
    writer knows (a staging table loaded a chunk at a time)."""
    if not len(frame):
        return
    total = len(frame)

    def on_chunk(done: int) -> None:
        log.info("loading %s: %d/%d rows", table.name, done, total)

    with engine.begin() as connection:
        if is_postgres(engine):
            _copy_chunks(connection, table, frame, on_chunk)
        else:
            _insert_chunks(connection, table, frame, on_chunk)
