"""The landing reader on CSV: every delivered encoding, header mapping, quoting, ragged and blank rows."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.common.catalog import CatalogEntry
from assets.landing import csv_file
from assets.landing.reader import read_landing_file
from assets.landing.rejections import (
    BLANK_ROW,
    CORRUPT,
    FIELD_COUNT,
    UNBALANCED_QUOTE,
    FileRejected,
)
from tests.reader_files import (
    RARE_NAMES,
    checked,
    csv_bytes,
    header_of,
    person,
    read,
)


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


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
    monkeypatch.setattr(csv_file, "_BLOCK_SIZE", 1 << 12)  # many small parse blocks
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


def test_an_unclosed_quote_swallowing_the_rest_rejects_the_file_whole(
    tmp_path: Path, entry: CatalogEntry
) -> None:
    """Issue 9: loading row 2 alone would replace the partition with a fraction of the delivery."""
    header = ",".join(header_of(entry, entry.columns))
    values = list(person(3).values())
    values[5] = '"' + values[5]  # a quote opens the address and never closes
    bad = ",".join(values)
    lines = [header, ",".join(person(2).values()), bad, ",".join(person(4).values()), ""]
    path = tmp_path / "2025-01.csv"
    path.write_bytes("\n".join(lines).encode())
    with pytest.raises(FileRejected) as refused:
        read(path, entry)
    assert refused.value.reason_code == UNBALANCED_QUOTE
    assert "第 3 行" in refused.value.reason and "引号" in refused.value.reason


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


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
