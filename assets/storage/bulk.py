"""Idempotent slice replacement: delete exactly a partition's rows and load the new ones, in one
transaction. PostgreSQL loads through COPY; SQLite copies from a staging file ADBC wrote from Arrow
(``sqlite_stage.py``), else binds the values through executemany. A writer killed half-way leaves
the old slice whole, because nothing commits until the last chunk is in."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.storage.sqlite_stage import stage_insert

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
Progress = Callable[[int, int], None]


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


Rows = pd.DataFrame | pa.Table


def _row_count(rows: Rows) -> int:
    return rows.num_rows if isinstance(rows, pa.Table) else len(rows)


def _column_names(rows: Rows) -> list[str]:
    return list(rows.column_names if isinstance(rows, pa.Table) else rows.columns)


def _copy_text(rows: Rows) -> bytes:
    """Rows in COPY's text format — tab-separated, backslash escapes, ``\\N`` for NULL — built by Arrow
    kernels and handed over as one buffer, with no Python object per row."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
    columns = [_copy_column(table.column(i).combine_chunks()) for i in range(table.num_columns)]
    lines = pc.binary_join_element_wise(*columns, pa.scalar("\t", pa.large_string()))
    lines = pc.binary_join_element_wise(
        lines, pa.array(["\n"] * len(lines), pa.large_string()), pa.scalar("", pa.large_string())
    )
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _slice(rows: Rows, start: int, length: int) -> Rows:
    return (
        rows.slice(start, length)
        if isinstance(rows, pa.Table)
        else rows.iloc[start : start + length]
    )


def _copy_chunks(connection: Connection, table: sa.Table, rows: Rows, on_chunk) -> None:
    column_sql = ", ".join(f'"{c}"' for c in _column_names(rows))
    sql = f'COPY "{table.name}" ({column_sql}) FROM STDIN'
    raw = connection.connection.driver_connection
    total = _row_count(rows)
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, total, CHUNK_ROWS):
            chunk = _slice(rows, start, CHUNK_ROWS)
            copy.write(_copy_text(chunk))
            on_chunk(start + _row_count(chunk))


# Columns handed to the driver as Arrow arrays (``to_pylist`` per chunk: str, int, float, bool, None)
_ARROW_SAFE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S"  # with microsecond timestamps Arrow's %S is SS.ffffff


def _sqlite_timestamps(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """SQLAlchemy's own SQLite text form of a timestamp (naive UTC, microseconds)."""
    unit = pa.timestamp("us", "UTC") if array.type.tz is not None else pa.timestamp("us")
    # a slice's timestamps are few distinct values (its ingest time): each is formatted once
    distinct = pc.unique(array)
    text = pc.strftime(distinct.cast(unit, safe=False), format=_SQLITE_TIMESTAMP)
    return pc.take(text, pc.index_in(array, value_set=distinct))


def _driver_column(rows: Rows, name: str) -> pa.Array | pa.ChunkedArray | pd.Series:
    """A column as the driver takes it: an Arrow array of plain values where that is exact, else a
    pandas object column (None for missing)."""
    if isinstance(rows, pa.Table):
        array = rows.column(name)
        if pa.types.is_timestamp(array.type):
            return _sqlite_timestamps(array)
        return array
    column = rows[name]
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _sqlite_timestamps(pa.Array.from_pandas(column))
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        try:
            array = pa.Array.from_pandas(column)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = None
        if array is not None and any(check(array.type) for check in _ARROW_SAFE):
            return array
    elif dtype in (np.dtype("int64"), np.dtype("float64"), np.dtype("bool")):
        return pa.Array.from_pandas(column)
    return column.astype(object).where(column.notna(), None)


def _chunk_values(column: pa.Array | pa.ChunkedArray | pd.Series, start: int, length: int) -> list:
    if isinstance(column, pd.Series):
        return column.iloc[start : start + length].tolist()
    return column.slice(start, length).to_pylist()


_VARIES = object()


def _constant(column: pa.Array | pa.ChunkedArray | pd.Series) -> object:
    """The one value of an Arrow column holding the same non-null value in every row (a slice's
    provenance: its county, period, file, batch and load time), else ``_VARIES``: such a column is
    bound as one Python object repeated, not converted value by value."""
    if isinstance(column, pd.Series) or len(column) == 0 or column.null_count:
        return _VARIES
    kind = column.type  # text and integers: equal values are the same value (not so -0.0 and 0.0)
    if not (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
    ):
        return _VARIES
    first = column[0]
    if not pc.all(pc.equal(column, first)).as_py():
        return _VARIES
    return first.as_py()


def _insert_chunks(connection: Connection, table: sa.Table, rows: Rows, on_chunk) -> None:
    """SQLite: the Arrow columns staged by ADBC and copied in by SQL (``sqlite_stage.py``: 2.4 times
    less CPU than binding them); where the stage cannot take them, the driver's executemany over plain
    tuples, built per chunk from Arrow arrays (as the read-and-write floor does; SQLAlchemy's per-row
    handling is the slow part at this size). Either way a column of one value is a literal in the
    statement, and timestamps go in SQLAlchemy's own SQLite text form."""
    names = _column_names(rows)
    values = [_driver_column(rows, name) for name in names]
    constants = [_constant(column) for column in values]
    marks = ", ".join("?" if _literal(c) is None else _literal(c) for c in constants)
    columns = ", ".join(f'"{c}"' for c in names)
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    bound = [column for column, c in zip(values, constants, strict=True) if _literal(c) is None]
    total = _row_count(rows)
    if not any(isinstance(column, pd.Series) for column in bound):
        sources = [
            column if _literal(c) is None else _literal(c)
            for column, c in zip(values, constants, strict=True)
        ]
        if stage_insert(connection, table.name, names, sources, total, CHUNK_ROWS, on_chunk):
            return
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, total, CHUNK_ROWS):
            chunk = [_chunk_values(column, start, CHUNK_ROWS) for column in bound]
            if chunk:
                cursor.executemany(sql, zip(*chunk, strict=True))
            else:  # every column one value
                cursor.executemany(sql, itertools.repeat((), min(CHUNK_ROWS, total - start)))
            on_chunk(min(start + CHUNK_ROWS, total))
    finally:
        cursor.close()


# a column of one value goes into the statement as a literal, bound by nobody row by row (a fifth
# of an operation table's executemany: its county, period, department, batch and load time)
_LITERAL_CHARS = 1_000


def _literal(constant: object) -> str | None:
    """The SQL literal of a column's one value (text without NUL, not longer than
    :data:`_LITERAL_CHARS`; an integer), else None: bound."""
    if isinstance(constant, bool) or constant is _VARIES:
        return None
    if isinstance(constant, int):
        return str(constant)
    if isinstance(constant, str) and len(constant) <= _LITERAL_CHARS and "\x00" not in constant:
        return "'" + constant.replace("'", "''") + "'"
    return None


def all_equal(rows: Rows, name: str, value: str) -> bool:
    """Whether every row's ``name`` is ``value`` (a missing value is not)."""
    if isinstance(rows, pa.Table):
        equal = pc.fill_null(pc.equal(rows.column(name), pa.scalar(value)), False)
        return bool(pc.all(equal).as_py())
    return bool((rows[name] == value).all())


def replace_slice(
    engine: Engine,
    table: sa.Table,
    frame: pd.DataFrame | pa.Table,
    slice_filter: Mapping[str, str],
    *,
    progress: Progress | None = None,
) -> int:
    """Replace the rows of ``table`` matching ``slice_filter`` with ``frame`` (a DataFrame or an
    Arrow table); returns rows deleted.

    Every row of ``frame`` must belong to the slice (checked), so a load can never touch another
    partition.
    """
    for name, value in slice_filter.items():
        if _row_count(frame) and not all_equal(frame, name, value):
            raise ValueError(f"rows outside the slice {dict(slice_filter)} in column {name}")
    total = _row_count(frame)

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
            write_rows(connection, table, frame, on_chunk)
    return deleted


def write_rows(
    connection: Connection, table: sa.Table, rows: Rows, on_chunk: Callable[[int], None]
) -> None:
    """``rows`` into ``table`` in the connection's transaction: COPY on PostgreSQL, the driver's
    executemany on SQLite; ``on_chunk(rows done)`` after each chunk."""
    if connection.dialect.name == "postgresql":
        _copy_chunks(connection, table, rows, on_chunk)
    else:
        _insert_chunks(connection, table, rows, on_chunk)


def append_rows(engine: Engine, table: sa.Table, frame: pd.DataFrame) -> None:
    """Add ``frame``'s rows to ``table`` in one transaction, deleting nothing: for a table only its
    writer knows (a staging table loaded a chunk at a time)."""
    if not len(frame):
        return
    total = len(frame)

    def on_chunk(done: int) -> None:
        log.info("loading %s: %d/%d rows", table.name, done, total)

    with engine.begin() as connection:
        write_rows(connection, table, frame, on_chunk)
