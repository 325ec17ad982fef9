"""The landing-file reader: real files in every delivered encoding and format, read against the catalog."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import random
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.common.catalog import CatalogEntry
from assets.common.identifiers import id_check_char
from assets.landing import reader
from assets.landing.reader import (
    BLANK_ROW,
    CORRUPT,
    DUPLICATE_COLUMN,
    EMPTY_FILE,
    ENCODING,
    FIELD_COUNT,
    HEADER,
    MISSING_COLUMN,
    TRUNCATED,
    FileRejected,
    LandingPath,
    LandingPathError,
    LandingRead,
    file_checksum,
    parse_landing_path,
    read_landing_file,
    read_table,
    scan_landing,
)

COUNTIES = ("640502", "640521", "640522")
# Rare name characters: 䶮 and 㛃 (CJK Ext A) and 𠀀 (Ext B) are four-byte sequences in GB18030, outside
# GBK; 堃 and 龘 are in GBK's less common range.
RARE_NAMES = ["刘䶮", "王㛃", "𠀀明", "张堃", "李龘"]


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


def synthetic_id(seq: int, birth: str = "19900101") -> str:
    first17 = f"640521{birth}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def person(seq: int, name: str | None = None) -> dict[str, str]:
    """One household row keyed by catalog column, all synthetic."""
    birth = f"19{60 + seq % 40:02d}0{1 + seq % 9}1{seq % 10}"
    return {
        "name": name or f"张{'伟芳娜秀英'[seq % 5]}",
        "id_number": synthetic_id(seq, birth),
        "gender": "男女"[seq % 2],
        "ethnicity": "汉族" if seq % 3 else "回族",
        "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
        "address": f"宁夏中卫市中宁县宁安镇{seq}号",
        "phone": f"139{seq:08d}",
        "region_code": "640521",
        "registered_on": "2020-03-15",
    }


def header_of(entry: CatalogEntry, columns: Sequence[str]) -> list[str]:
    return [entry.item(column).name for column in columns]


def csv_bytes(
    rows: Sequence[Sequence[str]],
    encoding: str = "utf-8",
    *,
    delimiter: str = ",",
    line_end: str = "\r\n",
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode(encoding)


def checked(read: LandingRead, entry: CatalogEntry) -> LandingRead:
    """The invariants every read must keep, asserted on every read in this module."""
    assert read.rows_read == len(read.frame) + len(read.rejections)
    assert list(read.frame.columns) == [*entry.columns, "source_row"]
    assert str(read.frame["source_row"].dtype) == "int64"
    loaded = read.frame["source_row"].tolist()
    rejected = [r.source_row for r in read.rejections]
    assert loaded == sorted(loaded)
    # every data row from 2 to the last is loaded or rejected, exactly once
    assert sorted(loaded + rejected) == list(range(2, read.rows_read + 2))
    for column in entry.columns:
        assert all(v is None or type(v) is str for v in read.frame[column]), column
    return read


def read(path: Path, entry: CatalogEntry) -> LandingRead:
    return checked(read_landing_file(path, entry), entry)


def rejected(path: Path, entry: CatalogEntry) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_landing_file(path, entry)
    assert info.value.reason and info.value.reason == str(info.value)
    return info.value


# ---- encodings and header mapping ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ",", "utf-8-sig"),
        ("gb18030", ",", "gb18030"),
        ("utf-16", "\t", "utf-16"),  # Excel's "Unicode text": UTF-16LE with BOM, tab-separated
        ("utf-16-be-bom", ",", "utf-16"),
    ],
)
def test_csv_encodings_and_shuffled_header(
    tmp_path: Path, entry: CatalogEntry, encoding: str, delimiter: str, expected: str
) -> None:
    columns = list(entry.columns)
    random.Random(7).shuffle(columns)
    assert columns != list(entry.columns)
    people = [person(i, name) for i, name in enumerate(RARE_NAMES)]
    rows = [header_of(entry, columns), *([p[c] for c in columns] for p in people)]
    if encoding == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + csv_bytes(rows, "utf-16-be", delimiter=delimiter)
    else:
        data = csv_bytes(rows, encoding, delimiter=delimiter)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data)

    result = read(path, entry)

    assert (result.encoding, result.file_format) == (expected, "csv")
    assert result.rows_read == len(people) and not result.rejections
    assert result.frame.drop(columns="source_row").to_dict("records") == people
    assert result.frame["source_row"].tolist() == [2, 3, 4, 5, 6]
    assert result.unknown_headers == [] and result.missing_optional == []


def test_gb18030_with_rare_characters_is_really_gb18030(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    rows = [
        header_of(entry, entry.columns),
        *([*person(i, n).values()] for i, n in enumerate(RARE_NAMES)),
    ]
    data = csv_bytes(rows, "gb18030")
    with pytest.raises(UnicodeEncodeError):
        "\n".join(RARE_NAMES).encode("gbk")  # the file really needs GB18030
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data)
    assert read(path, entry).frame["name"].tolist() == RARE_NAMES


def test_utf8_that_also_decodes_as_gb18030_is_read_as_utf8(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    row = person(1, "李明")
    # even runs of hanzi between ASCII: the UTF-8 bytes pair up as two-byte GB18030 characters
    row["gender"], row["address"] = "未知", "宁夏中卫中宁县城"
    rows = [header_of(entry, entry.columns), list(row.values())]
    data = csv_bytes(rows, "utf-8")
    assert data.decode("gb18030") != data.decode("utf-8")  # mojibake would be possible
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data)
    result = read(path, entry)
    assert result.encoding == "utf-8"
    assert result.frame.loc[0, "name"] == "李明"


def _gb_chars_valid_as_utf8() -> list[str]:
    """Hanzi whose two GB18030 bytes also form one valid UTF-8 character (lead C2–DF, trail 80–BF)."""
    found = []
    for code in range(0x4E00, 0x9FA6):
        raw = chr(code).encode("gb18030")
        if len(raw) == 2 and 0xC2 <= raw[0] <= 0xDF and 0x80 <= raw[1] <= 0xBF:
            found.append(chr(code))
    return found


def test_gb18030_that_also_decodes_as_utf8_is_read_as_gb18030(tmp_path: Path) -> None:
    chars = _gb_chars_valid_as_utf8()
    assert len(chars) >= 12
    names = ["".join(chars[i : i + 2]) for i in range(0, 6, 2)]
    value = "".join(chars[6:12])
    entry = CatalogEntry.model_validate(
        {
            "dataset_id": "mojibake_probe",
            "数据目录名称": "编码探针",
            "信息资源提供方": "public_security",
            "数据摘要": "只用于测试",
            "更新频率": "每年",
            "开放属性": "有条件开放",
            "信息项": [
                {"信息项名称": names[0], "column": "a", "required": True},
                {"信息项名称": names[1], "column": "b"},
                {"信息项名称": names[2], "column": "c"},
            ],
        }
    )
    data = csv_bytes([names, [value, "1", value]], "gb18030")
    assert data.decode("utf-8") != data.decode("gb18030")  # strictly valid both ways
    path = tmp_path / "2025.csv"
    path.write_bytes(data)

    result = read(path, entry)

    assert result.encoding == "gb18030"
    assert result.frame[["a", "b", "c"]].values.tolist() == [[value, "1", value]]


def test_unknown_columns_missing_optional_and_header_whitespace(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    columns = [c for c in entry.columns if c != "phone"]
    header = header_of(entry, columns)
    header[0] = f" {header[0]}\u3000"  # stray spaces around a header name still name the item
    rows = [
        header + ["备注", "", "经办人"],
        *([*(person(i)[c] for c in columns), "无", "", ""] for i in range(3)),
    ]
    rows[2][-2] = "写在无表头的列里"
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes(rows))

    result = read(path, entry)

    assert result.unknown_headers == ["备注", "经办人", f"第{len(columns) + 2}列（无表头）"]
    assert result.missing_optional == ["联系电话"]
    assert result.frame["phone"].tolist() == [None, None, None]
    assert result.frame["name"].tolist() == [person(i)["name"] for i in range(3)]


def test_many_extra_columns_still_load(tmp_path: Path, entry: CatalogEntry) -> None:
    extra = [f"内部字段{i}" for i in range(12)]
    rows = [[*header_of(entry, entry.columns), *extra], [*person(1).values(), *extra]]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes(rows))
    result = read(path, entry)
    assert result.unknown_headers == extra and len(result.frame) == 1


def test_empty_cells_are_none_and_whitespace_is_kept(tmp_path: Path, entry: CatalogEntry) -> None:
    row = person(1)
    row["phone"], row["address"], row["name"] = "", "  宁安镇 1号 ", '"王" 五'
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes([header_of(entry, entry.columns), list(row.values())]))
    frame = read(path, entry).frame
    assert frame.loc[0, "phone"] is None
    assert frame.loc[0, "address"] == "  宁安镇 1号 "
    assert frame.loc[0, "name"] == '"王" 五'


# ---- rows: quoting, ragged and blank rows -----------------------------------------------------------


def test_quoted_commas_newlines_ragged_and_blank_rows(tmp_path: Path, entry: CatalogEntry) -> None:
    header = header_of(entry, entry.columns)
    multi = person(2)
    multi["address"] = "中宁县，宁安镇\n新堡村, 3组"  # a comma and a line break inside quotes
    text = "\r\n".join(
        [
            ",".join(header),
            ",".join(person(1).values()),  # row 2
            csv_bytes([list(multi.values())], line_end="").decode(),  # row 3, two physical lines
            "张三,640521,男",  # row 4: 3 fields
            "",  # row 5: an empty line
            ",".join(person(6).values()) + ",多出来的",  # row 6: 10 fields
            ",,,,,,,,",  # row 7: every field empty
            ",".join(person(8).values()),  # row 8
            ",,,",  # row 9: short but empty
            ",".join(person(10).values()),  # row 10
            "",  # trailing empty lines are not data rows
            ",,,,,,,,",
            ",,",
            "",
        ]
    )
    path = tmp_path / "2025-01.csv"
    path.write_bytes(text.encode())

    result = read(path, entry)

    assert result.rows_read == 9
    assert result.frame["source_row"].tolist() == [2, 3, 8, 10]
    assert result.frame.loc[1, "address"] == multi["address"]
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [
        (4, FIELD_COUNT),
        (5, BLANK_ROW),
        (6, FIELD_COUNT),
        (7, BLANK_ROW),
        (9, BLANK_ROW),
    ]
    short, long = result.rejections[0].reason, result.rejections[2].reason
    assert "9" in short and "3" in short
    assert "9" in long and "10" in long
    assert all("640521" not in r.reason and "张三" not in r.reason for r in result.rejections)


def test_row_numbers_hold_across_parser_blocks(
    tmp_path: Path, entry: CatalogEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "_BLOCK_SIZE", 1 << 12)  # many small parse blocks
    header = header_of(entry, entry.columns)
    rows: list[list[str]] = [header]
    short_rows, multiline_rows = [], []
    for n in range(2, 3002):
        values = list(person(n).values())
        if n % 97 == 0:
            values = values[:4]
            short_rows.append(n)
        elif n % 89 == 0:
            values[5] = f"多行\n地址{n}"
            multiline_rows.append(n)
        rows.append(values)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes(rows))

    result = read(path, entry)

    assert [r.source_row for r in result.rejections] == short_rows
    frame = result.frame.set_index("source_row")
    for n in multiline_rows:
        assert frame.loc[n, "address"] == f"多行\n地址{n}"
        assert frame.loc[n, "id_number"] == person(n)["id_number"]


def test_unclosed_quote_is_a_field_count_rejection_that_says_so(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    header = ",".join(header_of(entry, entry.columns))
    values = list(person(3).values())
    values[5] = '"' + values[5]  # a quote opens the address and never closes
    bad = ",".join(values)
    lines = [header, ",".join(person(2).values()), bad, ",".join(person(4).values()), ""]
    path = tmp_path / "2025-01.csv"
    path.write_bytes("\n".join(lines).encode())
    result = read(path, entry)
    assert result.frame["source_row"].tolist() == [2]
    (rejection,) = result.rejections
    assert (rejection.source_row, rejection.reason_code) == (3, FIELD_COUNT)
    assert "引号" in rejection.reason


@pytest.mark.parametrize("final_newline", [True, False])
def test_header_only_file_is_valid_with_no_rows(
    tmp_path: Path, entry: CatalogEntry, final_newline: bool
) -> None:
    path = tmp_path / "2025-01.csv"
    path.write_text(
        ",".join(entry.item(c).name for c in entry.columns) + ("\n" if final_newline else "")
    )
    result = read(path, entry)
    assert result.rows_read == 0 and result.frame.empty and not result.rejections


def test_last_row_complete_without_final_newline_loads(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.csv"
    path.write_bytes(csv_bytes([header_of(entry, entry.columns), list(person(1).values())])[:-2])
    assert read(path, entry).frame["source_row"].tolist() == [2]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.lists(
            st.text(
                st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6
            ),
            min_size=3,
            max_size=3,
        ),
        max_size=8,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_any_text_round_trips_through_csv(
    tmp_path: Path, values: list[list[str]], encoding: str
) -> None:
    entry = CatalogEntry.model_validate(
        {
            "dataset_id": "round_trip",
            "数据目录名称": "往返测试",
            "信息资源提供方": "public_security",
            "数据摘要": "只用于测试",
            "更新频率": "每年",
            "开放属性": "有条件开放",
            "信息项": [
                {"信息项名称": "甲", "column": "a"},
                {"信息项名称": "乙", "column": "b"},
                {"信息项名称": "丙", "column": "c"},
            ],
        }
    )
    path = tmp_path / f"round_trip_{encoding}.csv"
    path.write_bytes(csv_bytes([["甲", "乙", "丙"], *values], encoding))
    try:
        result = checked(read_landing_file(path, entry), entry)
    except FileRejected as exc:
        # a control-heavy sample may look binary; that is the only refusal allowed here
        assert exc.reason_code == CORRUPT
        return
    last = max((n for n, row in enumerate(values, start=2) if any(row)), default=1)
    expected_rows = [
        (n, [v or None for v in row]) for n, row in enumerate(values, start=2) if any(row)
    ]
    assert result.rows_read == last - 1
    assert [r.source_row for r in result.rejections] == [
        n for n, row in enumerate(values, start=2) if n <= last and not any(row)
    ]
    got = list(
        zip(result.frame["source_row"], result.frame[["a", "b", "c"]].values.tolist(), strict=True)
    )
    assert got == expected_rows


# ---- xlsx ---------------------------------------------------------------------------------------------


def test_xlsx_written_by_xlsxwriter(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("户籍")
    workbook.add_worksheet("说明").write(0, 0, "不是数据")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    columns = ["id_number", "name", "birth_date", "registered_on", "phone", "gender"]
    columns += ["ethnicity", "address", "region_code"]
    sheet.write_row(0, 0, [*header_of(entry, columns), "核验", "系数"])
    a, b = person(1), person(2)
    # row 2: the ID as text, dates as real Excel dates
    sheet.write_string(1, 0, a["id_number"])
    sheet.write_string(1, 1, " 张伟 ")
    sheet.write_datetime(1, 2, dt.datetime(1990, 1, 1), date_format)
    sheet.write_datetime(1, 3, dt.datetime(2020, 3, 15, 9, 30), stamp_format)
    sheet.write_number(1, 4, 13900000001)
    sheet.write_string(1, 5, "男")
    sheet.write_string(1, 6, "汉族")
    sheet.write_string(1, 7, a["address"])
    sheet.write_number(1, 8, 640521)
    sheet.write_boolean(1, 9, True)
    sheet.write_number(1, 10, 0.1 + 0.2)
    # row 3 is left empty; row 4: the ID typed as a number (Excel keeps 15 digits)
    sheet.write_number(3, 0, float(b["id_number"]))
    sheet.write_string(3, 1, "李四")
    sheet.write_datetime(3, 2, dt.datetime(1985, 6, 30), date_format)
    # formatted but empty cells below the data, as Excel leaves them
    sheet.write_blank(9, 0, None, date_format)
    sheet.set_row(12, 30)
    workbook.close()

    result = read(path, entry)

    assert (result.encoding, result.file_format) == ("xlsx", "xlsx")
    assert result.rows_read == 3
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [(3, BLANK_ROW)]
    assert result.unknown_headers == ["核验", "系数"]
    first, second = result.frame.to_dict("records")
    assert first == {
        "name": " 张伟 ",
        "id_number": a["id_number"],
        "gender": "男",
        "ethnicity": "汉族",
        "birth_date": "1990-01-01",
        "address": a["address"],
        "phone": "13900000001",
        "region_code": "640521",
        "registered_on": "2020-03-15 09:30:00",
        "source_row": 2,
    }
    assert second["id_number"] == f"{b['id_number'][0]}.{b['id_number'][1:6]}E+17"
    assert second["birth_date"] == "1985-06-30"
    assert second["phone"] is None and second["source_row"] == 4


def test_xlsx_written_by_openpyxl(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    columns = list(reversed(entry.columns))
    sheet.append(header_of(entry, columns))
    people = [person(i, name) for i, name in enumerate(RARE_NAMES[:3])]
    for i, p in enumerate(people):
        values: list[object] = [p[c] for c in columns]
        if i == 1:
            values[columns.index("id_number")] = int(p["id_number"])
            values[columns.index("birth_date")] = dt.date.fromisoformat(p["birth_date"])
            values[columns.index("registered_on")] = dt.datetime(2021, 5, 6)
        sheet.append(values)
    sheet.append([None] * len(columns))
    sheet.append([""] * len(columns))
    sheet.cell(row=20, column=1).number_format = "@"
    error = sheet.cell(row=22, column=2, value="#N/A")  # in the sheet's range, read as empty
    error.data_type = "e"
    workbook.save(path)

    result = read(path, entry)

    assert result.rows_read == 3 and not result.rejections
    records = result.frame.drop(columns="source_row").to_dict("records")
    assert records[0] == people[0] and records[2] == people[2]
    assert records[1]["name"] == people[1]["name"]
    assert records[1]["id_number"].endswith("E+17")  # damaged by Excel, visibly so
    assert records[1]["birth_date"] == people[1]["birth_date"]
    assert records[1]["registered_on"] == "2021-05-06"


def test_xlsx_cells_rendered_as_text(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    cells: list[tuple[object, str | None]] = [
        (12.0, "12"),
        (-7, "-7"),
        (13912345678, "13912345678"),
        (999999999999999, "999999999999999"),
        (640521199001011234, "6.40521E+17"),
        (-640521199001011234, "-6.4052E+17"),
        (1e20, "1E+20"),
        (3.14, "3.14"),
        (0.1 + 0.2, "0.3"),
        (1.5e-7, "1.5E-07"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 0, 0), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 23, 59, 59), "2024-02-29 23:59:59"),
        (dt.time(8, 30), "08:30:00"),
        ("0012", "0012"),
        ("  ", "  "),
    ]
    sheet.append(["值"])
    for value, _ in cells:
        sheet.append([value])
    workbook.save(path)

    frame, encoding = read_table(path)

    assert encoding == "xlsx"
    assert frame["值"].tolist() == [text for _, text in cells]


# ---- whole-file rejections --------------------------------------------------------------------------


def _household_csv(entry: CatalogEntry, n: int = 3, encoding: str = "utf-8") -> bytes:
    return csv_bytes(
        [header_of(entry, entry.columns), *(list(person(i).values()) for i in range(n))], encoding
    )


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
    good = _household_csv(entry, 2)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(b"\x80\x80\xff" + good)  # bytes no UTF-8 or GB18030 text starts with
    exc = rejected(path, entry)
    assert exc.reason_code == ENCODING and "UTF-8" in exc.reason and "GB18030" in exc.reason


def test_encoding_bad_bytes_inside_a_utf8_file(tmp_path: Path, entry: CatalogEntry) -> None:
    lines = _household_csv(entry, 5).split(b"\r\n")
    lines[3] = lines[3].replace("宁安镇".encode(), "宁安镇".encode("gbk"))  # a GBK line in UTF-8
    path = tmp_path / "2025-01.csv"
    path.write_bytes(b"\r\n".join(lines))
    exc = rejected(path, entry)
    assert exc.reason_code == ENCODING
    assert "UTF-8" in exc.reason and "第 4 行" in exc.reason


def test_encoding_bad_bytes_after_a_utf8_bom(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.csv"
    path.write_bytes(codecs.BOM_UTF8 + _household_csv(entry, 2, "gb18030"))
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
    data = _household_csv(entry, 3, encoding) + first_bytes[encoding]
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data)
    assert rejected(path, entry).reason_code == TRUNCATED


def test_truncated_last_record_without_newline(tmp_path: Path, entry: CatalogEntry) -> None:
    data = _household_csv(entry, 3)
    cut = data[: data.rindex(b",", 0, len(data) - 40)]  # inside the last record, at a separator
    path = tmp_path / "2025-01.csv"
    path.write_bytes(cut)
    exc = rejected(path, entry)
    assert exc.reason_code == TRUNCATED and "第 4 行" in exc.reason


def test_short_last_record_with_newline_is_only_a_row_rejection(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    data = _household_csv(entry, 3)
    path = tmp_path / "2025-01.csv"
    path.write_bytes(data[: data.rindex(b",", 0, len(data) - 40)] + b"\r\n")
    result = read(path, entry)
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [(4, FIELD_COUNT)]


def _xlsx_bytes(entry: CatalogEntry, tmp_path: Path) -> bytes:
    path = tmp_path / "source.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header_of(entry, entry.columns))
    for i in range(50):
        sheet.write_row(i + 1, 0, list(person(i).values()))
    workbook.close()
    return path.read_bytes()


def test_truncated_xlsx(tmp_path: Path, entry: CatalogEntry) -> None:
    data = _xlsx_bytes(entry, tmp_path)
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
    data = make(_xlsx_bytes(entry, tmp_path), _household_csv(entry))
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


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_title_row_above_the_header(tmp_path: Path, entry: CatalogEntry, suffix: str) -> None:
    rows = [["中宁县户籍人口信息表"], [], header_of(entry, entry.columns), list(person(1).values())]
    path = tmp_path / f"2025-01.{suffix}"
    if suffix == "csv":
        path.write_bytes(csv_bytes(rows, "gb18030"))
    else:
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    exc = rejected(path, entry)
    assert exc.reason_code == HEADER and "第 3 行" in exc.reason


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


# ---- landing paths ----------------------------------------------------------------------------------


def _touch(root: Path, relative: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_scan_landing(tmp_path: Path, catalog: dict[str, CatalogEntry]) -> None:
    good = [
        "landing/640502/household_registration/2025-01.csv",
        "landing/640521/household_registration/2024-12.xlsx",
        "landing/640521/market_entities/2025-01-31.csv",
        "landing/640522/medical_institutions/2025-Q1.xlsx",
    ]
    bad = {
        "landing/640599/household_registration/2025-01.csv": "640599",
        "landing/640521/no_such_dataset/2025-01.csv": "no_such_dataset",
        "landing/640521/household_registration/2025-13.csv": "2025-13",
        "landing/640521/household_registration/2025-1.csv": "2025-1",
        "landing/640521/household_registration/2025-01-01.csv": "每月",
        "landing/640521/market_entities/2025-02-30.csv": "2025-02-30",
        "landing/640522/medical_institutions/2025-Q5.csv": "每季度",
        "landing/640521/household_registration/2025-02.xls": ".xls",
        "landing/640521/household_registration/2025-02.txt": ".txt",
        "landing/640502/household_registration/2025-02.csv": "2025-02.csv",
        "landing/640502/household_registration/2025-02.xlsx": "2025-02.xlsx",
        "landing/640502/2025-01.csv": "层级",
        "landing/640502/household_registration/old/2025-01.csv": "层级",
        "landing/readme.csv": "层级",
    }
    ignored = [
        "landing/.DS_Store",
        "landing/640521/household_registration/~$2025-03.xlsx",
        "landing/640521/household_registration/2025-03.csv.tmp",
        "landing/640521/household_registration/.2025-03.csv.swp",
        "landing/640521/.staging/2025-03.csv",
        "outside/640521/household_registration/2025-03.csv",
    ]
    for relative in [*good, *bad, *ignored]:
        _touch(tmp_path, relative)
    (tmp_path / "landing/640522/petition_records").mkdir(parents=True)

    valid, problems = scan_landing(tmp_path, catalog, COUNTIES)

    assert [v.relative_path for v in valid] == good
    assert valid[2] == LandingPath(
        county_code="640521",
        dataset_id="market_entities",
        period="2025-01-31",
        path=tmp_path / good[2],
        relative_path=good[2],
    )
    assert valid[3].file_format == "xlsx"
    assert [p for p, _ in problems] == sorted(bad)
    for relative, reason in problems:
        assert bad[relative] in reason, (relative, reason)


def test_scan_without_landing_dir(tmp_path: Path, catalog: dict[str, CatalogEntry]) -> None:
    assert scan_landing(tmp_path, catalog, COUNTIES) == ([], [])


def test_parse_landing_path_reasons(
    tmp_path: Path, catalog: dict[str, CatalogEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = parse_landing_path(
        Path("."), tmp_path / "landing/640502/medical_institutions/2024-Q4.csv", catalog, COUNTIES
    )
    assert relative.relative_path == "landing/640502/medical_institutions/2024-Q4.csv"
    landing = parse_landing_path(
        tmp_path, tmp_path / "landing/640521/household_registration/2025-01.CSV", catalog, COUNTIES
    )
    assert (landing.county_code, landing.dataset_id, landing.period, landing.file_format) == (
        "640521",
        "household_registration",
        "2025-01",
        "csv",
    )
    with pytest.raises(LandingPathError) as info:
        parse_landing_path(tmp_path, tmp_path / "elsewhere/x.csv", catalog, COUNTIES)
    assert "landing" in info.value.reason
    with pytest.raises(LandingPathError) as info:
        parse_landing_path(
            tmp_path, tmp_path / "landing/640521/household_registration/2025-01", catalog, COUNTIES
        )
    assert "扩展名" in info.value.reason


def test_file_checksum_streams_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = random.Random(3).randbytes(3 * (1 << 20) + 17)
    path.write_bytes(data)
    assert file_checksum(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert file_checksum(path) != hashlib.sha256(data).hexdigest()
