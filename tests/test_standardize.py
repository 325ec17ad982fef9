"""Standardization of delivered text: real forms departments send, Excel damage, full-width input."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.check_chars import id_check_char
from assets.common.text import (
    SPACE_CHARACTERS,
    SPACE_CLASS,
    STRING,
    digit_numbers,
    format_dates,
    map_distinct,
    to_halfwidth,
    trim,
)
from assets.governance.rules import type_column, type_frame
from assets.governance.standardize import (
    _standardize_values,
    changed_cells,
    excel_damaged,
    repeats_values,
    standardize,
    standardize_column,
    standardize_dates,
)

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
HOUSEHOLD = CATALOG["household_registration"]


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


def _one(value: str | None, column: str, entry=HOUSEHOLD) -> object:
    out = standardize_column(pd.Series([value], dtype=object), entry.item(column)).iloc[0]
    return None if pd.isna(out) else out


@pytest.mark.parametrize(
    ("delivered", "iso"),
    [
        ("2024-01-05", "2024-01-05"),
        ("2024/1/5", "2024-01-05"),
        ("2024/01/05", "2024-01-05"),
        ("2024.1.5", "2024-01-05"),
        ("2024-1-5", "2024-01-05"),
        ("20240105", "2024-01-05"),
        ("2024年1月5日", "2024-01-05"),
        ("2024年01月05日", "2024-01-05"),
        ("2024 年 1 月 5 日", "2024-01-05"),
        ("2024-01-05 00:00:00", "2024-01-05"),
        ("2024-01-05T08:30", "2024-01-05"),
        ("2024/1/5 8:30:15", "2024-01-05"),
        ("２０２４－０１－０５", "2024-01-05"),
        ("２０２４年１月５日", "2024-01-05"),
        ("\u30002024-01-05 ", "2024-01-05"),
        ("1990.12.31", "1990-12-31"),
        ("2000/2/29", "2000-02-29"),
    ],
)
def test_written_dates_become_iso(delivered: str, iso: str) -> None:
    assert _one(delivered, "birth_date") == iso


@pytest.mark.parametrize(
    ("serial", "iso"),
    [
        ("45292", "2024-01-01"),  # Excel serial of 2024-01-01
        ("45296", "2024-01-05"),
        ("32874", "1990-01-01"),
        ("36585", "2000-02-29"),
        ("45292.0", "2024-01-01"),  # a serial read through a float
        ("45292.75", "2024-01-01"),  # a date-time serial: the day is kept
    ],
)
def test_excel_serials_become_iso(serial: str, iso: str) -> None:
    assert _one(serial, "registered_on") == iso


@pytest.mark.parametrize(
    "delivered",
    ["2024-02-30", "2023/2/29", "2024-13-01", "20241301", "2024", "2024-01", "abc", "1/5/2024"],
)
def test_impossible_or_unknown_dates_stay_as_delivered(delivered: str) -> None:
    # not guessed: the type rule reports them
    assert _one(delivered, "birth_date") == delivered


def test_dates_vectorized_keep_missing_and_index() -> None:
    s = pd.Series(["2024/1/5", None, "45292"], index=[10, 20, 30], dtype=object)
    out = standardize_dates(s)
    assert list(out.index) == [10, 20, 30]
    assert out.iloc[0] == "2024-01-05" and pd.isna(out.iloc[1]) and out.iloc[2] == "2024-01-01"


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("86-138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("(138)12345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        (" 13812345678\u3000", "13812345678"),
    ],
)
def test_mobiles_become_11_digits(delivered: str, expected: str) -> None:
    assert _one(delivered, "phone") == expected


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("0955-7012345", "0955-7012345"),
        ("0955 7012345", "0955-7012345"),
        ("(0955)7012345", "0955-7012345"),
        ("（0955）7012345", "0955-7012345"),
        ("09557012345", "09557012345"),
        ("+86 138 1234 5678", "13812345678"),
    ],
)
def test_landline_or_mobile_column(delivered: str, expected: str) -> None:
    medical = CATALOG["medical_institutions"]
    assert _one(delivered, "phone", medical) == expected


@pytest.mark.parametrize(
    ("column", "damaged"),
    [
        ("id_number", "6.40521E+17"),
        ("id_number", "6.40502199001011E+17"),
        ("id_number", "640502199001011000.0"),
        ("phone", "1.38E+10"),
        ("phone", "1.3812345678E10"),
        ("phone", "13812345678.0"),
        ("region_code", "640502.0"),
    ],
)
def test_excel_damage_is_detected_and_never_repaired(column: str, damaged: str) -> None:
    assert bool(excel_damaged(pd.Series([damaged])).iloc[0])
    out = _one(damaged, column)
    # left as delivered: no digits are invented
    assert out == damaged


@pytest.mark.parametrize(
    "clean", ["640502199001010018", "13812345678", "0955-7012345", "6222020200112233445", "1.5"]
)
def test_clean_values_are_not_excel_damage(clean: str) -> None:
    assert not excel_damaged(pd.Series([clean])).iloc[0]


def test_bank_card_in_scientific_notation_is_damage() -> None:
    subsidies = CATALOG["agricultural_subsidies"]
    assert _one("6.22202E+18", "bank_card", subsidies) == "6.22202E+18"
    assert _one("6222 0202 0011 2233 445", "bank_card", subsidies) == "6222020200112233445"


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("64050219900101001x", "64050219900101001X"),
        (" 64050219900101001x ", "64050219900101001X"),
        ("６４０５０２１９９００１０１００１Ｘ", "64050219900101001X"),
        ("640502 19900101 001x", "64050219900101001X"),
        ("６４０５０２１９９００１０１００１ｘ", "64050219900101001X"),
    ],
)
def test_id_numbers(delivered: str, expected: str) -> None:
    assert _one(delivered, "id_number") == expected


def test_uscc_upper_cased() -> None:
    market = CATALOG["market_entities"]
    assert _one(" 91640500ma76abcd1x ", "uscc", market) == "91640500MA76ABCD1X"


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("１２３", "123"),
        ("ＡＢＣａｂｃ", "ABCabc"),
        ("张\u3000三", "张 三"),
        ("中宁县（宁安镇）", "中宁县（宁安镇）"),  # Chinese punctuation in free text stays
    ],
)
def test_halfwidth_in_free_text(delivered: str, expected: str) -> None:
    assert to_halfwidth(pd.Series([delivered])).iloc[0] == expected


def test_halfwidth_punctuation_in_codes() -> None:
    estate = CATALOG["real_estate_registration"]
    value = "宁（２０２５）中宁县不动产权第０００１２３４号"
    assert _one(value, "certificate_no", estate) == "宁(2025)中宁县不动产权第0001234号"


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("  张三  ", "张三"),
        ("\u3000张三\u3000", "张三"),
        ("\xa0张三\u200b", "张三"),
        ("   ", None),
        ("", None),
    ],
)
def test_trim_and_blank_to_null(delivered: str, expected: str | None) -> None:
    out = trim(pd.Series([delivered])).iloc[0]
    assert (None if pd.isna(out) else out) == expected


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [("1,234.50", "1234.50"), ("１２３４．５", "1234.5"), (" 12 ", "12"), ("1.5E+3", "1.5E+3")],
)
def test_numbers(delivered: str, expected: str) -> None:
    subsidies = CATALOG["agricultural_subsidies"]
    assert _one(delivered, "amount", subsidies) == expected


def test_standardize_frame_counts_changes_and_leaves_provenance() -> None:
    frame = pd.DataFrame(
        {
            "name": [" 张三", "李四"],
            "id_number": [_id("64050219900101005").lower(), _id("64052119851231002")],
            "birth_date": ["1990/1/1", "1985-12-31"],
            "phone": ["+86 138 1234 5678", None],
            "source_file": [" a.csv ", " a.csv "],
            "source_row": [2, 3],
        }
    )
    result = standardize(frame, HOUSEHOLD)
    out = result.frame
    assert out["name"].tolist() == ["张三", "李四"]
    assert out["birth_date"].tolist() == ["1990-01-01", "1985-12-31"]
    assert out["phone"].iloc[0] == "13812345678" and pd.isna(out["phone"].iloc[1])
    assert out["source_file"].tolist() == [" a.csv ", " a.csv "]  # provenance untouched
    assert out["id_number"].iloc[0].endswith("X")
    assert result.changed == {"name": 1, "id_number": 1, "birth_date": 1, "phone": 1}
    # the input frame is not modified
    assert frame["name"].iloc[0] == " 张三"


def test_digit_numbers_are_to_numeric_of_the_digits() -> None:
    s = pd.Series(["2024", None, "0007", "99999", "00000", "1"], index=[5, 6, 7, 8, 9, 10])
    s = s.astype("string[pyarrow]")
    out = digit_numbers(s)
    pd.testing.assert_series_equal(out, pd.to_numeric(s, errors="coerce"))


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [("00000", "1899-12-30"), ("99999", "2173-10-13"), ("45123.5", "2023-07-16")],
)
def test_excel_serials_at_the_edges(delivered: str, expected: str) -> None:
    assert standardize_dates(pd.Series([delivered])).iloc[0] == expected


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M"])
def test_format_dates_formats_each_value_as_strftime_does(fmt):
    """Repeated dates (formatted once each), times of day, NaT and a non-default index: every value
    is what ``strftime`` gives for it, in place."""
    stamps = ["1990-01-01", "2026-11-29 08:30:05", None, "1990-01-01", "1951-06-30", None]
    values = pd.Series(pd.to_datetime(stamps, format="ISO8601"), index=[10, 3, 7, 1, 8, 0])
    formatted = format_dates(values, fmt)
    assert list(formatted.index) == [10, 3, 7, 1, 8, 0]
    expected = [None if pd.isna(v) else v.strftime(fmt) for v in values]
    assert [None if pd.isna(v) else v for v in formatted] == expected


def test_trim_strips_every_space_the_space_class_names_and_nothing_else():
    """``trim`` strips the characters of ``SPACE_CHARACTERS`` (Arrow's utf8_trim), the spaces the
    regexes' ``SPACE_CLASS`` names: the two lists are the same set."""
    import re

    named = {chr(c) for c in range(0x110000) if re.fullmatch(SPACE_CLASS, chr(c))}
    assert set(SPACE_CHARACTERS) == named
    edges = "".join(sorted(named))
    values = pd.Series([f"{edges}中 卫{edges}", edges, "-x-", None], dtype="string[pyarrow]")
    assert [None if pd.isna(v) else v for v in trim(values)] == ["中 卫", None, "-x-", None]


def test_changed_cells_counts_a_value_gone_or_come_as_a_change_and_two_missing_as_none():
    before = pd.Series([None, "a", None, "b", "c", "同"], dtype=STRING)
    after = pd.Series([None, None, "x", "b", "d", "同"], dtype=STRING)
    assert changed_cells(before, after) == 3
    assert changed_cells(before.iloc[:0], after.iloc[:0]) == 0
    # the same count as filling both columns with a value neither holds and comparing them
    values = pd.Series(
        ["1990/1/1", None, "1990-01-01", "１９９０年1月2日", " "] * 1000, dtype=STRING
    )
    birth_date = next(item for item in HOUSEHOLD.items if item.column == "birth_date")
    changed = standardize_column(values, birth_date)
    filled = int((values.fillna("\x00") != changed.fillna("\x00")).sum())
    assert filled >= 2000 and changed_cells(values, changed) == filled


def test_columns_that_repeat_their_values_are_worked_once_per_value_with_the_same_result():
    """Dates, enumerations and division codes are standardized and typed once per distinct value
    (``map_distinct``); every row, <NA> and an index that is not 0..n-1 included, gets what the
    row-by-row work gives it."""
    delivered = {
        "birth_date": [
            "1990/1/1",
            None,
            "1990-01-01",
            "１９９０年1月2日",
            " ",
            "45292",
            "2024-02-30",
        ],
        "gender": ["男", " 女", "男", None, "Ｍ", "女 ", "男"],
        "region_code": ["640502", "６４０５０２", None, " 640521", "640502", "64O502", "640522"],
        "registered_on": [
            "2020.1.5",
            "2020-01-05",
            None,
            "20200105",
            "2020年1月5日",
            "x",
            "2020/1/5",
        ],
    }
    index = pd.Index([70, 3, 11, 42, 5, 9, 1])
    frame = pd.DataFrame(
        {column: pd.Series(values * 300, dtype=object) for column, values in delivered.items()}
    )
    frame.index = pd.Index([i + 100 * k for k in range(300) for i in index])
    for column in delivered:
        item = HOUSEHOLD.item(column)
        assert repeats_values(item)
        distinct = standardize_column(frame[column], item)
        row_by_row = _standardize_values(frame[column], item)
        assert list(distinct.index) == list(frame.index)
        assert distinct.dtype == row_by_row.dtype
        assert distinct.fillna("<NA>").tolist() == row_by_row.fillna("<NA>").tolist()
    standardized = standardize(frame, HOUSEHOLD).frame
    typed = type_frame(standardized[list(delivered)], HOUSEHOLD)
    assert list(typed.index) == list(frame.index)
    for column in delivered:
        row_by_row = type_column(standardized[column], HOUSEHOLD.item(column))
        pd.testing.assert_series_equal(typed[column], row_by_row, check_names=False)
    assert typed["birth_date"].iloc[:4].tolist() == [
        pd.Timestamp("1990-01-01"),
        pd.NaT,
        pd.Timestamp("1990-01-01"),
        pd.Timestamp("1990-01-02"),
    ]
    assert typed["registered_on"].isna().sum() == 2 * 300  # the missing one and "x"


def test_map_distinct_spreads_each_value_s_result_over_its_rows():
    values = pd.Series(
        ["b", None, "a", "b", None, "a", "c"], index=[6, 5, 4, 3, 2, 1, 0], dtype=STRING
    )
    calls = []

    def upper(distinct: pd.Series) -> pd.Series:
        calls.append(len(distinct))
        return distinct.str.upper().fillna("?")

    out = map_distinct(values, upper)
    assert calls == [4]  # b, <NA>, a, c: each once
    assert out.tolist() == ["B", "?", "A", "B", "?", "A", "C"]
    assert list(out.index) == [6, 5, 4, 3, 2, 1, 0]
    assert map_distinct(values.iloc[:0], upper).tolist() == []
