"""Where an export's result comes from: a query over the merchant's grant, run read-only on the
operation platform in the rewritten form ``lineage.analyze`` produced (each dataset a subquery of only
its granted columns, as the merchant's workspace views are), or a CSV/XLSX file the merchant produced in
its workspace directory ``<data dir>/workspace/<merchant>/`` (never its outbox).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.storage.engine import is_postgres

WORKSPACE_DIR = "workspace"
OUTBOX_DIR = "outbox"
FILE_SUFFIXES = (".csv", ".xlsx")
STATEMENT_TIMEOUT_MS = 120_000


class SourceError(ValueError):
    """The result cannot be read (message in Chinese)."""


def workspace_dir(data_dir: Path, merchant_id: str) -> Path:
    return data_dir / WORKSPACE_DIR / merchant_id


def outbox_dir(data_dir: Path, merchant_id: str) -> Path:
    return workspace_dir(data_dir, merchant_id) / OUTBOX_DIR


def dialect_of(engine: Engine) -> str:
    return "postgres" if is_postgres(engine) else "sqlite"


def run_query(engine: Engine, sql: str, *, max_rows: int) -> pd.DataFrame:
    """Run a rewritten (already checked) query in a read-only transaction; more than ``max_rows``
    rows is refused, not truncated."""
    if is_postgres(engine):
        with engine.connect() as connection, connection.begin():
            connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            connection.execute(sa.text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            result = connection.exec_driver_sql(sql)
            columns = list(result.keys())
            rows = result.fetchmany(max_rows + 1)
    else:
        database = engine.url.database
        if not database or database == ":memory:":
            raise SourceError("运营平台数据库不是文件，无法只读打开")
        path = Path(database)
        if not path.exists():
            raise SourceError(f"运营平台数据库不存在: {path}")
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            connection.execute("PRAGMA query_only = ON")
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchmany(max_rows + 1)
        except sqlite3.Error as exc:
            raise SourceError(f"查询无法执行: {exc}") from None
        finally:
            connection.close()
    if len(rows) > max_rows:
        raise SourceError(f"查询结果超过 {max_rows} 行，批量复制不是数据产品，不予出域")
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def resolve_file(data_dir: Path, merchant_id: str, path: str | Path) -> Path:
    """The file, which must lie in the merchant's workspace (not its outbox) and be CSV or XLSX."""
    base = workspace_dir(data_dir, merchant_id).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = (
            base / candidate if not (data_dir / candidate).exists() else data_dir / candidate
        )
    resolved = candidate.resolve()
    if not resolved.is_relative_to(base):
        raise SourceError(f"文件 {path} 不在数据商 {merchant_id} 的工作区 {base} 之内")
    if resolved.is_relative_to(base / OUTBOX_DIR):
        raise SourceError("出域文件箱中的文件已出域，不能再次申请")
    if resolved.suffix.lower() not in FILE_SUFFIXES:
        raise SourceError(f"只接受 CSV 或 XLSX 文件，{resolved.name} 不是")
    if not resolved.is_file():
        raise SourceError(f"文件不存在: {resolved}")
    return resolved


def read_file(path: Path, *, max_rows: int) -> pd.DataFrame:
    """Every cell as text (nothing guessed from the look of a value), empty cells as missing."""
    try:
        if path.suffix.lower() == ".xlsx":
            frame = pd.read_excel(path, dtype=str, engine="calamine")
        else:
            from charset_normalizer import from_path

            best = from_path(path).best()
            encoding = best.encoding if best is not None else "utf-8"
            frame = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
            frame = frame.replace("", None)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"文件无法读取: {path.name}: {exc}") from None
    if len(frame) > max_rows:
        raise SourceError(f"文件超过 {max_rows} 行，批量复制不是数据产品，不予出域")
    return frame
