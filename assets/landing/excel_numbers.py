"""Identifier columns Excel turned into numbers (Excel 数值化).

Excel stores a number as a double and keeps 15 significant digits: an 18-digit 公民身份号码 typed into
a General cell becomes ``6.40521E+17`` (or, exported as a number, ``640521199001011000``; through
Python, ``1.2345678901234568e+17`` / ``123456789012345680``) and its last digits are gone for good.
A shorter identifier survives: ``13812345678.0`` is the phone number ``13812345678`` exactly.

Per value of an identifier column (an ID number, mobile or phone number, bank card, credit code,
division code — by the item's format or declared personal data):

- **exact**: the value is a float's text whose digits are all there (``13812345678.0``,
  ``1.3812345678E+10``, at most 15 significant digits) — it is restored to its digits;
- **damaged**: scientific notation that drops digits, a float's text of 16 digits or more, or an
  18-digit ID number that fails its check digit and has the shape a double gives it (at most 15
  significant digits followed by zeros, or exactly a double's value or shortest text) — and, in a
  column with such damage, every 18-digit value of Excel's shape (15 digits and ``000``) even when
  its zero happens to be a valid check digit — its digits are not recoverable and guessing would invent someone's number,
  so the row is rejected.

Nothing here quotes a value.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.check_chars import id_check_char
from assets.common.identifiers import ascii_matrix, id_check_bytes, id_number_valid
from assets.landing.rejections import EXCEL_NUMERIC, RowRejection

EXCEL_NUMERIC_REASON = "Excel 数值化导致精度丢失"
EXCEL_DIGITS = 15  # significant digits Excel keeps in a number

NUMERIC_SENSITIVE_FORMATS = frozenset(
    {"cn_id_number", "uscc", "id_or_uscc", "bank_card", "division_code", "cn_mobile", "phone"}
)
NUMERIC_SENSITIVE_PII = frozenset({"cn_id_number", "cn_mobile_phone", "bank_card"})

_FLOAT_TEXT = re.compile(r"[+]?(?:(\d+)\.0*|(\d+(?:\.\d*)?)[eE][+]?(\d+))")
_EIGHTEEN_DIGITS = re.compile(r"\d{18}")


def numeric_sensitive(item: CatalogItem) -> bool:
    """An identifier whose every digit counts: a number Excel made of it may have lost some."""
    return item.format in NUMERIC_SENSITIVE_FORMATS or item.pii in NUMERIC_SENSITIVE_PII


def _is_id_number(item: CatalogItem) -> bool:
    return item.format in ("cn_id_number", "id_or_uscc") or item.pii == "cn_id_number"


def _float_shaped_id(text: str) -> bool:
    """An 18-digit ID number with a wrong check digit, in a shape only a double gives it."""
    if id_check_char(text[:17]) == text[17]:
        return False
    if len(text.rstrip("0")) <= EXCEL_DIGITS:  # Excel's 15 digits, then zeros
        return True
    number = int(text)
    as_float = float(number)
    return int(as_float) == number or int(Decimal(repr(as_float))) == number


def repair(text: str | None, *, id_number: bool) -> tuple[str | None, bool]:
    """``(value, damaged)``: a float's text with every digit restored to the digits, a damaged
    value flagged, anything else unchanged."""
    if text is None:
        return None, False
    value = text.strip()
    match = _FLOAT_TEXT.fullmatch(value)
    if match is None:
        if id_number and _EIGHTEEN_DIGITS.fullmatch(value):
            return text, _float_shaped_id(value)
        return text, False
    whole, mantissa, _ = match.groups()
    if whole is not None:  # 13812345678.0
        return (whole, False) if len(whole.lstrip("0")) <= EXCEL_DIGITS else (text, True)
    try:
        number = Decimal(value.lstrip("+"))
    except InvalidOperation:
        return text, False
    digits = mantissa.replace(".", "").lstrip("0")
    if number != number.to_integral_value() or number >= Decimal(10) ** EXCEL_DIGITS:
        return text, True
    integral = str(int(number))
    # 1.3812345678E+10 shows every digit; 1.38123E+10 dropped five of them
    return (integral, False) if len(digits) >= len(integral) else (text, True)


# A value as ``str.strip()`` leaves it and matched as ``re`` would, by Arrow kernels, for ASCII values
# (an identifier's usual text). Python's ``\d`` and ``str.strip()`` also take other Unicode digits and
# spaces, so a value with any non-ASCII character is matched by ``re`` itself (:func:`_exact`).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_ASCII_FLOAT_TEXT = r"^[+]?(?:[0-9]+\.0*|[0-9]+(?:\.[0-9]*)?[eE][+]?[0-9]+)$"
_ASCII_EIGHTEEN = r"^[0-9]{18}$"
_ASCII_EXCEL_ID = r"^[0-9]{15}0{3}$"
_EXCEL_ID = re.compile(r"\d{15}0{3}")


def _eighteen_digits_wrong_check(text: pd.Series) -> pd.Series:
    """The 18-digit values (of ``text``, trimmed) whose GB 11643 check digit is wrong: of such values
    only these can be an ID number a double changed (a right check digit is never damage)."""
    eighteen = text.str.fullmatch(_EIGHTEEN_DIGITS.pattern).fillna(False).astype(bool)
    if not eighteen.any():
        return eighteen
    valid = id_number_valid(text.where(eighteen), check_birth_date=False)
    return eighteen & ~valid.fillna(False).astype(bool)


def _exact(values: pd.Series, id_number: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(candidates, excel_shaped)`` by Python's ``re``: values worth a look by :func:`repair`, and
    18-digit values of Excel's shape (15 digits, then three zeros)."""
    text = values.astype("string").str.strip()
    candidates = text.str.fullmatch(_FLOAT_TEXT.pattern).fillna(False)
    if id_number:
        candidates |= _eighteen_digits_wrong_check(text)
    excel = text.str.fullmatch(_EXCEL_ID.pattern).fillna(False) if id_number else candidates & False
    return candidates.to_numpy(dtype=bool), excel.to_numpy(dtype=bool)


def _flags(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _check_digit_wrong(eighteen: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For 18 ASCII digits each: the GB 11643 check digit does not match (as ``id_number_valid``)."""
    matrix = ascii_matrix(eighteen, 18)
    return id_check_bytes(matrix) != matrix[:, 17]


def _screen(array: pa.Array | pa.ChunkedArray, id_number: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_exact` by Arrow kernels for the ASCII values and by ``re`` for the others."""
    length = len(array)
    text = pc.utf8_trim(array, characters=_ASCII_SPACE)
    candidates = _flags(pc.match_substring_regex(text, _ASCII_FLOAT_TEXT))
    excel = np.zeros(length, dtype=bool)
    if id_number:
        eighteen = _flags(pc.match_substring_regex(text, _ASCII_EIGHTEEN))
        if eighteen.any():
            wrong = np.zeros(length, dtype=bool)
            wrong[eighteen] = _check_digit_wrong(text.filter(pa.array(eighteen)))
            candidates |= wrong
        excel = _flags(pc.match_substring_regex(text, _ASCII_EXCEL_ID))
    other = np.flatnonzero(~_flags(pc.fill_null(pc.string_is_ascii(array), True)))
    if len(other):
        values = pd.Series(array.take(pa.array(other)).to_pylist(), dtype=object)
        candidates[other], excel[other] = _exact(values, id_number)
    return candidates, excel


def repair_text_column(
    array: pa.Array | pa.ChunkedArray, item: CatalogItem
) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray]:
    """The column with exact float texts restored (the same array when nothing changed), and where
    values lost digits."""
    id_number = _is_id_number(item)
    damaged = np.zeros(len(array), dtype=bool)
    candidates, excel = _screen(array, id_number)
    if not candidates.any():
        return array, damaged
    positions = np.flatnonzero(candidates)
    restored: dict[int, str | None] = {}
    for position, value in zip(positions, array.take(pa.array(positions)).to_pylist(), strict=True):
        repaired, lost = repair(value, id_number=id_number)
        if lost:
            damaged[position] = True
        elif repaired != value:
            restored[int(position)] = repaired
    if restored:
        values = array.to_numpy(zero_copy_only=False).astype(object)
        for position, value in restored.items():
            values[position] = value
        array = pa.array(values, type=pa.string(), from_pandas=True)
    if id_number and damaged.any():
        # a column Excel made numbers: its 15 digits and three zeros are damage even where the zero
        # happens to be a valid check digit (one time in eleven)
        damaged |= excel
    return array, damaged


def numeric_shaped(values: pd.Series) -> pd.Series:
    """True where a value has the text of a number Excel or a float made of an identifier: scientific
    notation, a trailing ``.0``, or an 18-digit number with a wrong check digit in a double's shape."""
    text = values.astype("string").str.strip()
    shaped = text.str.fullmatch(_FLOAT_TEXT.pattern).fillna(False).astype(bool)
    suspect = _eighteen_digits_wrong_check(text)
    if suspect.any():
        shaped[suspect] = [_float_shaped_id(v) for v in text[suspect]]
    return shaped


def excel_numeric_reason(names: list[str]) -> str:
    return (
        f"{EXCEL_NUMERIC_REASON}：“{'、'.join(names)}”被 Excel 存成了数值，超过 15 位的数字已丢失"
        "（显示为科学计数法或末位变成 0），无法还原。请将该列设置为“文本”格式、"
        "从业务系统重新导出后重新报送"
    )


def repair_excel_arrays(
    arrays: dict[str, pa.Array | pa.ChunkedArray], entry: CatalogEntry, source_rows: np.ndarray
) -> tuple[np.ndarray | None, list[RowRejection]]:
    """Restore the identifier values a float kept exact (in ``arrays``, the catalog columns as
    string arrays, replaced where restored); returns where identifiers lost digits (None: nowhere)
    and those rows' rejections, by their ``source_rows``."""
    damaged_by: dict[str, np.ndarray] = {}
    for item in entry.items:
        if not numeric_sensitive(item) or item.column not in arrays:
            continue
        arrays[item.column], damaged = repair_text_column(arrays[item.column], item)
        if damaged.any():
            damaged_by[item.name] = damaged
    if not damaged_by:
        return None, []
    any_damaged = np.logical_or.reduce(list(damaged_by.values()))
    rejections = [
        RowRejection(
            int(source_rows[position]),
            EXCEL_NUMERIC,
            excel_numeric_reason([name for name, mask in damaged_by.items() if mask[position]]),
        )
        for position in np.flatnonzero(any_damaged)
    ]
    return any_damaged, rejections
