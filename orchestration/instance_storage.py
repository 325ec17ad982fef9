"""The embedded Dagster instance's event log on SQLite, without the per-event connection churn.

Dagster's ``SqliteEventLogStorage`` keeps one SQLite file per run (plus ``index.db``) and, for every
event it stores, creates an engine, opens a connection, commits with a full sync and closes the
connection again — the last connection to close a WAL database checkpoints it. A new run's file is
created, then checked against the Alembic scripts (parsed from disk each time) and stamped. At 300,000
rows this was about a fifth of ``publicdata run``'s CPU time, spent on some 30 events per partition
run.

:class:`KeptSqliteEventLogStorage` stores the same rows in the same files (a stock instance reads them,
and so does ``dagster-webserver``), but

- keeps one engine and connection per file, for the few files in use (least recently used closed);
- commits with ``synchronous=NORMAL``: in WAL mode a process crash loses nothing, an operating-system
  crash or power cut may lose the last events (the run then shows as not finished). Production runs on
  PostgreSQL (``dagster.yaml``), where none of this applies;
- creates a run's file as a copy of an empty file stamped at this Dagster version's Alembic head
  (made once per event-log directory and version, by the stock code) instead of creating and checking
  the schema every time;
- opens an existing file that carries an Alembic revision without the stock check: that check
  parses the Alembic scripts from disk (about 40 ms) only to learn the head, and does nothing when
  the file has a revision — it never migrates a run's file. ``publicdata run``'s summary reads the
  events of some 27 runs, each file opened once: 1.1 s of the CLI's serial end at 1M rows;
- remembers the index tables it has found (``has_table``): the stock code opens a new engine on
  ``index.db`` to ask, for every asset check event and every partition lookup. A table not found is
  asked again (a migration may add it); none is ever dropped but by ``wipe``, which forgets them.

It is configured by the data directory's ``dagster.yaml`` (``orchestration/runner.py``). Dagster is
pinned (``constraints.txt``); this relies on the pinned version's ``_connect``/``_initdb`` and is
covered by the tests that run the pipeline and read the instance back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

if TYPE_CHECKING:
    from dagster._core.storage.sqlite_storage import SqliteStorageConfig

# files kept open at once: a run's own, the index, and a few a webserver may be watching
MAX_KEPT_SHARDS = 8
BUSY_TIMEOUT_SECONDS = 300  # as the data zones: a concurrent writer waits instead of failing


def _tuned(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _stamped(engine: Engine) -> bool:
    """Whether the file carries an Alembic revision: then the stock ``_initdb`` would do nothing but
    parse the scripts (it creates and stamps only a file without one)."""
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    except sa.exc.DBAPIError:  # no such table (or not a database): the stock code decides
        return False
    return found is not None and bool(found[0])


class KeptSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with kept connections and pre-stamped run files (module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._template_lock = threading.Lock()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: SqliteStorageConfig
    ) -> KeptSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    # -- connections
    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,  # one connection, used under ``_db_lock``
                connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            sa.event.listen(engine, "connect", _tuned)
        self._engines[shard] = engine
        while len(self._engines) > MAX_KEPT_SHARDS:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                if not self._from_template(shard) and not _stamped(engine):
                    self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def wipe(self) -> None:
        self._close_engines()  # the run files are unlinked: no connection may stay on them
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()

    # -- new run files
    def _template(self) -> Path:
        """An empty event-log file at this Dagster version's Alembic head, made once by the stock code."""
        path = Path(self._base_dir) / f".run-template-{dagster.__version__}.sqlite"
        with self._template_lock:
            if path.exists():
                return path
            fd, scratch = tempfile.mkstemp(
                dir=self._base_dir, prefix=".run-template-", suffix=".db"
            )
            os.close(fd)
            os.unlink(scratch)  # SQLite creates it
            try:
                name = Path(scratch).stem
                engine = sa.create_engine(
                    create_db_conn_string(self._base_dir, name), poolclass=NullPool
                )
                self._initdb(engine)
                engine.dispose()  # the last connection closed: checkpointed, no -wal file left
                os.replace(scratch, path)
            finally:
                for leftover in (scratch, f"{scratch}-wal", f"{scratch}-shm"):
                    with suppress(FileNotFoundError):
                        os.unlink(leftover)
        return path

    def _from_template(self, shard: str) -> bool:
        """Create the run's file from the template; False when it exists already (or is the index):
        then the stock code checks and, if need be, migrates it."""
        target = Path(self.path_for_shard(shard))
        if shard == INDEX_SHARD_NAME or target.exists():
            return False
        template = self._template()
        fd, scratch = tempfile.mkstemp(dir=self._base_dir, prefix=f".{shard}-", suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(template, scratch)
            try:
                os.link(scratch, target)  # never over a file another process created meanwhile
            except FileExistsError:
                return False
        finally:
            os.unlink(scratch)
        return True
