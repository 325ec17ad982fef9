"""The operation checks measured in the zone, on SQLite and PostgreSQL: the emptied columns found
from the table's first rows and DISTINCT values are those ``emptied_columns`` finds on the whole
table read back — including a column whose only informative value comes after the first rows — and
the columnar read of the published table gives the leak scan the same findings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from assets.common.check_chars import id_check_char
from assets.operation import writer
from assets.operation.guards import emptied_columns, scan_for_leaks
from assets.operation.writer import EMPTIED_HEAD_ROWS, emptied_published_columns, read_published
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name

DATASET = "zone_checks"
ROWS = EMPTIED_HEAD_ROWS * 3
ID_NUMBER = "64050219900101011" + id_check_char("64050219900101011")


def _frame() -> pd.DataFrame:
    n = ROWS
    masks = ["***", "＊＊", " * ", "", "\u3000*\u3000"]
    return pd.DataFrame(
        {
            "county_code": ["640502" if i % 2 else "640521" for i in range(n)],
            "all_null": [None] * n,
            "stars": [masks[i % len(masks)] if i % 7 else None for i in range(n)],
            # informative only in the last row: the first rows do not settle it
            "late_name": ["***"] * (n - 1) + ["张*"],
            "name": [f"张{i % 10}*" for i in range(n)],
            "amount": [None if i % 3 else i * 1.5 for i in range(n)],
            "opened_on": [None if i % 5 else dt.date(2024, 1, 1 + i % 28) for i in range(n)],
            "open": [bool(i % 2) for i in range(n)],
            # a cleartext ID number far down a column of repeated masked values
            "note": ["联系人证件号 ***"] * (n - 2) + [f"证件号 {ID_NUMBER}", "联系人证件号 ***"],
        }
    )


_TYPES = {
    "county_code": sa.Text(),
    "all_null": sa.Text(),
    "stars": sa.Text(),
    "late_name": sa.Text(),
    "name": sa.Text(),
    "amount": sa.Float(),
    "opened_on": sa.Date(),
    "open": sa.Boolean(),
    "note": sa.Text(),
}


def _publish(engine, frame: pd.DataFrame) -> None:
    columns = [sa.Column(name, kind) for name, kind in _TYPES.items()]
    writer._replace_table(engine, operation_table_name(DATASET), frame, columns)


def test_emptied_columns_measured_in_the_zone_are_those_of_the_table(db_url):
    engine = get_engine(db_url)
    assert emptied_published_columns(engine, DATASET) is None  # nothing published
    _publish(engine, _frame())
    whole = read_published(engine, DATASET)
    assert len(whole) == ROWS
    expected = emptied_columns(whole)
    assert expected == ["all_null", "stars"]
    assert emptied_published_columns(engine, DATASET) == (expected, ROWS)


def test_an_empty_published_table_has_no_emptied_column(db_url):
    engine = get_engine(db_url)
    _publish(engine, _frame().iloc[:0])
    assert emptied_published_columns(engine, DATASET) == ([], 0)


def test_the_leak_scan_of_the_columnar_read_finds_what_the_frame_holds(db_url):
    engine = get_engine(db_url)
    frame = _frame()
    _publish(engine, frame)
    published = read_published(engine, DATASET, strings="arrow")
    assert str(published["note"].dtype) == "string"
    found = scan_for_leaks(published)
    assert found == {"note": {"cn_id_number": 1}}
    assert found == scan_for_leaks(read_published(engine, DATASET))
    with engine.connect() as connection:
        stored = pd.read_sql(
            sa.select(sa.table(operation_table_name(DATASET), sa.column("note"))), connection
        )
    assert scan_for_leaks(stored) == found
