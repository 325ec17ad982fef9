"""SQLite bulk loads through an ADBC-written staging file (``assets/storage/sqlite_stage.py``): the
values stored are those Python's sqlite3 stores when it binds them; ADBC's SQLite has closed the
stage before the connection opens it; the stage is owner-only and gone once the transaction is."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from assets.storage import sqlite_stage
from assets.storage.bulk import append_rows, write_rows
from assets.storage.engine import get_engine


def test_the_driver_is_installed():
    assert sqlite_stage.available()  # a dependency (pyproject.toml): loads are staged


COLUMNS = ("text", "number", "amount", "flag", "empty")
VALUES = {
    "text": ["a", None, "中\x00文", "", "😀 emoji", "it's", "tab\there", "\\N", "长" * 2_000],
    "number": [1, None, -5, 2**62, 0, 7, 8, 9, 10],
    "amount": [1.5, None, -2.25, 1e300, 0.0, 3.0, 4.0, 5.0, 6.0],
    "flag": [True, False, None, True, False, True, True, False, None],
    "empty": [None] * 9,
}


def _table(engine: sa.Engine, name: str) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("text", sa.Text),
        sa.Column("number", sa.Integer),
        sa.Column("amount", sa.Float),
        sa.Column("flag", sa.Boolean),
        sa.Column("empty", sa.Text),
        sa.Column("county_code", sa.Text),
    )
    table.create(engine)
    return table


def _stored(path: Path, table: str) -> list[tuple]:
    columns = [*COLUMNS, "county_code"]
    select = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
    with sqlite3.connect(path) as connection:
        return connection.execute(f'SELECT {select} FROM "{table}" ORDER BY rowid').fetchall()


def _stages(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{sqlite_stage.STAGE_PREFIX}*"))


def _open_descriptors(path: Path) -> int:
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.parametrize("as_arrow", [False, True], ids=["pandas", "arrow"])
def test_staged_load_stores_what_sqlite3_binding_stores(tmp_path, as_arrow):
    path = tmp_path / "zone.sqlite"
    engine = get_engine(f"sqlite:///{path}")
    staged, bound = _table(engine, "staged"), _table(engine, "bound")
    frame = pd.DataFrame(VALUES).astype(
        {"text": "string", "number": "Int64", "amount": "Float64", "flag": "boolean"}
    )
    frame["county_code"] = "640502"  # one value: a literal in the copy
    rows = pa.Table.from_pandas(frame, preserve_index=False) if as_arrow else frame
    with engine.begin() as connection:
        write_rows(connection, staged, rows, lambda done: None)
    # the reference: the same Python values bound by the sqlite3 module itself
    with sqlite3.connect(path) as connection:
        connection.executemany(
            'INSERT INTO "bound" VALUES (?, ?, ?, ?, ?, ?)',
            zip(*(VALUES[c] for c in COLUMNS), ["640502"] * 9, strict=True),
        )
    assert _stored(path, "staged") == _stored(path, "bound")
    assert _stored(path, "staged")[2][:2] == ("中\x00文", "text")  # NUL kept, as bound
    assert not _stages(tmp_path)
    assert bound is not None


def test_adbc_has_closed_the_stage_before_sqlite_opens_it_and_it_is_gone_after(tmp_path):
    """Two copies of SQLite never hold one file open at once: inside the transaction, the only
    descriptor of the stage is the connection's (its ATTACH); after it, none, and no file."""
    path = tmp_path / "zone.sqlite"
    engine = get_engine(f"sqlite:///{path}")
    table = _table(engine, "rows")
    frame = pd.DataFrame({"text": [f"v{i}" for i in range(1_000)], "county_code": "640502"})
    done: list[int] = []
    with engine.begin() as connection:
        write_rows(connection, table, frame, done.append)
        (stage,) = _stages(tmp_path)
        assert stage.stat().st_mode & 0o777 == 0o600  # raw zone rows: the owner's only
        assert _open_descriptors(stage) == 1
    assert done and done[-1] == 1_000
    assert not _stages(tmp_path) and _open_descriptors(stage) == 0
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 1_000


def test_a_rolled_back_load_leaves_no_rows_and_no_stage(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    table = _table(engine, "rows")
    frame = pd.DataFrame({"text": ["a", "b", "c"], "county_code": "640502"})
    with pytest.raises(RuntimeError, match="after the load"), engine.begin() as connection:
        write_rows(connection, table, frame, lambda done: None)
        assert len(_stages(tmp_path)) == 1
        raise RuntimeError("after the load")
    assert not _stages(tmp_path)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_more_loads_in_one_transaction_than_sqlite_can_attach(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    table = _table(engine, "rows")
    with engine.begin() as connection:
        for load in range(12):  # SQLite attaches ten databases: the rest are bound
            frame = pd.DataFrame({"text": [f"{load}-{i}" for i in range(5)], "county_code": "x"})
            write_rows(connection, table, frame, lambda done: None)
        assert len(_stages(tmp_path)) == sqlite_stage.MAX_STAGES
    assert not _stages(tmp_path)
    with engine.connect() as connection:
        texts = connection.execute(sa.select(table.c.text)).scalars().all()
    assert texts == [f"{load}-{i}" for load in range(12) for i in range(5)]


def test_copy_reports_progress_chunk_by_chunk(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    table = _table(engine, "rows")
    done: list[int] = []
    with engine.begin() as connection:
        assert sqlite_stage.stage_insert(
            connection,
            "rows",
            ["text", "county_code"],
            [pa.array([str(i) for i in range(10)]), "'640502'"],
            10,
            4,
            done.append,
        )
    assert done == [4, 8, 10]
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.text, table.c.county_code)).all()
    assert [tuple(r) for r in rows] == [(str(i), "640502") for i in range(10)]


def test_loads_the_stage_cannot_take_are_bound(tmp_path):
    """An in-memory database has no directory for a stage; a column of another type is bound.
    Either way the rows arrive and no stage is written."""
    memory = sa.create_engine("sqlite://")
    table = _table(memory, "rows")
    frame = pd.DataFrame({"text": ["a", "b"], "county_code": "640502"})
    with memory.begin() as connection:
        write_rows(connection, table, frame, lambda done: None)
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 2
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    decimals = sa.Table("decimals", sa.MetaData(), sa.Column("value", sa.Text))
    decimals.create(engine)
    with engine.begin() as connection:
        assert not sqlite_stage.stage_insert(
            connection, "decimals", ["value"], [pa.array([1, 2], pa.decimal128(5, 0))], 2, 10, print
        )
    assert not _stages(tmp_path)
    append_rows(engine, _table(engine, "rows"), frame)  # a load of its own: staged, released
    assert not _stages(tmp_path)
    assert _stored(tmp_path / "zone.sqlite", "rows")[0][-2:] == ("640502", "text")


def test_sweep_deletes_only_the_stages_a_killed_process_left(tmp_path):
    old = tmp_path / f"{sqlite_stage.STAGE_PREFIX}old.sqlite"
    fresh = tmp_path / f"{sqlite_stage.STAGE_PREFIX}fresh.sqlite"
    other = tmp_path / "zone.sqlite"
    for path in (old, fresh, other):
        path.write_bytes(b"")
    long_ago = time.time() - 2 * sqlite_stage.SWEEP_AFTER_SECONDS
    os.utime(old, (long_ago, long_ago))
    urls = [f"sqlite:///{other}", "sqlite://", "postgresql://postgres@127.0.0.1/x"]
    assert sqlite_stage.sweep_databases(urls) == 1
    assert not old.exists() and fresh.exists() and other.exists()
