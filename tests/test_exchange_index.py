"""The exchange tables' one slice index covers every query of slices: they read the index, not the
rows; a slice read from the table comes back in table order, even when its rows do not share one
load; a table created before the index gains it on the next load, and loses the (county_code, period)
index it made redundant."""

from __future__ import annotations

import sqlalchemy as sa

from assets.aggregation.incremental import exchange_slices, exchange_slices_query
from assets.exchange.load import load_exchange_slice
from assets.exchange.stamps import slice_stamps, slice_stamps_query
from assets.governance.slices import read_exchange_slice
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table
from tests.helpers import slice_frame

COLUMNS = ("county_code", "period", "file_checksum", "batch_id", "ingested_at")


def _indexes(engine, name: str) -> set[tuple[str, ...]]:
    return {tuple(i["column_names"]) for i in sa.inspect(engine).get_indexes(name)}


def test_a_table_made_before_the_covering_index_gains_it_and_keeps_its_rows(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    old = sa.Table(
        f"exchange_{entry.dataset_id}",
        sa.MetaData(),
        *[c.copy() for c in exchange_table(entry).columns],
        sa.Index(f"ix_exchange_{entry.dataset_id}_slice", "county_code", "period"),
    )
    old.create(engine)
    load_exchange_slice(
        engine,
        entry,
        slice_frame(entry, "640502", "2026-10", 3),
        county_code="640502",
        period="2026-10",
    )
    assert _indexes(engine, old.name) == {COLUMNS}  # the old prefix index is gone
    load_exchange_slice(
        engine,
        entry,
        slice_frame(entry, "640521", "2026-10", 2, marker="b"),
        county_code="640521",
        period="2026-10",
    )
    assert _indexes(engine, old.name) == {COLUMNS}  # added once
    assert {k: s.rows for k, s in exchange_slices(engine, entry).items()} == {
        ("640502", "2026-10"): 3,
        ("640521", "2026-10"): 2,
    }


def test_slice_queries_read_the_covering_index_on_sqlite(tmp_path, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    for county, n in (("640502", 40), ("640521", 3)):
        frame = slice_frame(entry, county, "2026-10", n)
        frame = frame.sample(frac=1, random_state=3).reset_index(drop=True)  # not source order
        # the last rows carry another batch, one that sorts first: not the index's order
        frame.loc[frame.index[-10:], "batch_id"] = "a" * 36
        load_exchange_slice(engine, entry, frame, county_code=county, period="2026-10")
    table = exchange_table(entry)
    assert _indexes(engine, table.name) == {COLUMNS}
    queries = {
        "exchange_slices": exchange_slices_query(table),
        "slice_stamps": slice_stamps_query(table),
    }
    with engine.connect() as connection:
        for name, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(r[-1]) for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            )
            assert "COVERING INDEX" in plan, (name, plan)
    # a slice read from the table: its rows in table order
    frame = read_exchange_slice(engine, entry, "640502", "2026-10")
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(table.c.source_row)
            .where(table.c.county_code == "640502")
            .order_by(sa.literal_column("rowid"))
        ).scalars()
        order = frame["source_row"].tolist()
        assert order == list(stored) and len(order) == 40 and order != sorted(order)
    # the functions themselves answer from it
    assert len(slice_stamps(engine, entry)) == 2
    assert sum(s.rows for s in exchange_slices(engine, entry).values()) == 43
