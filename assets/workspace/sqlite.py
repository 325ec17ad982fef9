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
    _through_views: set[str] = field(default_factory=set)  # tables a view of ours has read

    def __call__(
        self,
        action: int,
        arg1: str | None,
        arg2: str | None,
        database: str | None,
        source: str | None,
    ) -> int:
        if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_RECURSIVE:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            return self.read(arg1 or "", arg2 or "", database or "main", source)
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in DENIED_FUNCTIONS:
                self.denied.append(f"函数 {arg2}")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        self.denied.append(_statement_label(action, arg1))
        return sqlite3.SQLITE_DENY

    def read(
        self, table: str, column: str, database: str = "main", through: str | None = None
    ) -> int:
        """A read of ``database.table.column``; ``through``: the view SQLite expands (the granted
        operation tables are read only through the merchant's views, never directly)."""
        columns: set[str] | None = None
        if database == "temp":
            columns = self.views.get(table)
        elif database == "main" and through in self.views:
            columns = self.allowed.get(table)
            self._through_views.add(table)
        elif database == "main" and not column and table in self._through_views:
            # count(*) over a view: SQLite asks for the table itself after the view's columns
            columns = self.allowed.get(table)
        if columns is None:
            if database == "main" and table in self.allowed:
                views = "、".join(sorted(self.views)) or "无"
                self.denied.append(f"运营平台表 {table} 不能直接查询（请查询授权视图: {views}）")
            else:
                self.denied.append(f"表 {table}")
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
        btrees = _btrees(connection)
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(authorizer)
        deadline = clock() + timeout_seconds
        connection.set_progress_handler(lambda: int(clock() > deadline), PROGRESS_STEPS)
        try:
            _only_granted_btrees(connection, sql, btrees, set(allowed))
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchmany(max_rows + 1)
        except sqlite3.DatabaseError as exc:
            if authorizer.denied:
                names = "、".join(dict.fromkeys(authorizer.denied))
                raise WorkspaceDenied(f"没有授权: {names}") from None
            message = str(exc)
            if "interrupted" in message:
                raise WorkspaceError(f"查询超过 {timeout_seconds:g} 秒，已中止") from None
            for prefix, what in (("no such column: ", "字段"), ("no such table: ", "表或视图")):
                if message.startswith(prefix):
                    offered = "；".join(
                        f"{view}（{', '.join(sorted(columns))}）"
                        for view, columns in sorted(authorizer.views.items())
                    )
                    raise WorkspaceDenied(
                        f"{what} {message[len(prefix) :]} 不存在或没有授权（可查询: {offered}）"
                    ) from None
            raise WorkspaceError(f"查询无法执行: {message}") from None
        except sqlite3.Warning as exc:  # e.g. more than one statement
            raise WorkspaceError(f"查询无法执行: {exc}") from None
    return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)


def _btrees(connection: sqlite3.Connection) -> dict[int, str]:
    """Root page → table of every table and index b-tree of the main database."""
    rows = connection.execute(
        "SELECT rootpage, tbl_name FROM main.sqlite_master WHERE rootpage > 0"
    )
    return {int(page): table for page, table in rows}


def _only_granted_btrees(
    connection: sqlite3.Connection, sql: str, btrees: Mapping[int, str], tables: set[str]
) -> None:
    """The second lock: the statement's bytecode opens no b-tree (table or index) of a table
    outside the grants. SQLite does not ask the authorizer about the columns of a ``USING`` or
    ``NATURAL`` join, so a join could otherwise touch an ungranted table unseen."""
    opened: set[str] = set()
    for row in connection.execute(f"EXPLAIN {sql}"):
        opcode, root, database = row[1], row[3], row[4]
        if opcode in ("OpenRead", "OpenWrite", "ReopenIdx") and database == 0:
            table = btrees.get(int(root), f"根页 {root}")
            if table not in tables:
                opened.add(table)
    if opened:
        raise WorkspaceDenied("没有授权: " + "、".join(f"表 {t}" for t in sorted(opened)))


def probe(
    allowed: Mapping[str, set[str]], tables: Mapping[str, list[str]], views: Mapping[str, str]
) -> set[tuple[str, str]]:
    """What the authorizer built from ``allowed`` (and the merchant's ``views``: view → table) lets
    the merchant read among ``tables``, asked as SQLite asks it, column by column."""
    authorizer = Authorizer(
        allowed, {view: set(allowed.get(table, ())) for view, table in views.items()}
    )
    readable: set[tuple[str, str]] = set()
    for table, columns in tables.items():
        for column in columns:
            for through in (None, *views):  # directly, or through any of the merchant's views
                if authorizer.read(table, column, "main", through) == sqlite3.SQLITE_OK:
                    readable.add((table, column))
    return readable
