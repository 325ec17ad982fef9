"""The workspace in the embedded SQLite operation zone: a merchant's query on a read-only connection
whose authorizer denies every table and column outside the merchant's grants.

- The file is opened ``mode=ro`` (no write reaches it, whatever the statement).
- For each granted dataset a temporary view named like the dataset (``medical_institutions``) selects
  the granted columns of ``operation_<dataset>`` — the same names as the PostgreSQL views.
- ``set_authorizer`` then allows ``SELECT``, reading a granted column of a granted table (a table
  read with no column, as ``count(*)``, needs the table granted), functions (except extension
  loading) and recursive CTEs; it denies everything else: other tables and columns, ``sqlite_master``,
  ``PRAGMA``, ``ATTACH``, every write and every ``CREATE``. A denial names the table and column.
- Results stay in the workspace: at most ``max_rows`` rows come back, nothing is written to a file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assets.storage.dependents import quote_ident

DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
PROGRESS_STEPS = 10_000  # virtual-machine steps between two looks at the clock


class WorkspaceError(Exception):
    """A query the workspace refuses or cannot run; the message is for people (Chinese)."""


class WorkspaceDenied(WorkspaceError):
    """The authorizer denied a table, column or statement outside the merchant's grants."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # more rows than shown


@dataclass
class Authorizer:
    """The callback for ``sqlite3.Connection.set_authorizer``, over an allow-list: operation table
    → the columns the merchant may read. Denials are kept for the error message."""

    allowed: Mapping[str, set[str]]
    views: Mapping[str, set[str]] = field(default_factory=dict)  # our temporary views → columns
    denied: list[str] = field(default_factory=list)

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, database: str | None, _source
    ) -> int:
        if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_RECURSIVE:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            return self.read(arg1 or "", arg2 or "", database or "main")
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in DENIED_FUNCTIONS:
                self.denied.append(f"函数 {arg2}")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        self.denied.append(_statement_label(action, arg1))
        return sqlite3.SQLITE_DENY

    def read(self, table: str, column: str, database: str = "main") -> int:
        # a view is read column by column, then the table beneath it: both must be granted
        source = {"main": self.allowed, "temp": self.views}.get(database, {})
        columns = source.get(table)
        if columns is None:
            self.denied.append(f"表 {table}" if not column else f"表 {table}（字段 {column}）")
            return sqlite3.SQLITE_DENY
        if column and column not in columns:  # no column: the table itself, as in count(*)
            self.denied.append(f"表 {table} 的字段 {column}")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK


_ACTION_LABELS = {
    sqlite3.SQLITE_PRAGMA: "PRAGMA",
    sqlite3.SQLITE_ATTACH: "ATTACH",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_TRANSACTION: "事务语句",
}


def _statement_label(action: int, arg: str | None) -> str:
    label = _ACTION_LABELS.get(action, f"操作 {action}（建表、建视图、修改等）")
    return f"{label} {arg}" if arg else label


def _read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise WorkspaceError(f"运营平台数据库不存在: {path}")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def table_columns(path: Path) -> dict[str, list[str]]:
    """The operation tables of the file and their columns, in table order."""
    with _closing(_read_only(path)) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name LIKE 'operation\\_%' ESCAPE '\\' AND name NOT LIKE '%\\_\\_next' ESCAPE '\\'"
            )
        ]
        return {
            name: [row[1] for row in connection.execute(f"PRAGMA table_info({quote_ident(name)})")]
            for name in sorted(names)
        }


class _closing:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *_exc) -> None:
        self.connection.close()


def run_query(
    path: Path,
    sql: str,
    allowed: Mapping[str, set[str]],
    views: Mapping[str, str],
    *,
    max_rows: int = 100,
    timeout_seconds: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> QueryResult:
    """Run ``sql`` as the merchant whose allow-list is ``allowed`` (table → columns); ``views``:
    dataset view name → operation table, created as temporary views of the granted columns."""
    authorizer = Authorizer(allowed, {})
    with _closing(_read_only(path)) as connection:
        present = table_columns(path)
        for view, table in sorted(views.items()):
            columns = [c for c in present.get(table, []) if c in allowed.get(table, set())]
            if columns:
                authorizer.views[view] = set(columns)
                connection.execute(
                    f"CREATE TEMP VIEW {quote_ident(view)} AS SELECT "
                    + ", ".join(quote_ident(c) for c in columns)
                    + f" FROM main.{quote_ident(table)}"
                )
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(authorizer)
        deadline = clock() + timeout_seconds
        connection.set_progress_handler(lambda: int(clock() > deadline), PROGRESS_STEPS)
        try:
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchmany(max_rows + 1)
        except sqlite3.DatabaseError as exc:
            if authorizer.denied:
                names = "、".join(dict.fromkeys(authorizer.denied))
                raise WorkspaceDenied(f"没有授权: {names}") from None
            if "interrupted" in str(exc):
                raise WorkspaceError(f"查询超过 {timeout_seconds:g} 秒，已中止") from None
            raise WorkspaceError(f"查询无法执行: {exc}") from None
        except sqlite3.Warning as exc:  # e.g. more than one statement
            raise WorkspaceError(f"查询无法执行: {exc}") from None
    return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)


def probe(allowed: Mapping[str, set[str]], tables: Mapping[str, list[str]]) -> set[tuple[str, str]]:
    """What the authorizer built from ``allowed`` lets a merchant read among ``tables``: asked
    exactly as SQLite asks it, column by column."""
    authorizer = Authorizer(allowed)
    readable: set[tuple[str, str]] = set()
    for table, columns in tables.items():
        for column in columns:
            if authorizer(sqlite3.SQLITE_READ, table, column, "main", None) == sqlite3.SQLITE_OK:
                readable.add((table, column))
    return readable
