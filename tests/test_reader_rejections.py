"""Whole files the landing reader refuses, each with a reason a department can act on; read_table."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import openpyxl
import pytest

from assets.common.catalog import CatalogEntry
from assets.landing.reader import read_table
from assets.landing.rejections import (
    CORRUPT,
    DUPLICATE_COLUMN,
    EMPTY_FILE,
    ENCODING,
    FIELD_COUNT,
    HEADER,
    MISSING_COLUMN,
    TRUNCATED,
    FileRejected,
)
from tests.reader_files import (
    csv_bytes,
    header_of,
    household_csv,
    person,
    read,
    rejected,
    xlsx_bytes,
)


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


# ---- whole-file rejections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("2025-01.csv", b""),
        ("2025-01.csv", codecs.BOM_UTF8 + b" \r\n\r\n\t"),
        ("2025-01.csv", codecs.BOM_UTF16_LE + "\r\n \r\n".encode("utf-16-le")),
        ("2025-01.xlsx", b""),
    ],
)
def test_empty_file(tmp_path: Path, entry: CatalogEntry, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert rejected(path, entry).reason_code == EMPTY_FILE


def test_xlsx_with_empty_first_sheet_is_empty(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.xlsx"
    workbook = openpyxl.Workbook()
    workbook.create_sheet("第二页").append(header_of(entry, entry.columns))
    workbook.save(path)
    assert rejected(path, entry).reason_code == EMPTY_FILE


def test_encoding_neither_utf8_nor_gb18030(tmp_path: Path, entry: CatalogEntry) -> None:
    good = household_csv(entry, 2)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(b"\x80\x80\xff" + good)  # bytes no UTF-8 or GB18030 text starts with
    exc = rejected(path, entry)
    assert exc.reason_code == ENCODING and "UTF-8" in exc.reason and "GB18030" in exc.reason


def test_encoding_bad_bytes_inside_a_utf8_file(tmp_path: Path, entry: CatalogEntry) -> None:
    lines = household_csv(entry, 5).split(b"\r\n")
    lines[3] = lines[3].replace("宁安镇".encode(), "宁安镇".encode("gbk"))  # a GBK line in UTF-8
    path = tmp_path / "2025-01.csv"
    path.write_bytes(b"\r\n".join(lines))
    exc = rejected(path, entry)
    assert exc.reason_code == ENCODING
    assert "UTF-8" in exc.reason and "第 4 行" in exc.reason


def test_encoding_bad_bytes_after_a_utf8_bom(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.csv"
    path.write_bytes(codecs.BOM_UTF8 + household_csv(entry, 2, "gb18030"))
    assert rejected(path, entry).reason_code == ENCODING


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_truncated_inside_a_multibyte_character(
    tmp_path: Path, entry: CatalogEntry, encoding: str
) -> None:
    first_bytes = {  # the start of a character whose remaining bytes never arrived
        "utf-8": "宁".encode()[:2],
        "utf-8-sig": "宁".encode()[:1],
        "gb18030": "宁".encode("gb18030")[:1],
        "utf-16": "宁".encode("utf-16-le")[:1],
    }
    data = household_csv(entry, 3, encoding) + first_bytes[encoding]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data)
    assert rejected(path, entry).reason_code == TRUNCATED


def test_truncated_last_record_without_newline(tmp_path: Path, entry: CatalogEntry) -> None:
    data = household_csv(entry, 3)
    cut = data[: data.rindex(b",", 0, len(data) - 40)]  # inside the last record, at a separator
    path = tmp_path / "2025-01.csv"
    path.write_bytes(cut)
    exc = rejected(path, entry)
    assert exc.reason_code == TRUNCATED and "第 4 行" in exc.reason


def test_short_last_record_with_newline_is_only_a_row_rejection(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    data = household_csv(entry, 3)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data[: data.rindex(b",", 0, len(data) - 40)] + b"\r\n")
    result = read(path, entry)
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [(4, FIELD_COUNT)]


def test_truncated_xlsx(tmp_path: Path, entry: CatalogEntry) -> None:
    data = xlsx_bytes(entry, tmp_path)
    path = tmp_path / "2025-01.xlsx"
    path.write_bytes(data[: len(data) * 2 // 3])
    assert rejected(path, entry).reason_code == TRUNCATED


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("2025-01.xlsx", lambda good, csv: bytes(random.Random(1).randbytes(4096))),
        ("2025-01.xlsx", lambda good, csv: csv),  # CSV text under an .xlsx name
        ("2025-01.xlsx", lambda good, csv: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        ("2025-01.xlsx", lambda good, csv: good[:30] + bytes(len(good) - 60) + good[-30:]),
        ("2025-01.csv", lambda good, csv: good),  # a workbook under a .csv name
        ("2025-01.csv", lambda good, csv: bytes(random.Random(2).randbytes(4096))),
    ],
)
def test_corrupt(tmp_path: Path, entry: CatalogEntry, name: str, make) -> None:
    data = make(xlsx_bytes(entry, tmp_path), household_csv(entry))
    path = tmp_path / name
    path.write_bytes(data)
    assert rejected(path, entry).reason_code == CORRUPT


def test_header_of_another_dataset(
    tmp_path: Path, entry: CatalogEntry, catalog: dict[str, CatalogEntry]
) -> None:
    other = catalog["market_entities"]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes([[item.name for item in other.items], ["x"] * len(other.items)]))
    exc = rejected(path, entry)
    assert exc.reason_code == HEADER
    assert entry.title in exc.reason and "其他数据集" in exc.reason and "编码" in exc.reason


def test_header_missing_so_first_row_is_data(tmp_path: Path, entry: CatalogEntry) -> None:
    p = person(1)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes([list(p.values())]))
    exc = rejected(path, entry)
    assert exc.reason_code == HEADER
    assert p["id_number"] not in exc.reason and p["name"] not in exc.reason


def test_no_header_among_the_first_rows(tmp_path: Path, entry: CatalogEntry) -> None:
    rows = [["中宁县户籍人口信息表"], [], ["甲", "乙"], ["1", "2"]]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes(rows, "gb18030"))
    exc = rejected(path, entry)
    assert exc.reason_code == HEADER and "前 4 行中没有" in exc.reason


def test_missing_required_columns_are_named(tmp_path: Path, entry: CatalogEntry) -> None:
    columns = [c for c in entry.columns if c not in ("id_number", "birth_date")]
    header = [*header_of(entry, columns), "身份证号"]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(
        csv_bytes([header, [person(1)[c] for c in columns] + [person(1)["id_number"]]])
    )
    exc = rejected(path, entry)
    assert exc.reason_code == MISSING_COLUMN
    assert "公民身份号码" in exc.reason and "出生日期" in exc.reason and "身份证号" in exc.reason
    assert "联系电话" not in exc.reason.split("（")[0]
    assert person(1)["id_number"] not in exc.reason


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_duplicate_column(tmp_path: Path, entry: CatalogEntry, suffix: str) -> None:
    header = [*header_of(entry, entry.columns), "姓名"]
    row = [*person(1).values(), "另一个"]
    path = tmp_path / f"2025-01.{suffix}"
    if suffix == "csv":
        path.write_bytes(csv_bytes([header, row]))
    else:
        workbook = openpyxl.Workbook()
        workbook.active.append(header)
        workbook.active.append(row)
        workbook.save(path)
    exc = rejected(path, entry)
    assert (
        exc.reason_code == DUPLICATE_COLUMN and "姓名" in exc.reason and "另一个" not in exc.reason
    )


# ---- read_table -------------------------------------------------------------------------------------


def test_read_table_csv_and_its_refusals(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(
        csv_bytes(
            [["编号", "名称", ""], ["001", "中宁县", ""], ["", "", ""], ["NA", "", "x"]], "gb18030"
        )
    )
    frame, encoding = read_table(path)
    assert encoding == "gb18030"
    assert list(frame.columns) == ["编号", "名称", "column_3"]
    assert frame.values.tolist() == [["001", "中宁县", None], ["NA", None, "x"]]

    path.write_bytes(csv_bytes([["a", "b"], ["1", "2", "3"]]))
    with pytest.raises(FileRejected) as info:
        read_table(path)
    assert info.value.reason_code == FIELD_COUNT

    path.write_bytes(csv_bytes([["a", "a"], ["1", "2"]]))
    with pytest.raises(FileRejected) as info:
        read_table(path)
    assert info.value.reason_code == DUPLICATE_COLUMN
