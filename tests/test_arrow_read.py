"""Columnar reads (``assets/storage/arrow_read.py``) on SQLite and PostgreSQL: the same frame as
``pd.read_sql`` — NULLs, Chinese text, every column type the zones use, row order, parameters —
through ADBC on PostgreSQL and the engine's own sqlite3 on SQLite, an absent table as an empty frame,
and the SQLAlchemy fallback for what it does not map."""

from __future__ import annotations

import datetime as dt
import gc

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from assets.storage import arrow_read
from assets.storage.arrow_read import read_arrow, read_frame
from assets.storage.engine import get_engine

ROWS = 2_500

_metadata = sa.MetaData()
SAMPLE = sa.Table(
    "arrow_sample",
    _metadata,
    sa.Column("row_id", sa.Integer),
    sa.Column("name", sa.Text),
    sa.Column("county_code", sa.String(6)),
    sa.Column("amount", sa.BigInteger),
    sa.Column("ratio", sa.Float),
    sa.Column("open", sa.Boolean),
    sa.Column("opened_on", sa.Date),
    sa.Column("ingested_at", sa.DateTime(timezone=True)),
)


def _rows() -> list[dict]:
    rows = []
    for i in range(ROWS):
        rows.append(
            {
                "row_id": i,
                # NULL in the first 1,500 rows: the column is typed by its declaration, not its values
                "name": None if i < 1_500 else f"杭州市西湖区文三路{i}号「测试」",
                "county_code": "330106" if i % 2 else None,
                "amount": None if i == 3 else i * 10**12,
                "ratio": None if i == 4 else i / 3,
                "open": None if i == 5 else bool(i % 3),
                "opened_on": None if i == 6 else dt.date(2024, 1 + i % 12, 1 + i % 28),
                "ingested_at": None
                if i == 7
                else dt.datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=dt.UTC),
            }
        )
    return rows


@pytest.fixture
def engine(db_url):
    engine = get_engine(db_url)
    _metadata.drop_all(engine)
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(SAMPLE.insert(), _rows())
    return engine


def _plain(values: pd.Series) -> list:
    return values.astype(object).where(values.notna(), None).tolist()


def _sqlalchemy(engine, statement) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(statement, connection)


def _no_fallback(monkeypatch) -> None:
    def refuse(*_args):
        raise AssertionError("read through SQLAlchemy, not the columnar path")

    monkeypatch.setattr(arrow_read, "_via_sqlalchemy", refuse)


def test_the_columnar_read_is_the_frame_sqlalchemy_reads(engine, monkeypatch):
    statement = sa.select(SAMPLE).where(SAMPLE.c.row_id >= 2).order_by(SAMPLE.c.row_id.desc())
    slow = _sqlalchemy(engine, statement)
    _no_fallback(monkeypatch)  # the columnar path reads it
    fast = read_frame(engine, statement)
    assert list(fast.columns) == list(slow.columns) == [c.name for c in SAMPLE.columns]
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict()
    for column in slow.columns:
        assert _plain(fast[column]) == _plain(slow[column]), column
    assert fast["row_id"].tolist() == list(range(ROWS - 1, 1, -1))  # the statement's ORDER BY
    # NULL text is None, Chinese text comes back whole
    assert fast.loc[fast["row_id"] == 10, "name"].item() is None
    assert fast.loc[fast["row_id"] == 1_600, "name"].item() == "杭州市西湖区文三路1600号「测试」"
    assert fast["opened_on"].dropna().map(type).eq(dt.date).all()


def test_arrow_strings_hold_the_same_text(engine, monkeypatch):
    _no_fallback(monkeypatch)
    statement = sa.select(SAMPLE.c.name, SAMPLE.c.county_code).order_by(SAMPLE.c.row_id)
    frame = read_frame(engine, statement, strings="arrow")
    assert str(frame["name"].dtype) == "string"
    assert frame["name"].isna().sum() == 1_500
    assert frame["name"].iloc[-1] == f"杭州市西湖区文三路{ROWS - 1}号「测试」"
    table = read_arrow(engine, statement)
    assert table.schema.types == [pa.string(), pa.string()]
    assert table.column("county_code").null_count == ROWS // 2


def test_parameters_are_bound(engine, monkeypatch):
    _no_fallback(monkeypatch)
    wanted = [1, 3, 1_601, 1_602]
    statement = (
        sa.select(SAMPLE.c.name, SAMPLE.c.row_id)
        .where(SAMPLE.c.county_code == "330106", SAMPLE.c.row_id.in_(wanted))
        .order_by(SAMPLE.c.row_id)
    )
    frame = read_frame(engine, statement)
    assert frame["row_id"].tolist() == [1, 3, 1_601]  # 1602 is even: no county code
    assert _plain(frame["name"]) == [None, None, "杭州市西湖区文三路1601号「测试」"]
    quoted = sa.select(SAMPLE.c.row_id).where(SAMPLE.c.name == "x' OR '1'='1")
    assert read_frame(engine, quoted).empty


def test_no_rows_and_absent_tables_read_as_empty_frames_with_the_columns(engine):
    empty = read_frame(engine, sa.select(SAMPLE).where(SAMPLE.c.row_id < 0))
    assert empty.empty and list(empty.columns) == [c.name for c in SAMPLE.columns]
    absent = sa.Table(
        "arrow_absent", sa.MetaData(), sa.Column("a", sa.Text), sa.Column("b", sa.Integer)
    )
    frame = read_frame(engine, sa.select(absent))
    assert frame.empty and list(frame.columns) == ["a", "b"]
    assert read_arrow(engine, sa.select(absent)).num_rows == 0


def test_a_private_in_memory_database_is_read_on_its_own_connection(monkeypatch):
    engine = sa.create_engine("sqlite:///:memory:", poolclass=sa.pool.StaticPool)
    _no_fallback(monkeypatch)
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(SAMPLE.insert(), _rows()[:20])
    statement = sa.select(SAMPLE.c.row_id, SAMPLE.c.name).order_by(SAMPLE.c.row_id)
    frame = read_frame(engine, statement)
    assert frame["row_id"].tolist() == list(range(20))
    assert str(read_frame(engine, statement, strings="arrow")["name"].dtype) == "string"


def test_a_column_type_it_does_not_map_is_read_through_sqlalchemy(engine):
    statement = sa.select(sa.cast(SAMPLE.c.row_id, sa.Numeric(10, 2)).label("n")).where(
        SAMPLE.c.row_id < 3
    )
    frame = read_frame(engine, statement)
    assert [float(v) for v in frame["n"]] == [0.0, 1.0, 2.0]


@pytest.mark.postgres
def test_a_kept_connection_the_server_closed_is_replaced(pg_url, monkeypatch):
    engine = get_engine(pg_url)
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(SAMPLE.insert(), _rows()[:10])
    statement = sa.select(SAMPLE.c.row_id).order_by(SAMPLE.c.row_id)
    assert read_frame(engine, statement)["row_id"].tolist() == list(range(10))
    engine.dispose()  # only the kept ADBC connection stays open
    with engine.connect() as connection:
        terminated = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert terminated == 1
    _no_fallback(monkeypatch)
    assert read_frame(engine, statement)["row_id"].tolist() == list(range(10))
    arrow_read.dispose_connections()


def test_sqlite_is_read_on_the_engines_own_connections(tmp_path, monkeypatch):
    """SQLite reads go through the engine's pool (Python's sqlite3), never through a second SQLite
    library in the process: with two copies, one resets the WAL index the other has mapped."""
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(SAMPLE.insert(), _rows()[:10])
    checkouts: list[object] = []
    sa.event.listen(engine, "checkout", lambda dbapi, *_: checkouts.append(dbapi))
    _no_fallback(monkeypatch)
    frame = read_frame(engine, sa.select(SAMPLE.c.row_id).order_by(SAMPLE.c.row_id))
    assert frame["row_id"].tolist() == list(range(10))
    assert len(checkouts) == 1 and type(checkouts[0]).__module__ == "sqlite3"


def test_kept_connections_are_closed_at_exit_and_never_a_parents(pg_url):
    """Kept ADBC connections are closed by an exit hook: left to the garbage collector at interpreter
    shutdown, ADBC's ``__del__`` finds its module torn down and prints a TypeError per connection (a CI
    run printed them). The hook closes this process's connections only, never ones it inherited."""
    arrow_read.dispose_connections()  # an earlier test on this worker may have kept its own
    engine = get_engine(pg_url)
    statement = sa.select(sa.literal(1).label("one"))
    assert read_frame(engine, statement)["one"].tolist() == [1]
    (connection,) = arrow_read._kept_connections().values()
    inherited = arrow_read._Kept(parent=object())
    arrow_read._every_thread.append((-1, __import__("weakref").ref(inherited)))
    try:
        arrow_read._close_at_exit()
        assert connection._closed and not arrow_read._kept_connections()
        assert list(inherited) == ["parent"]  # another process's: left alone
    finally:
        arrow_read._every_thread[:] = [e for e in arrow_read._every_thread if e[0] != -1]
    assert read_frame(engine, statement)["one"].tolist() == [1]  # a new one opens after
    arrow_read.dispose_connections()


def test_sqlite_is_fetched_in_batches_with_the_same_frame(tmp_path, monkeypatch):
    """SQLite rows become Arrow a batch at a time (only one batch's Python values in memory): the
    frame is the one read whole, also where a batch holds only NULLs (``name`` in its first 1,500
    rows) and the last batch is short. (SQLite only: PostgreSQL is read by ADBC's COPY.)"""
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(SAMPLE.insert(), _rows())
    statement = sa.select(SAMPLE).order_by(SAMPLE.c.row_id)
    whole = read_frame(engine, statement)
    monkeypatch.setattr(arrow_read, "SQLITE_FETCH_ROWS", 333)
    _no_fallback(monkeypatch)
    batched = read_frame(engine, statement)
    assert batched.dtypes.to_dict() == whole.dtypes.to_dict()
    for column in whole.columns:
        assert _plain(batched[column]) == _plain(whole[column]), column
    table = read_arrow(engine, statement)
    assert table.column("name").num_chunks == -(-ROWS // 333)
    assert table.column("name").type == pa.string()


def test_batches_of_one_column_take_the_type_of_all_its_values():
    one = arrow_read._one_type
    assert one([pa.array([None, None]), pa.array(["a", None])]).type == pa.string()
    mixed = one([pa.array([1, 2]), pa.array([0.5, None])])
    assert mixed.type == pa.float64() and mixed.to_pylist() == [1.0, 2.0, 0.5, None]
    assert mixed.to_pylist() == pa.array([1, 2, 0.5, None]).to_pylist()
    for batches in ([pa.array([1]), pa.array(["a"])], [pa.array([2**60 + 1]), pa.array([0.5])]):
        with pytest.raises(pa.ArrowInvalid):  # as pa.array over all the values raises
            one(batches)
    assert one([pa.array([None])]).type == pa.null()


def test_a_large_sqlite_read_runs_no_collector_pass(tmp_path):
    """The tuples a SQLite read builds (a batch of rows at a time) set off no pass of the cyclic
    garbage collector: it ran over the whole heap about once a batch, a tenth of a 1M-row run's CPU
    (``assets/common/collector.py``). Afterwards the collector is on again."""
    engine = get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        for _ in range(20):  # 50,000 rows: over 70 passes of the youngest generation if it were on
            connection.execute(SAMPLE.insert(), _rows())
    statement = sa.select(SAMPLE).order_by(SAMPLE.c.row_id)
    passes: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        assert gc.isenabled()
        table = read_arrow(engine, statement)
        assert table.num_rows == 20 * ROWS
        # the statement's compilation and the table's assembly may set off a young pass or two
        assert len(passes) <= 2 and 2 not in passes, passes
        assert gc.isenabled()
        [(f"{i}",) for i in range(10_000)]  # the collector counts allocations again
        assert passes
    finally:
        gc.callbacks.remove(count)
