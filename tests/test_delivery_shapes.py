"""Deliveries as departments really make them (issue 12): title rows above the header, 合计 rows,
.xls workbooks and extra columns — each file written at test time (GB18030 CSV, xlsx, xls) and
every row reconciled: rows read = loaded + rejected + skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import xlwt

from assets.aggregation.ingest import ingest_landing_file, record_ingest
from assets.aggregation.summary import file_records, ingest_records
from assets.common.catalog import CatalogEntry
from assets.landing.limits import ReadLimits
from assets.landing.paths import parse_landing_path
from assets.landing.rejections import (
    CORRUPT,
    FIELD_COUNT,
    TITLE_ROW,
    TOO_LARGE,
    TOTAL_ROW,
    FileRejected,
)
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import ingest_files, ingest_rejections
from tests.delivery_files import FORMATS, write_delivery
from tests.reader_files import header_of, person, read

TITLE = "2026年10月海原县户籍人口信息"


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


def _people(n: int) -> list[list[str]]:
    return [list(person(i).values()) for i in range(1, n + 1)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_title_rows_above_the_header_are_skipped(
    tmp_path: Path, entry: CatalogEntry, fmt: str
) -> None:
    rows = [[TITLE], ["制表单位：海原县公安局"], [], header_of(entry, entry.columns), *_people(4)]
    result = read(write_delivery(tmp_path / f"2026-10.{fmt}", rows), entry)
    assert result.rows_read == 3 + 4
    assert len(result.frame) == 4 and not result.rejections
    assert [(r.source_row, r.reason_code) for r in result.skipped] == [
        (1, TITLE_ROW),
        (2, TITLE_ROW),
        (3, TITLE_ROW),
    ]
    assert "第 4 行" in result.skipped[0].reason and "标题行" in result.skipped[0].reason
    assert "空行" in result.skipped[2].reason
    assert result.frame["source_row"].tolist() == [5, 6, 7, 8]
    assert result.frame["id_number"].tolist() == [person(i)["id_number"] for i in range(1, 5)]
    assert TITLE not in " ".join(r.reason for r in result.skipped)  # reasons quote no cell


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("label", ["合计", "总  计：", "小计", "全县合计"])
def test_total_rows_are_skipped_not_rejected(
    tmp_path: Path, entry: CatalogEntry, fmt: str, label: str
) -> None:
    width = len(entry.columns)
    rows = [
        header_of(entry, entry.columns),
        *_people(3),
        [label, "3人"],  # a short row: in a CSV, another field count than the header's
        [label] + [""] * (width - 2) + ["3"],
    ]
    result = read(write_delivery(tmp_path / f"2026-10.{fmt}", rows), entry)
    assert result.rows_read == 5
    assert len(result.frame) == 3 and not result.rejections
    assert [(r.source_row, r.reason_code) for r in result.skipped] == [
        (5, TOTAL_ROW),
        (6, TOTAL_ROW),
    ]
    assert label not in result.frame["name"].tolist()


def test_a_total_label_inside_a_name_is_data(tmp_path: Path, entry: CatalogEntry) -> None:
    people = _people(2)
    people[1][0] = "王合计"  # a name is not a total label
    rows = [header_of(entry, entry.columns), *people, ["合计", "2"]]
    result = read(write_delivery(tmp_path / "2026-10.csv", rows), entry)
    assert result.frame["name"].tolist()[1] == "王合计"
    assert [r.reason_code for r in result.skipped] == [TOTAL_ROW]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_short_row_that_is_no_total_is_still_rejected(
    tmp_path: Path, entry: CatalogEntry, fmt: str
) -> None:
    rows = [header_of(entry, entry.columns), *_people(2), ["张三", "备注"]]
    result = read(write_delivery(tmp_path / f"2026-10.{fmt}", rows), entry)
    if fmt == "csv":
        assert [r.reason_code for r in result.rejections] == [FIELD_COUNT]
    else:  # a workbook row has the sheet's width: the row loads, the quality suite judges it
        assert len(result.frame) == 3
    assert not result.skipped


@pytest.mark.parametrize("fmt", FORMATS)
def test_extra_columns_are_reported_and_not_loaded(
    tmp_path: Path, entry: CatalogEntry, fmt: str
) -> None:
    header = ["序号", *header_of(entry, entry.columns), "备注", "录入人"]
    rows = [header] + [[str(i), *p, "无", "李四"] for i, p in enumerate(_people(3), start=1)]
    result = read(write_delivery(tmp_path / f"2026-10.{fmt}", rows), entry)
    assert result.unknown_headers == ["序号", "备注", "录入人"]
    assert len(result.frame) == 3 and not result.rejections
    assert list(result.frame.columns) == [*entry.columns, "source_row"]
    assert "李四" not in result.frame.to_numpy().ravel().tolist()


def test_xls_reads_like_xlsx(tmp_path: Path, entry: CatalogEntry) -> None:
    rows = [header_of(entry, entry.columns), *_people(5)]
    xls = read(write_delivery(tmp_path / "a" / "2026-10.xls", rows), entry)
    xlsx = read(write_delivery(tmp_path / "b" / "2026-10.xlsx", rows), entry)
    assert xls.file_format == "xls" and xlsx.file_format == "xlsx"
    assert xls.frame.equals(xlsx.frame)


def test_xls_limits_still_apply(tmp_path: Path, entry: CatalogEntry) -> None:
    path = write_delivery(tmp_path / "2026-10.xls", [header_of(entry, entry.columns), *_people(6)])
    with pytest.raises(FileRejected) as rows_info:
        from assets.landing.reader import read_landing_file

        read_landing_file(path, entry, ReadLimits(max_rows=5))
    assert rows_info.value.reason_code == TOO_LARGE
    with pytest.raises(FileRejected) as size_info:
        read_landing_file(path, entry, ReadLimits(max_bytes=1024))
    assert size_info.value.reason_code == TOO_LARGE


def test_xls_extension_on_an_xlsx_or_text_file_is_refused(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    from assets.landing.reader import read_landing_file

    rows = [header_of(entry, entry.columns), *_people(2)]
    xlsx = write_delivery(tmp_path / "2026-10.xlsx", rows)
    for data in (xlsx.read_bytes(), "姓名,公民身份号码\n".encode("gb18030")):
        path = tmp_path / "2026-11.xls"
        path.write_bytes(data)
        with pytest.raises(FileRejected) as info:
            read_landing_file(path, entry)
        assert info.value.reason_code == CORRUPT and ".xls" in info.value.reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_ingest_records_every_row_and_the_extra_columns(
    tmp_path: Path, db_url: str, entry: CatalogEntry, city, catalog, fmt: str
) -> None:
    rows = [
        [TITLE],
        ["序号", *header_of(entry, entry.columns), "备注"],
        *[[str(i), *p, ""] for i, p in enumerate(_people(4), start=1)],
        ["合计", "4"],
    ]
    path = write_delivery(
        tmp_path / "landing" / "640522" / entry.dataset_id / f"2026-10.{fmt}", rows
    )
    landing = parse_landing_path(tmp_path, path, catalog, city.county_codes)
    outcome = ingest_landing_file(
        landing,
        entry,
        department_id=entry.provider,
        staging_dir=tmp_path / "aggregation",
        batch_id="d" * 36,
        ingested_at=datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert outcome.loaded
    assert (
        outcome.rows_read,
        outcome.rows_loaded,
        outcome.rows_rejected,
        outcome.rows_skipped,
    ) == (
        6,
        4,
        0,
        2,
    )
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    record_ingest(engine, outcome)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(ingest_files)).mappings().one()
        skipped = connection.execute(
            sa.select(ingest_rejections.c.source_row, ingest_rejections.c.reason_code).where(
                ingest_rejections.c.disposition == "skipped"
            )
        ).all()
    assert (
        stored["rows_read"]
        == stored["rows_loaded"] + stored["rows_rejected"] + stored["rows_skipped"]
    )
    assert stored["rows_skipped"] == 2 and stored["extra_columns"] == ["序号", "备注"]
    assert sorted(skipped) == [(1, TITLE_ROW), (7, TOTAL_ROW)]
    [summary] = file_records(ingest_records(engine, ["d" * 36]))
    assert summary["rows_skipped"] == 2 and summary["extra_columns"] == ["序号", "备注"]


def test_a_far_cell_in_an_xls_is_refused_before_reading(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    """One cell at IV65536 would make the reader build a 16.7 M-cell grid: the sheet's extent is
    read from the BIFF records first."""
    from assets.landing.reader import read_landing_file
    from assets.landing.xls_limits import check_xls

    rows: list[list] = [header_of(entry, entry.columns), *_people(2)]
    path = write_delivery(tmp_path / "2026-10.xls", rows)
    check_xls(path, ReadLimits(max_rows=5))  # 3 rows: within
    far = tmp_path / "2026-11.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    sheet.write(65535, 255, "x")
    book.save(str(far))
    with pytest.raises(FileRejected) as info:
        read_landing_file(far, entry, ReadLimits(max_rows=1000))
    assert info.value.reason_code == TOO_LARGE and "65,536 行" in info.value.reason
    truncated = tmp_path / "2026-12.xls"
    truncated.write_bytes(far.read_bytes()[:1500])
    with pytest.raises(FileRejected) as cut:
        read_landing_file(truncated, entry)
    assert cut.value.reason_code == CORRUPT
