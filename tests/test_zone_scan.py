"""The leak check's scan of a published table in the zone (``zone_scan.scan_published``) reads only
text values of at least ``MIN_SCANNED_BYTES`` UTF-8 bytes, and finds exactly what scanning the whole
table in memory finds — on SQLite and on PostgreSQL, for identifiers written in full-width or circled
digits, at the byte threshold, in a non-text column, and in a column of credit codes whose share
counts the short values the zone never hands over."""

from __future__ import annotations

import random
import sys
import unicodedata

import pandas as pd
import sqlalchemy as sa

from assets.operation import zone_scan
from assets.operation.guards import MIN_IDENTIFIER_DIGITS, scan_for_leaks
from assets.operation.writer import read_published
from assets.operation.zone_scan import (
    MIN_SCANNED_BYTES,
    byte_length,
    counted_column,
    scan_published,
)
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name
from tests.pii_samples import make_id, make_phone, uscc_check_char
from tests.test_operation_guard_prefilter import _values

DATASET = "scan_probe"
ASCII_DIGITS = frozenset("0123456789")


def test_no_character_normalizes_to_more_ascii_digits_than_its_utf8_bytes():
    # the ground of the byte filter, on every code point of the running Python's Unicode
    worst = 0.0
    for code in range(0x80, sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        character = chr(code)
        digits = sum(c in ASCII_DIGITS for c in unicodedata.normalize("NFKC", character))
        if digits:
            worst = max(worst, digits / len(character.encode("utf-8")))
    assert 0 < worst <= 1
    assert MIN_SCANNED_BYTES <= MIN_IDENTIFIER_DIGITS


def _digit_codes(rng: random.Random, n: int) -> list[str]:
    """All-digit credit codes that, alone among short values, the scan counts as bank cards."""
    codes: list[str] = []
    while len(codes) < n:
        first = "51640500" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        code = first + uscc_check_char(first)
        if code.isdigit() and scan_for_leaks(pd.DataFrame({"c": [code, "短", "短"]})):
            codes.append(code)
    return codes


def _write(url: str, columns: dict[str, list]) -> sa.Engine:
    engine = get_engine(url)
    rows = max(len(v) for v in columns.values())
    frame = pd.DataFrame({k: v + [None] * (rows - len(v)) for k, v in columns.items()})
    types = {k: sa.BigInteger if k == "number" else sa.Text for k in columns}
    frame.to_sql(operation_table_name(DATASET), engine, index=False, dtype=types)
    return engine


def test_the_zone_scan_finds_what_the_whole_table_scan_finds(db_url):
    rng = random.Random(8)
    phone, id_number = make_phone(rng), make_id(rng)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in phone)  # 33 bytes, 11 digits once NFKC
    circled = {str(d): chr(0x2460 + d - 1) for d in range(1, 10)} | {"0": "\u24ea"}
    short = ["短", "12", "abc", "１２３", "⑩⑪", "⅒⅒⅒", "1234567890", "", "  "]
    mixed = [*_values(1_500, seed=4), *short * 40, phone, fullwidth]
    mixed += ["".join(circled[c] for c in id_number), f"电话{phone}", phone[:10]]
    codes = _digit_codes(rng, 3)
    engine = _write(
        db_url,
        {
            "mixed": mixed,
            "codes": codes + ["短"] * 30 + ["ok"] * 10,  # 3 of 43: the codes count as cards
            "number": [int(phone), 42, 7],  # not text: read whole
            "empty": [],
        },
    )
    whole = read_published(engine, DATASET, strings="arrow")
    expected = scan_for_leaks(whole)
    assert expected["codes"] == {"bank_card": 3}
    assert expected["number"] == {"cn_mobile_phone": 1}
    assert expected["mixed"]["cn_mobile_phone"] >= 3 and expected["mixed"]["cn_id_number"] >= 1
    scan = scan_published(engine, DATASET)
    assert scan is not None
    assert scan.found == expected
    assert (scan.rows, scan.columns) == whole.shape

    table = sa.Table(operation_table_name(DATASET), sa.MetaData(), autoload_with=engine)
    length = byte_length(engine)
    assert length is not None  # both zones say a text's UTF-8 bytes
    text = counted_column(engine, table.c.mixed, int(whole["mixed"].notna().sum()), length)
    read = set(text.values)
    assert read.isdisjoint(short) and phone[:10] not in read  # under 11 bytes: never read
    assert {phone, fullwidth} <= read  # 11 bytes and more: read
    assert text.total == int(whole["mixed"].notna().sum()) > int(text.occurrences.sum())
    number = counted_column(engine, table.c.number, 3, length)  # not text: read whole
    assert sorted(int(v) for v in number.values) == sorted([int(phone), 42, 7])


def test_a_dataset_never_published_has_no_scan(tmp_path):
    assert scan_published(get_engine(f"sqlite:///{tmp_path / 'zone.sqlite'}"), DATASET) is None


def test_a_column_counted_by_arrow_counts_as_group_by(db_url, monkeypatch):
    """A mostly distinct text column is read as it is and counted by Arrow: the same values with the
    same counts as SQLite's or PostgreSQL's ``GROUP BY``, and the same findings."""
    rng = random.Random(9)
    phones = [make_phone(rng) for _ in range(300)]
    repeated = [f"住址{i % 7}号楼{i % 3}单元" for i in range(600)]  # few distinct values
    engine = _write(db_url, {"phones": phones + phones[:50] + [None] * 5, "repeated": repeated})
    table = sa.Table(operation_table_name(DATASET), sa.MetaData(), autoload_with=engine)
    length = byte_length(engine)
    assert zone_scan._mostly_distinct(engine, table.c.phones)
    assert not zone_scan._mostly_distinct(engine, table.c.repeated)

    def counted(share: float) -> dict[str, dict[str, int]]:
        monkeypatch.setattr(zone_scan, "MOSTLY_DISTINCT", share)
        out = {}
        for column in (table.c.phones, table.c.repeated):
            read = counted_column(engine, column, 0, length)
            occurrences = dict(zip(read.values, read.occurrences.tolist(), strict=True))
            assert len(occurrences) == len(read.values)
            out[column.name] = occurrences
        return out

    by_arrow, by_group = counted(0.0), counted(2.0)
    assert by_arrow == by_group
    assert by_arrow["phones"] == {p: 2 if i < 50 else 1 for i, p in enumerate(phones)}
    assert len(by_arrow["repeated"]) == 21
    monkeypatch.setattr(zone_scan, "MOSTLY_DISTINCT", 0.0)
    found = scan_published(engine, DATASET)
    monkeypatch.setattr(zone_scan, "MOSTLY_DISTINCT", 2.0)
    assert found == scan_published(engine, DATASET)
    assert found is not None and found.found == {"phones": {"cn_mobile_phone": 350}}


def test_a_column_too_short_to_hold_an_identifier_is_read_only_by_the_counting_pass(db_url):
    """The counting statement takes each text column's longest value in bytes; a column whose longest
    is under ``MIN_SCANNED_BYTES`` is never read again, and the findings stay those of the whole
    table (one value a byte longer is read, and found)."""
    rng = random.Random(10)
    phone = make_phone(rng)
    short = ["短码", "1234567", "男", None, "１２"]  # at most 7 bytes: "短码" 6, "１２" 6
    engine = _write(
        db_url,
        {"short": short * 20, "edge": ["1234567"] * 99 + [phone], "phones": [phone] * 100},
    )
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        scan = scan_published(engine, DATASET)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert scan is not None
    expected = scan_for_leaks(read_published(engine, DATASET, strings="arrow"))
    assert (
        scan.found
        == expected
        == {"edge": {"cn_mobile_phone": 1}, "phones": {"cn_mobile_phone": 100}}
    )
    reading = [s for s in statements if "count(" not in s.lower() or "group by" in s.lower()]
    assert not [s for s in reading if "short" in s]  # read by the counting pass alone
    assert [s for s in reading if "edge" in s] and [s for s in reading if "phones" in s]
