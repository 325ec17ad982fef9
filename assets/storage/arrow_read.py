"""Columnar reads from the zones: a SQLAlchemy Core ``SELECT`` executed through ADBC straight into
Arrow, then handed to pandas — no Python row object per record (SQLAlchemy's ``fetchall`` was 16 % of a
1M-row run).

- PostgreSQL: ``adbc_driver_postgresql`` (binary COPY into Arrow) on the engine's URL turned into a
  libpq URI.
- SQLite: the engine's own ``sqlite3`` connection — ``fetchall`` in C, the values transposed into
  columns with ``zip`` and handed to Arrow a column at a time. Never a second SQLite library on a
  zone's files (``adbc_driver_sqlite`` bundles its own): SQLite's POSIX locks are per process, so a
  second copy opening a WAL database takes itself for the only connection, resets the shared-memory
  file under the first copy's mapping (SIGBUS) and, closing, drops the first copy's locks
  (https://sqlite.org/howtocorrupt.html, 2.2.1 and 2.3). The bulk loads' ADBC driver opens nothing
  but a scratch file of its own (``sqlite_stage.py``).
- Anything else — another backend, a column type this module does not map, values the declared type
  cannot hold, a driver that is not installed — falls back to ``pd.read_sql`` on the engine: same
  frame, slower.
- Each column gets the type its SQLAlchemy column declares, whatever the driver inferred (SQLite
  infers types from the values: an all-NULL text column would come back as integers): text as text,
  integers as int64, floats, booleans, dates (``datetime.date``), timestamps (``datetime64[ns]``).
- The frame looks like ``pd.read_sql``'s: text as ``str`` with ``None`` for NULL (or, with
  ``strings="arrow"``, Arrow-backed ``string[pyarrow]`` with ``<NA>`` — no Python string per value),
  an integer column holding NULLs as float64, same column names and order, rows in the statement's
  ORDER BY.
- A statement on a table that does not exist reads as an empty frame with the columns.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from assets.common.collector import collector_paused

log = logging.getLogger(__name__)

Strings = Literal["object", "arrow"]
_ARROW_STRING = pd.StringDtype("pyarrow")

_SQLITE_DIALECT = sqlite.dialect()
_POSTGRES_DIALECT = postgresql.psycopg.dialect(paramstyle="numeric_dollar")


def _target_type(column_type: sa.types.TypeEngine, *, from_sqlite: bool) -> pa.DataType | None:
    """The Arrow type a column of this SQL type is read as; None for a type not mapped here."""
    kind = column_type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    if isinstance(kind, sa.DateTime):
        # SQLite keeps no zone: SQLAlchemy reads its timestamps back naive, and so does this
        return pa.timestamp("us", tz="UTC" if kind.timezone and not from_sqlite else None)
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.String | sa.types.NullType):
        return pa.string()
    return None


# SQLAlchemy's SQLite timestamps are ISO text ("2026-11-20 10:00:00.000000"); like its own reader,
# anything after the seconds' fraction (a zone some other writer appended) is not read.
_SQLITE_TIMESTAMP = r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?))?.*$"


def _coerce(array: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """One column in the type its SQL column declares."""
    if array.type == target:
        return array
    if pa.types.is_null(array.type) or array.null_count == len(array):
        return pa.chunked_array([pa.nulls(len(array), target)], type=target)
    if pa.types.is_timestamp(target) and pa.types.is_string(array.type):
        iso = pc.replace_substring_regex(array, _SQLITE_TIMESTAMP, r"\1T\2")
        iso = pc.replace_substring_regex(iso, "T$", "")
        return pc.cast(iso, target)
    if pa.types.is_date(target) and pa.types.is_string(array.type):
        return pc.cast(pc.strptime(array, format="%Y-%m-%d", unit="s"), target)
    return pc.cast(array, target)


def _postgres_uri(engine: Engine) -> str:
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _connector(engine: Engine) -> tuple[Callable[[], Any], sa.Dialect, bool] | None:
    """How to open an ADBC connection to the engine's database, the dialect to compile for, and
    whether it is SQLite; None when this engine is read through SQLAlchemy."""
    backend = engine.url.get_backend_name()
    try:
        if backend == "sqlite":  # the engine's own sqlite3 connections (see the module docstring)
            return partial(_SqliteConnection, engine), _SQLITE_DIALECT, True
        if backend == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc_postgres

            connect = partial(adbc_postgres.connect, _postgres_uri(engine), autocommit=True)
            return connect, _POSTGRES_DIALECT, False
    except ImportError:  # the driver is an optional speed-up: SQLAlchemy reads the same rows
        return None
    return None


Targets = list[tuple[str, pa.DataType]]


def _targets(statement: Select, *, from_sqlite: bool) -> Targets | None:
    names = list(statement.selected_columns.keys())
    types = [_target_type(c.type, from_sqlite=from_sqlite) for c in statement.selected_columns]
    if len(set(names)) != len(names) or any(t is None for t in types):
        return None
    return [(n, t) for n, t in zip(names, types, strict=True) if t is not None]


def _empty(targets: Targets) -> pa.Table:
    return pa.table({name: pa.array([], type=kind) for name, kind in targets})


def _missing_table(engine: Engine, statement: Select) -> bool:
    inspector = sa.inspect(engine)
    return any(
        isinstance(source, sa.Table) and not inspector.has_table(source.name, schema=source.schema)
        for source in statement.get_final_froms()
    )


# PostgreSQL connections take tens of milliseconds to open (the driver reads the type catalog): kept
# open per thread and process, a few URLs each; SQLite opens in well under a millisecond.
_MAX_KEPT = 4
_kept = threading.local()
# every thread's kept connections, by process, closed at exit while the driver can still close them
# (left to the garbage collector at shutdown, ADBC's ``__del__`` finds its module torn down); held
# weakly, so that a thread that ends still takes its connections with it
_every_thread: list[tuple[int, weakref.ref[_Kept]]] = []
_every_thread_lock = threading.Lock()


class _Kept(OrderedDict):
    """One thread's kept connections, by key (a class of its own, so that it can be held weakly)."""


# A forked child's copies of its parent's kept connections: never used, and never closed or left to
# the collector either (a driver's close or finalizer would end the parent's session on the shared
# socket, or drop a SQLite file's locks); the child ends with ``os._exit``.
_inherited: list[Any] = []


def _kept_connections() -> OrderedDict[str, Any]:
    if getattr(_kept, "pid", None) != os.getpid():  # a forked child never uses its parent's
        if getattr(_kept, "connections", None) is not None:
            _inherited.append(_kept.connections)
        _kept.pid = os.getpid()
        _kept.connections = _Kept()
        with _every_thread_lock:
            _every_thread[:] = [entry for entry in _every_thread if entry[1]() is not None]
            _every_thread.append((_kept.pid, weakref.ref(_kept.connections)))
    return _kept.connections


@atexit.register
def _close_at_exit() -> None:
    """Close this process's kept connections, never a parent's (closing a connection inherited over
    fork would end the parent's session on the shared socket)."""
    pid = os.getpid()
    with _every_thread_lock:
        own = [ref() for owner, ref in _every_thread if owner == pid]
    for kept in own:
        while kept:  # None when its thread has ended
            _close(kept.popitem()[1])


def _close(connection: Any) -> None:
    with suppress(Exception):
        connection.close()


@contextmanager
def _connection(connect: Callable[[], Any], key: str | None) -> Iterator[Any]:
    """A connection for one statement: a kept one for ``key`` (taken out while in use), else a new
    one, kept afterwards when ``key`` is given. A connection that failed is closed, not kept."""
    kept = _kept_connections() if key is not None else None
    connection = kept.pop(key, None) if kept is not None else None
    if connection is None:
        connection = connect()
    try:
        yield connection
    except BaseException:
        _close(connection)
        raise
    if kept is None:
        _close(connection)
        return
    if key in kept:
        _close(kept.pop(key))
    kept[key] = connection
    while len(kept) > _MAX_KEPT:
        _close(kept.popitem(last=False)[1])


def dispose_connections() -> None:
    """Close the connections this thread keeps."""
    kept = _kept_connections()
    while kept:
        _close(kept.popitem()[1])


# rows of a SQLite result turned into Arrow at a time
SQLITE_FETCH_ROWS = 65_536


def _one_type(chunks: list[pa.Array]) -> pa.ChunkedArray:
    """A column fetched in batches as one chunked array of the type ``pa.array`` would infer over
    all its values: a batch of NULLs takes the others' type, integers among floats become floats
    (exactly, as there: an integer a double cannot hold raises); any other mix raises."""
    kinds = {chunk.type for chunk in chunks} - {pa.null()}
    if not kinds:
        return pa.chunked_array(chunks, type=pa.null())
    if len(kinds) == 1:
        kind = kinds.pop()
    elif kinds == {pa.int64(), pa.float64()}:
        kind = pa.float64()
    else:
        raise pa.ArrowInvalid(f"a column of mixed types: {sorted(map(str, kinds))}")
    return pa.chunked_array([c if c.type == kind else c.cast(kind) for c in chunks], type=kind)


class _SqliteConnection:
    """What :func:`_fetch` needs of a connection, on a pooled ``sqlite3`` connection of the engine:
    ``fetch_arrow_table`` builds each column with one ``pa.array`` call over its values."""

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.connect()

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def cursor(self) -> Iterator[_SqliteConnection]:
        self._cursor = self._connection.connection.driver_connection.cursor()
        try:
            yield self
        finally:
            self._cursor.close()

    def execute(self, sql: str, parameters: list | None) -> None:
        self._cursor.execute(sql, parameters or ())

    def fetch_arrow_table(self) -> pa.Table:
        names = [d[0] for d in self._cursor.description]
        chunks: list[list[pa.Array]] = [[] for _ in names]
        # a tuple per row and per column, no cycle among them: no collector passes over the heap
        with collector_paused():
            while rows := self._cursor.fetchmany(SQLITE_FETCH_ROWS):
                # a batch of rows at a time: the Python values of one batch, never of the whole
                # result (1M rows of 18 text columns held as tuples of str were 1.6 GB)
                for values, column in zip(zip(*rows, strict=True), chunks, strict=True):
                    column.append(pa.array(values))
                del rows
        if not chunks or not chunks[0]:
            return pa.table([pa.array([]) for _ in names], names=names)
        # a column of mixed Python types (values stored under another affinity) raises here, as
        # one pa.array over all its values would: SQLAlchemy reads it then
        return pa.table([_one_type(column) for column in chunks], names=names)


def _fetch(connection: Any, dialect: sa.Dialect, statement: Select, targets: Targets) -> pa.Table:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    with connection.cursor() as cursor:
        cursor.execute(str(compiled), parameters or None)
        table = cursor.fetch_arrow_table()
    if table.num_columns != len(targets):
        raise ValueError(f"{table.num_columns} columns read, {len(targets)} selected")
    columns = [_coerce(table.column(i), kind) for i, (_, kind) in enumerate(targets)]
    return pa.table(columns, names=[name for name, _ in targets])


def _fetch_once(
    connect: Callable[[], Any],
    key: str | None,
    dialect: sa.Dialect,
    statement: Select,
    targets: Targets,
) -> pa.Table:
    with _connection(connect, key) as connection:
        return _fetch(connection, dialect, statement, targets)


def _read_columnar(engine: Engine, statement: Select) -> pa.Table | None:
    """The result through ADBC, or None when this engine or statement is read through SQLAlchemy
    (also when the driver fails on it: SQLAlchemy then reads it, or raises the real error)."""
    connector = _connector(engine)
    if connector is None:
        return None
    connect, dialect, from_sqlite = connector
    targets = _targets(statement, from_sqlite=from_sqlite)
    if targets is None:
        return None
    key = None if from_sqlite else _postgres_uri(engine)
    try:
        try:
            return _fetch_once(connect, key, dialect, statement, targets)
        except Exception:
            if key is None:
                raise
            # a kept connection the server has closed since (restart, dropped database): once more
            # on a new one
            return _fetch_once(connect, key, dialect, statement, targets)
    except Exception as exc:  # noqa: BLE001 - any driver failure: the slow path decides
        if _missing_table(engine, statement):
            return _empty(targets)
        log.warning("columnar read failed (%s), reading through SQLAlchemy", type(exc).__name__)
        return None


def _via_sqlalchemy(engine: Engine, statement: Select) -> pd.DataFrame:
    if _missing_table(engine, statement):
        names = list(statement.selected_columns.keys())
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    with engine.connect() as connection:
        return pd.read_sql(statement, connection)


def read_arrow(engine: Engine, statement: Select) -> pa.Table:
    """The statement's result as an Arrow table, each column in its declared type. A table that
    does not exist reads as no rows."""
    table = _read_columnar(engine, statement)
    if table is not None:
        return table
    return pa.Table.from_pandas(_via_sqlalchemy(engine, statement), preserve_index=False)


def _arrow_strings(frame: pd.DataFrame, statement: Select) -> pd.DataFrame:
    for column in statement.selected_columns:
        target = _target_type(column.type, from_sqlite=False)
        text = target is not None and pa.types.is_string(target)
        if text and column.key in frame:
            frame[column.key] = frame[column.key].astype(_ARROW_STRING)
    return frame


def read_frame(engine: Engine, statement: Select, *, strings: Strings = "object") -> pd.DataFrame:
    """The statement's result as a DataFrame shaped like ``pd.read_sql``'s (see the module
    docstring); text as ``str``/``None`` or, with ``strings="arrow"``, as ``string[pyarrow]``."""
    table = _read_columnar(engine, statement)
    if table is None:
        frame = _via_sqlalchemy(engine, statement)
        return _arrow_strings(frame, statement) if strings == "arrow" else frame
    return frame_of(table, strings=strings)


def frame_of(table: pa.Table, *, strings: Strings = "object") -> pd.DataFrame:
    """An Arrow table as :func:`read_frame` hands its result over (text as ``str`` or, with
    ``strings="arrow"``, as ``string[pyarrow]``; timestamps in nanoseconds)."""
    mapper = None
    if strings == "arrow":
        mapper = {pa.string(): _ARROW_STRING, pa.large_string(): _ARROW_STRING}.get
    return table.to_pandas(types_mapper=mapper, coerce_temporal_nanoseconds=True)
