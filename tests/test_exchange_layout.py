"""The exchange table's layout (``storage/exchange_layout.py``): a load's provenance is written once, in
the loads table; the rows hold their load and source row; the view shows the table's columns. The slice
queries read the loads, never the rows; a slice read comes back in table order even when its rows do
not share one load; a slice replaced leaves every other slice alone; a table of the earlier layout is
converted on its dataset's next load with every row, its provenance and its order."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from assets.aggregation.incremental import exchange_slices, exchange_slices_query
from assets.exchange.load import load_exchange_slice, replace_exchange_slice
from assets.exchange.stamps import slice_stamps, slice_stamps_query
from assets.governance.records import count_exchange_rows, read_exchange
from assets.governance.slices import read_exchange_slice
from assets.storage.engine import get_engine
from assets.storage.exchange_layout import LOAD_COLUMNS, existing_loads
from assets.storage.tables import (
    PROVENANCE_COLUMNS,
    exchange_loads_table,
    exchange_rows_table,
    exchange_table,
)
from tests.helpers import slice_frame


def _two_loads(entry, county: str, n: int) -> pd.DataFrame:
    """A slice whose rows interleave two batches (two loads), not in source order."""
    frame = slice_frame(entry, county, "2026-10", n)
    frame = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    frame.loc[frame.index[1::3], "batch_id"] = "a" * 36  # sorts before the other batch
    frame.loc[frame.index[1::3], "ingested_at"] = pd.Timestamp(datetime(2026, 1, 2, tzinfo=UTC))
    return frame


def _view(engine, entry, county: str) -> list[tuple]:
    table = exchange_table(entry)
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.select(table).where(table.c.county_code == county).order_by(table.c.source_row)
            )
        ]


def _kinds(engine) -> tuple[set[str], set[str]]:
    inspector = sa.inspect(engine)
    return set(inspector.get_table_names()), set(inspector.get_view_names())


def test_a_load_writes_its_provenance_once_and_the_view_shows_the_table(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    frame = _two_loads(entry, "640502", 30)
    load_exchange_slice(engine, entry, frame, county_code="640502", period="2026-10")
    tables, views = _kinds(engine)
    assert exchange_table(entry).name in views
    assert {exchange_rows_table(entry).name, exchange_loads_table(entry.dataset_id).name} <= tables
    with engine.connect() as connection:
        loads = connection.execute(
            sa.select(exchange_loads_table(entry.dataset_id)).order_by(sa.text("id"))
        ).all()
        rows_columns = [
            c["name"] for c in sa.inspect(connection).get_columns(exchange_rows_table(entry).name)
        ]
    assert [(r.batch_id, r.rows) for r in loads] == [("b" * 36, 20), ("a" * 36, 10)]
    assert not set(LOAD_COLUMNS) & set(rows_columns)  # no provenance on the rows
    # the view: the table's columns, every row with its own load's provenance
    shown = [c["name"] for c in sa.inspect(engine).get_columns(exchange_table(entry).name)]
    assert shown == [*PROVENANCE_COLUMNS, *entry.columns]
    read = read_exchange(engine, entry).sort_values("source_row").reset_index(drop=True)
    expected = frame.sort_values("source_row").reset_index(drop=True)
    for column in [c for c in PROVENANCE_COLUMNS if c != "ingested_at"] + entry.columns:
        assert read[column].astype(str).tolist() == expected[column].astype(str).tolist(), column
    stamps = pd.to_datetime(read["ingested_at"], utc=True)
    assert stamps.tolist() == pd.to_datetime(expected["ingested_at"], utc=True).tolist()


def test_slice_queries_read_the_loads_never_the_rows_on_sqlite(tmp_path, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    for county, n in (("640502", 40), ("640521", 3)):
        frame = _two_loads(entry, county, n)
        load_exchange_slice(engine, entry, frame, county_code=county, period="2026-10")
    loads = existing_loads(engine, entry)
    queries = {
        "exchange_slices": exchange_slices_query(loads),
        "slice_stamps": slice_stamps_query(loads),
    }
    with engine.connect() as connection:
        for name, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(r[-1]) for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            )
            assert loads.name in plan and exchange_rows_table(entry).name not in plan, (name, plan)
    # a slice read from the table: its rows in table order (the frame's), across its two loads
    frame = read_exchange_slice(engine, entry, "640502", "2026-10")
    order = frame["source_row"].tolist()
    loaded = _two_loads(entry, "640502", 40)["source_row"].tolist()
    assert order == loaded and order != sorted(order)
    assert frame["batch_id"].nunique() == 2
    # the functions answer from the loads: two slices, four loads, 43 rows
    stamps = slice_stamps(engine, entry)
    assert len(stamps) == 2 and all(len(s.splitlines()) == 2 for s in stamps.values())
    assert {k: s.rows for k, s in exchange_slices(engine, entry).items()} == {
        ("640502", "2026-10"): 40,
        ("640521", "2026-10"): 3,
    }
    counts = count_exchange_rows(engine, entry)
    assert counts["rows"].sum() == 43


def test_replacing_a_slice_leaves_the_others_alone(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    load_exchange_slice(
        engine, entry, _two_loads(entry, "640502", 9), county_code="640502", period="2026-10"
    )
    other = slice_frame(entry, "640521", "2026-10", 4, marker="o")
    load_exchange_slice(engine, entry, other, county_code="640521", period="2026-10")
    before = _view(engine, entry, "640521")
    new = slice_frame(entry, "640502", "2026-10", 5, marker="n")
    deleted = replace_exchange_slice(engine, entry, new, "640502", "2026-10")
    assert deleted == 9
    assert _view(engine, entry, "640521") == before
    now = _view(engine, entry, "640502")
    assert [row[-1] for row in now] == [f"n{i}" for i in range(5)]
    with engine.connect() as connection:
        loads = connection.execute(sa.select(exchange_loads_table(entry.dataset_id))).all()
        rows = connection.execute(
            sa.select(sa.func.count()).select_from(exchange_rows_table(entry))
        ).scalar_one()
    assert sorted((r.county_code, r.rows) for r in loads) == [("640502", 5), ("640521", 4)]
    assert rows == 9
    # rows of another slice are refused, and nothing changes
    with pytest.raises(ValueError, match="rows outside the slice"):
        replace_exchange_slice(engine, entry, other, "640502", "2026-10")
    assert _view(engine, entry, "640502") == now


def test_a_table_of_the_earlier_layout_is_converted_with_every_row_in_order(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    name = exchange_table(entry).name
    old = sa.Table(
        name,
        sa.MetaData(),
        *[c.copy() for c in exchange_table(entry).columns],
        sa.Index(f"ix_{name}_slice_loads", *LOAD_COLUMNS[:2], "file_checksum", "batch_id"),
    )
    old.create(engine)
    first = _two_loads(entry, "640502", 12)
    second = slice_frame(entry, "640521", "2026-Q3", 5, marker="q")
    with engine.begin() as connection:
        for frame in (first, second):
            records = frame.assign(ingested_at=frame["ingested_at"].dt.tz_localize(None))
            connection.execute(old.insert(), records.to_dict("records"))
    before = {county: _view(engine, entry, county) for county in ("640502", "640521")}
    slices = exchange_slices(engine, entry)  # the first reader converts it
    tables, views = _kinds(engine)
    assert name in views and name not in tables
    assert {k: s.rows for k, s in slices.items()} == {
        ("640502", "2026-10"): 12,
        ("640521", "2026-Q3"): 5,
    }
    after = {county: _view(engine, entry, county) for county in ("640502", "640521")}
    normalize = lambda rows: [  # noqa: E731  (load times: text on SQLite before, datetime after)
        tuple(str(pd.Timestamp(v).tz_localize(None)) if i == 6 else v for i, v in enumerate(r))
        for r in rows
    ]
    assert {k: normalize(v) for k, v in after.items()} == {
        k: normalize(v) for k, v in before.items()
    }
    if engine.dialect.name == "sqlite":  # the rows keep the table's order
        read = read_exchange_slice(engine, entry, "640502", "2026-10")
        assert read["source_row"].tolist() == first["source_row"].tolist()
    # the next load of a slice finds it unchanged
    load = load_exchange_slice(engine, entry, second, county_code="640521", period="2026-Q3")
    assert load.unchanged


def test_an_item_the_catalog_gains_is_added_and_shown(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    load_exchange_slice(
        engine,
        entry,
        slice_frame(entry, "640502", "2026-10", 3),
        county_code="640502",
        period="2026-10",
    )
    added = entry.items[0].model_copy(update={"name": "备注", "column": "extra_note"})
    extended = entry.model_copy(update={"items": (*entry.items, added)})
    load_exchange_slice(
        engine,
        extended,
        slice_frame(extended, "640521", "2026-10", 2, marker="x"),
        county_code="640521",
        period="2026-10",
    )
    shown = [c["name"] for c in sa.inspect(engine).get_columns(exchange_table(entry).name)]
    assert shown == [*PROVENANCE_COLUMNS, *extended.columns]
    read = read_exchange(engine, extended).set_index("source_row")
    assert read.loc[read["county_code"] == "640502", "extra_note"].isna().all()
    assert read.loc[read["county_code"] == "640521", "extra_note"].tolist() == ["x0", "x1"]
