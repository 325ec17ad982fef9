"""SQLAlchemy engines for the zones, one per URL per process."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from assets.common.files import create_private_file

_lock = threading.Lock()

# How long an SQLite writer waits for another's write transaction (sqlite3's busy timeout) before
# "database is locked". `publicdata run --parallel` has several processes write the same zone files:
# one worker's exchange load or publish of a large dataset is one transaction, and the other
# worker's next write queues behind it, so the wait covers the longest such transaction, not a blip.
# (The sqlite3 module opens a transaction at the first write, not at a read: a read-then-write never
# holds a stale read snapshot, so there is no upgrade to fail; the writers that must see the latest
# committed state first take the write lock — the audit chain's head UPDATE, the publish's
# BEGIN IMMEDIATE, the ticket counters' upsert.)
SQLITE_BUSY_SECONDS = 300
_engines: dict[str, Engine] = {}


def is_postgres(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "postgresql"


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the driver the bulk loader's COPY uses)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    """The URL with any password hidden, for summaries and metadata."""
    return make_url(url).render_as_string(hide_password=True)


def one_line_error(exc: BaseException) -> str:
    """A database (or other) error as one line a person can act on: the driver's message without
    the SQL statement, parameters and SQLAlchemy's background link; never a password."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    elif isinstance(exc, sa.exc.StatementError):
        text = str(exc.orig if exc.orig is not None else exc).split("\n[SQL:")[0]
    else:
        text = str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else type(exc).__name__
    return line.split("(Background on this error")[0].strip()[:300]


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        # created owner-only before SQLite opens it; its WAL and SHM files take the same mode
        create_private_file(Path(parsed.database))
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # WAL lets the UI read while a run writes; a killed writer leaves the last commit whole.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def get_engine(url: str) -> Engine:
    key = normalize_url(url)
    with _lock:
        if key not in _engines:
            _engines[key] = _create_engine(key)
        return _engines[key]


# A forked child's copies of its parent's connection pools (:func:`forget_inherited_engines`).
_inherited_pools: list[object] = []


def forget_inherited_engines() -> None:
    """In a process just forked (a ``publicdata run`` worker): every engine gets a fresh pool, so
    that this process opens its own connections and never uses its parent's. The parent's pools are
    kept, untouched, for the life of the process — closing or even collecting them would close the
    parent's connections on the shared sockets (PostgreSQL) or drop this process's SQLite locks on
    the same files (https://sqlite.org/howtocorrupt.html, 2.6)."""
    with _lock:
        for engine in _engines.values():
            _inherited_pools.append(engine.pool)
            engine.dispose(close=False)


def dispose_engines() -> None:
    """Close every pooled connection (tests call it before dropping a database)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
