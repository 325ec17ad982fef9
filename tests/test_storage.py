"""Slice replacement, table evolution and migrations, on SQLite and PostgreSQL.

The slice tests load a plain table of a catalog entry's columns (``exchange_table``'s shape, created
here as a table): what ``bulk`` writes for the operation platform; the exchange's own rows and loads
are ``tests/test_exchange_layout.py``'s."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assets.exchange.load import load_exchange_slice
from assets.storage import bulk
from assets.storage.bulk import replace_slice
from assets.storage.engine import get_engine
from assets.storage.exchange_layout import ensure_exchange
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import exchange_table, platform_metadata
from tests.helpers import slice_frame


def test_replace_slice_touches_only_its_partition(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    table = exchange_table(entry)
    table.create(engine)
    replace_slice(
        engine,
        table,
        slice_frame(entry, "640502", "2026-Q3", 5),
        {"county_code": "640502", "period": "2026-Q3"},
    )
    replace_slice(
        engine,
        table,
        slice_frame(entry, "640521", "2026-Q3", 7),
        {"county_code": "640521", "period": "2026-Q3"},
    )
    deleted = replace_slice(
        engine,
        table,
        slice_frame(entry, "640502", "2026-Q3", 3, marker="b"),
        {"county_code": "640502", "period": "2026-Q3"},
    )
    assert deleted == 5
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.county_code, sa.func.count())
            .group_by(table.c.county_code)
            .order_by(table.c.county_code)
        ).all()
        names = (
            connection.execute(
                sa.select(table.c.institution_name).where(table.c.county_code == "640502")
            )
            .scalars()
            .all()
        )
    assert rows == [("640502", 3), ("640521", 7)]
    assert sorted(names) == ["b0", "b1", "b2"]


def test_replace_slice_refuses_rows_of_another_partition(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    table = exchange_table(entry)
    table.create(engine)
    with pytest.raises(ValueError, match="outside the slice"):
        replace_slice(
            engine,
            table,
            slice_frame(entry, "640521", "2026-Q3", 2),
            {"county_code": "640502", "period": "2026-Q3"},
        )


def test_copy_keeps_awkward_text_exactly(db_url, catalog):
    entry = catalog["petition_records"]
    engine = get_engine(db_url)
    table = exchange_table(entry)
    table.create(engine)
    frame = slice_frame(entry, "640522", "2026-10", 6)
    awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", None]
    frame["matter"] = awkward
    replace_slice(engine, table, frame, {"county_code": "640522", "period": "2026-10"})
    with engine.connect() as connection:
        got = (
            connection.execute(sa.select(table.c.matter).order_by(table.c.source_row))
            .scalars()
            .all()
        )
    assert got == awkward


def test_ensure_exchange_adds_new_catalog_items_without_dropping(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    load_exchange_slice(
        engine,
        entry,
        slice_frame(entry, "640502", "2026-Q3", 2),
        county_code="640502",
        period="2026-Q3",
    )
    extended = entry.model_copy(
        update={
            "items": (
                *entry.items,
                entry.items[0].model_copy(update={"name": "网址", "column": "website"}),
            )
        }
    )
    ensure_exchange(engine, extended)
    columns = {c["name"] for c in sa.inspect(engine).get_columns(exchange_table(entry).name)}
    assert "website" in columns
    with engine.connect() as connection:
        assert (
            connection.execute(
                sa.text(f"SELECT count(*) FROM {exchange_table(entry).name}")
            ).scalar()
            == 2
        )


def test_migrations_match_the_declared_platform_tables(db_url):
    ensure_platform_schema(db_url)
    ensure_platform_schema(db_url)  # idempotent
    engine = get_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, platform_metadata)
    assert diff == []


def test_copy_accepts_arrow_backed_and_object_text_columns_together(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    table = exchange_table(entry)
    table.create(engine)
    frame = slice_frame(entry, "640502", "2026-Q3", 4)
    frame["institution_name"] = frame["institution_name"].astype("string[pyarrow]")
    frame.loc[1, "institution_name"] = None
    replace_slice(engine, table, frame, {"county_code": "640502", "period": "2026-Q3"})
    with engine.connect() as connection:
        names = (
            connection.execute(sa.select(table.c.institution_name).order_by(table.c.source_row))
            .scalars()
            .all()
        )
    assert names == ["a0", None, "a2", "a3"]


def test_columns_of_one_value_load_as_every_other(db_url, catalog, monkeypatch):
    """SQLite binds a column of one value as that value repeated (``bulk._constant``): the rows read
    back are the rows given, across chunks, whatever varies where."""
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 4)
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    table = exchange_table(entry)
    table.create(engine)
    frame = slice_frame(entry, "640502", "2026-Q3", 10)
    names = [item.column for item in entry.items]
    frame[names[0]] = "同一个值"  # one value everywhere, not ASCII
    frame[names[1]] = ["x"] * 9 + ["y"]  # one value but the last row's
    frame[names[2]] = ["z"] * 9 + [None]  # one value and a NULL
    frame[names[3]] = "it's; DROP TABLE x; --"  # one value, a literal in the statement: quoted
    frame[names[4]] = "长" * 1_001  # one value too long for a literal: bound
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    assert pa.types.is_timestamp(arrow.column("ingested_at").type)
    replace_slice(engine, table, arrow, {"county_code": "640502", "period": "2026-Q3"})
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                table.c.source_row, table.c.batch_id, *(table.c[n] for n in names[:5])
            ).order_by(table.c.source_row)
        ).all()
        stamps = connection.execute(sa.select(table.c.ingested_at).distinct()).scalars().all()
    assert [tuple(r) for r in rows] == [
        (
            i + 2,
            "b" * 36,
            "同一个值",
            "x" if i < 9 else "y",
            "z" if i < 9 else None,
            "it's; DROP TABLE x; --",
            "长" * 1_001,
        )
        for i in range(10)
    ]
    assert [s.replace(tzinfo=None) for s in stamps] == [datetime(2026, 1, 1)]
    assert bulk._constant(arrow.column("batch_id").combine_chunks()) == "b" * 36
    assert bulk._constant(pa.array([0.0, -0.0])) is bulk._VARIES  # equal, not the same value
    assert bulk._constant(pa.array([3, 3, None])) is bulk._VARIES
    assert bulk._literal("it's") == "'it''s'" and bulk._literal(7) == "7"
    assert bulk._literal("a\x00b") is None and bulk._literal(True) is None
