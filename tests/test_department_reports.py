"""Department reports per county office (issue 12): a clerk sees only their county's tickets, in
Chinese folders, with the source file, dates as Excel dates, readable widths, a guide in words,
neutralized cells, and a report even when there is nothing to do."""

from __future__ import annotations

from datetime import UTC, date, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from assets.common.workdays import DuePolicy
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import ingest_files
from assets.tickets import intake
from assets.tickets.reports import (
    COLUMNS,
    NO_TICKETS,
    column_width,
    write_department_reports,
)
from assets.tickets.rules import Finding

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    ensure_platform_schema(url)
    engine = get_engine(url)
    for county, expectation, name in (
        ("640521", "公民身份号码符合 GB 11643", "2026-10.xlsx"),
        ("640522", '=HYPERLINK("http://x","点我")', "2026-10.xls"),
    ):
        intake.sync_findings(
            engine,
            dataset_id="household_registration",
            county_code=county,
            department_id="public_security",
            period="2026-10",
            findings=[
                Finding(
                    rule_id="household_registration.format.id_number",
                    expectation=expectation,
                    columns=("id_number",),
                    dimension="规范性",
                    severity="高",
                    failed_count=3,
                    total=40,
                    examples=({"source_row": 7, "value": "-6405**********0018"},),
                    fix="请对照原始档案核对后更正。",
                )
            ],
            passed_rule_ids=(),
            checked_at=T0,
            due_policy=DuePolicy(),
        )
        with engine.begin() as connection:
            connection.execute(
                ingest_files.insert().values(
                    batch_id="b" * 36,
                    relative_path=f"landing/{county}/household_registration/{name}",
                    dataset_id="household_registration",
                    county_code=county,
                    period="2026-10",
                    department_id="public_security",
                    status="loaded",
                    ingested_at=T0,
                )
            )
    return engine


def _write(engine, tmp_path, city, catalog):
    return write_department_reports(
        engine, tmp_path / "reports", city, catalog, today=date(2026, 11, 3), now=T0
    )


def test_one_report_per_county_office_in_chinese_folders(engine, tmp_path, city, catalog):
    reports = _write(engine, tmp_path, city, catalog)
    assert len(reports) == len(city.counties) * len(city.departments)
    folders = {
        r.xlsx.parent.relative_to(tmp_path / "reports" / "tickets").as_posix() for r in reports
    }
    health = city.department("health").name_in(city.county("640521")).removeprefix("中宁县")
    assert "中宁县/公安局" in folders and f"中宁县/{health}" in folders
    assert not any("public_security" in f or "6405" in f for f in folders)


def test_a_countys_report_holds_no_other_countys_ticket(engine, tmp_path, city, catalog):
    reports = {(r.county_code, r.department_id): r for r in _write(engine, tmp_path, city, catalog)}
    zhongning = reports[("640521", "public_security")]
    haiyuan = reports[("640522", "public_security")]
    ids = [
        row[0]
        for row in openpyxl.load_workbook(zhongning.xlsx)["未关闭工单"].iter_rows(
            min_row=3, values_only=True
        )
    ]
    assert ids == ["QT-640521-000001"]
    for path in (zhongning.xlsx, zhongning.html):
        text = path.read_bytes().decode("utf-8", "ignore") if path.suffix == ".html" else ""
        assert "QT-640522" not in text and "海原县" not in text
    workbook_text = " ".join(
        str(v)
        for sheet in openpyxl.load_workbook(zhongning.xlsx).worksheets
        for row in sheet.iter_rows(values_only=True)
        for v in row
        if v is not None
    )
    assert "QT-640522" not in workbook_text and "海原县" not in workbook_text
    assert "QT-640522-000001" in haiyuan.html.read_text(encoding="utf-8")


def test_cells_are_typed_wide_enough_and_neutralized(engine, tmp_path, city, catalog):
    reports = {(r.county_code, r.department_id): r for r in _write(engine, tmp_path, city, catalog)}
    book = openpyxl.load_workbook(reports[("640522", "public_security")].xlsx)
    sheet = book["未关闭工单"]
    header = [c.value for c in sheet[2]]
    row = {name: cell for name, cell in zip(header, sheet[3], strict=True)}
    assert row["整改期限"].is_date and isinstance(row["整改期限"].value, datetime)
    assert row["首次发现"].is_date and row["首次发现"].value == datetime(2026, 11, 2, 10, 0)
    assert row["不符合条数"].data_type == "n" and row["不符合条数"].value == 3
    assert row["不符合比例"].data_type == "n" and row["不符合比例"].number_format == "0.0%"
    assert row["来源文件"].value == "2026-10.xls"
    # a problem text that looks like a formula is text, shown as written
    assert row["问题"].data_type == "s" and row["问题"].value.startswith("'=HYPERLINK")
    for table in (sheet, book["问题示例"]):
        for r in table.iter_rows():
            for cell in r:
                assert cell.data_type != "f"
    examples = list(book["问题示例"].iter_rows(min_row=3, values_only=True))
    assert examples == [("QT-640522-000001", 7, "'-6405**********0018")]
    # widths: every header fits on one line; long texts wrap in wide columns only
    widths = {  # xlsxwriter writes equal neighbours as one range
        index: dimension.width
        for dimension in sheet.column_dimensions.values()
        for index in range(dimension.min, dimension.max + 1)
    }
    for index, column in enumerate(COLUMNS, start=1):
        width = widths[index]
        assert width >= 2 * len(column.name) + 2, column.name
        assert abs(width - column_width(column)) < 1
        assert bool(row[column.name].alignment.wrap_text) == (column.kind == "wrap"), column.name
        if column.kind == "wrap":
            assert width >= 18


def test_an_office_without_tickets_gets_a_report_saying_so(engine, tmp_path, city, catalog):
    reports = {(r.county_code, r.department_id): r for r in _write(engine, tmp_path, city, catalog)}
    health = reports[("640521", "health")]
    assert health.tickets == 0
    book = openpyxl.load_workbook(health.xlsx)
    assert book["未关闭工单"]["A3"].value == NO_TICKETS
    office = city.department("health").name_in(city.county("640521"))  # 中宁县卫生健康局
    assert health.office == office and book["未关闭工单"]["A1"].value.startswith(office)
    assert NO_TICKETS in health.html.read_text(encoding="utf-8")


def test_the_guide_is_in_words_for_a_clerk(engine, tmp_path, city, catalog):
    report = _write(engine, tmp_path, city, catalog)[0]
    guide = " ".join(
        str(v) for (v,) in openpyxl.load_workbook(report.xlsx)["说明"].iter_rows(values_only=True)
    )
    page = report.html.read_text(encoding="utf-8")
    for text in (guide, page):
        assert "重新报送" in text and "门户" in text and "确认收到" in text
        assert "publicdata" not in text and "--" not in text


def test_reports_can_be_limited_and_refuse_unknown_names(engine, tmp_path, city, catalog):
    only = write_department_reports(
        engine, tmp_path / "r", city, catalog, department_id="health", county_code="640502"
    )
    assert [(r.county_code, r.department_id) for r in only] == [("640502", "health")]
    with pytest.raises(ValueError, match="未知的县"):
        write_department_reports(engine, tmp_path / "r", city, catalog, county_code="999999")
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(ingest_files)).scalar() == 2
        )
