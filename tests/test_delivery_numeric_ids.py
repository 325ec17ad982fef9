"""Identifier columns Excel turned into numbers (issue 12): an ID number that lost digits rejects its
row with “Excel 数值化导致精度丢失” and a 规范性 ticket asks for the column as text; a number still
exact (a phone as 13812345678.0) is restored; `publicdata classify` names such a column by its
header's meaning. Files written at test time as GB18030 CSV, xlsx and xls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from assets.aggregation.ingest import ingest_landing_file, record_ingest
from assets.aggregation.tickets import EXCEL_NUMERIC_RULE, delivery_tickets
from assets.common.catalog import CatalogEntry
from assets.common.quality import Dimension
from assets.landing.excel_numbers import EXCEL_NUMERIC_REASON, numeric_shaped, repair
from assets.landing.paths import parse_landing_path
from assets.landing.rejections import EXCEL_NUMERIC
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import store
from orchestration.cli import main
from tests.delivery_files import FORMATS, write_delivery
from tests.reader_files import header_of, person, read


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


@pytest.mark.parametrize(
    ("text", "expected", "damaged"),
    [
        ("13812345678.0", "13812345678", False),  # a float that kept every digit
        ("1.3812345678E+10", "13812345678", False),
        ("1.38123E+10", "1.38123E+10", True),  # Excel's General display: digits gone
        ("6.40521E+17", "6.40521E+17", True),
        ("1.2345678901234568e+17", "1.2345678901234568e+17", True),  # Python's float text
        ("123456789012345680", "123456789012345680", True),  # …as an integer
        ("640521199001011200.0", "640521199001011200.0", True),
        ("13812345678", "13812345678", False),
        ("640521199001011237", "640521199001011237", False),  # not a double's shape
        ("64052119900101123X", "64052119900101123X", False),
    ],
)
def test_repair(text: str, expected: str, damaged: bool) -> None:
    assert repair(text, id_number=True) == (expected, damaged)


def test_numeric_shaped_judges_18_digits_as_repair_does() -> None:
    """The classifier's screen looks at an 18-digit value's shape only when its check digit is
    wrong: a valid ID number is never float-shaped, a wrong one of a double's shape is."""
    from tests.reader_files import person

    valid = [person(seq)["id_number"] for seq in range(1, 40)]
    wrong = [v[:17] + ("0" if v[17] != "0" else "1") for v in valid]
    shaped = [str(int(float(v[:17] + "1"))) for v in valid]  # through a double
    values = [*valid, *wrong, *shaped, "123456789012345680", "640521199001011237", "1.38123E+10"]
    expected = [repair(v, id_number=True)[1] for v in values]
    expected[-1] = True  # scientific notation: shaped (repair says damaged as well)
    got = numeric_shaped(pd.Series(values, dtype="string")).tolist()
    assert got == expected
    assert not any(got[: len(valid)]) and any(got[2 * len(valid) :])


def _numeric_rows(entry: CatalogEntry, fmt: str) -> tuple[list[list], list[str]]:
    """Five people; rows 3 and 5 have their ID as a number (lost digits), every phone is a float."""
    columns = list(entry.columns)
    people = [person(seq) for seq in (1, 2, 3, 4, 6)]
    rows: list[list] = [header_of(entry, columns)]
    for index, p in enumerate(people):
        values: dict = dict(p)
        values["phone"] = float(p["phone"]) if fmt != "csv" else f"{p['phone']}.0"
        if index in (1, 3):
            as_float = float(p["id_number"][:17] + "1")
            values["id_number"] = as_float if fmt != "csv" else repr(as_float)
        rows.append([values[c] for c in columns])
    return rows, [p["phone"] for p in people]


@pytest.mark.parametrize("fmt", FORMATS)
def test_ids_that_lost_digits_reject_their_rows(
    tmp_path: Path, entry: CatalogEntry, fmt: str
) -> None:
    rows, phones = _numeric_rows(entry, fmt)
    result = read(write_delivery(tmp_path / f"2026-10.{fmt}", rows), entry)
    assert result.rows_read == 5 == len(result.frame) + len(result.rejections)
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [
        (3, EXCEL_NUMERIC),
        (5, EXCEL_NUMERIC),
    ]
    reason = result.rejections[0].reason
    assert reason.startswith(EXCEL_NUMERIC_REASON) and "公民身份号码" in reason and "文本" in reason
    assert "联系电话" not in reason  # the phones were exact
    assert result.frame["phone"].tolist() == [phones[i] for i in (0, 2, 4)]  # restored
    assert all(len(v) == 18 for v in result.frame["id_number"])


def test_a_damaged_delivery_opens_a_conformity_ticket_and_a_clean_one_closes_it(
    tmp_path: Path, db_url: str, entry: CatalogEntry, city, catalog
) -> None:
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    folder = tmp_path / "landing" / "640521" / entry.dataset_id

    def deliver(rows: list[list], at: datetime) -> dict[str, list[str]]:
        path = write_delivery(folder / "2026-10.xls", rows)
        landing = parse_landing_path(tmp_path, path, catalog, city.county_codes)
        outcome = ingest_landing_file(
            landing,
            entry,
            department_id=entry.provider,
            staging_dir=tmp_path / "aggregation",
            batch_id=at.isoformat()[:36],
            ingested_at=at,
            shrink_ratio=None,
        )
        record_ingest(engine, outcome)
        assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected
        return delivery_tickets(engine, outcome, entry=entry)

    rows, _ = _numeric_rows(entry, "xls")
    opened = deliver(rows, datetime(2026, 11, 3, 2, tzinfo=UTC))["tickets_opened"]
    [ticket] = [store.get_ticket(engine, t) for t in opened]
    assert ticket.rule_id == EXCEL_NUMERIC_RULE and ticket.dimension is Dimension.CONFORMITY
    assert ticket.county_code == "640521" and ticket.department_id == entry.provider
    assert ticket.columns == ("id_number",) and ticket.failed_count == 2
    assert "文本" in ticket.fix and "重新报送" in ticket.fix and "publicdata" not in ticket.fix
    assert all(str(e["value"]).startswith("（") for e in ticket.examples)  # no digits shown

    clean = [header_of(entry, entry.columns)] + [list(person(s).values()) for s in (1, 2, 3)]
    closed = deliver(clean, datetime(2026, 11, 4, 2, tzinfo=UTC))["tickets_closed"]
    assert ticket.id in closed
    assert not store.get_ticket(engine, ticket.id).is_open


@pytest.mark.parametrize("fmt", FORMATS)
def test_classify_names_a_numeric_id_column(tmp_path: Path, fmt: str) -> None:
    ids = [p["id_number"] for p in map(person, range(1, 60)) if not p["id_number"].endswith("X")]
    cells = [float(i) for i in ids] if fmt != "csv" else [str(int(float(i))) for i in ids]
    names = [f"王{'伟芳娜秀英'[i % 5]}{'明华'[i % 2]}" for i in range(len(ids))]
    rows = [["姓名", "身份证号"], *([n, v] for n, v in zip(names, cells, strict=True))]
    path = write_delivery(tmp_path / f"客户.{fmt}", rows)
    result = CliRunner().invoke(main, ["classify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    columns = {c["column"]: c for c in json.loads(result.stdout)}
    assert columns["身份证号"]["pii_type"] == "cn_id_number"
    assert columns["身份证号"]["level"] == "L4"
    assert "Excel 数值化" in columns["身份证号"]["evidence"]
    assert not any(i[:12] in result.stdout for i in ids)
