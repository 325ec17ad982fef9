"""The national identifier standards' vectorized validators: GB 11643 citizen ID numbers, GB 32100
unified social credit codes, Luhn-checked bank card numbers, mobiles and landlines. The scalar check
characters and the shapes are in ``check_chars.py``.

The vectorized validators take a pandas Series of strings (None/NaN allowed: they are "not valid")
and never loop in Python over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.common.check_chars import (
    ID_CHECK_CHARS,
    ID_NUMBER_PATTERN,
    ID_WEIGHTS,
    LANDLINE_PATTERN,
    MOBILE_PATTERN,
    USCC_ALPHABET,
    USCC_PATTERN,
    USCC_WEIGHTS,
)
from assets.common.text import arrow_text, as_text

_ID_WEIGHTS = np.array(ID_WEIGHTS, dtype=np.int64)
_ID_CHECK_BYTES = np.frombuffer(ID_CHECK_CHARS.encode("ascii"), dtype=np.uint8)

_USCC_WEIGHTS = np.array(USCC_WEIGHTS, dtype=np.int64)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _ch in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_ch)] = _i


def _as_str(values: pd.Series) -> pd.Series:
    """The values as Arrow-backed text: the patterns run as Arrow (RE2) kernels, never a Python
    string per value."""
    return as_text(values)


def id_check_bytes(matrix: np.ndarray) -> np.ndarray:
    """The GB 11643 check character (as a byte) of each row of ID-number characters (a
    :func:`ascii_matrix` of width 18, or 17)."""
    digits = (matrix[:, :17] - ord("0")).astype(np.int64)
    return _ID_CHECK_BYTES[(digits @ _ID_WEIGHTS) % 11]


def _char_matrix(strings: pd.Series, width: int) -> np.ndarray:
    """Rows of equal-width ASCII strings as a (n, width) uint8 matrix (:func:`ascii_matrix`)."""
    return ascii_matrix(arrow_text(strings), width)


def ascii_matrix(array: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """An Arrow array of equal-width ASCII strings as a (n, width) uint8 matrix, read off its
    character buffer (no Python string per value)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    data = array.buffers()[2]
    if data is None or not len(array):
        return np.zeros((0, width), dtype=np.uint8)
    offsets = array.buffers()[1]
    kind = np.int64 if pa.types.is_large_string(array.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=kind)[array.offset : array.offset + len(array) + 1]
    if not np.all(np.diff(bounds) == width):
        raise ValueError(f"values of {width} ASCII characters expected")
    octets = np.frombuffer(data, dtype=np.uint8)[int(bounds[0]) : int(bounds[-1])]
    return octets.reshape(-1, width)


# The days a pandas timestamp (nanoseconds) holds, as YYYYMMDD: ``pd.to_datetime(...,
# errors="coerce")`` gives NaT outside them, and the validators have always judged so.
FIRST_DAY, LAST_DAY = 1677_09_22, 2262_04_11
_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def days_valid(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Which (year, month, day) name a real day of the Gregorian calendar between ``FIRST_DAY``
    and ``LAST_DAY``: what ``pd.to_datetime`` of their digits accepts, without parsing a string."""
    year, month, day = (np.asarray(a, dtype=np.int64) for a in (year, month, day))
    months = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _MONTH_DAYS[np.where(months, month, 0)] - ((month == 2) & ~leap)
    ymd = year * 10_000 + month * 100 + day
    return months & (day >= 1) & (day <= last) & (ymd >= FIRST_DAY) & (ymd <= LAST_DAY)


def digits_value(matrix: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The number the ASCII digits in columns ``start:stop`` of a uint8 matrix write (every one of
    them must be a digit)."""
    value = np.zeros(len(matrix), dtype=np.int64)
    for column in range(start, stop):
        value = value * 10 + (matrix[:, column].astype(np.int64) - ord("0"))
    return value


def id_number_valid(values: pd.Series, *, check_birth_date: bool = True) -> pd.Series:
    """GB 11643: shape, check character, and (optionally) a real calendar date in digits 7–14."""
    s = _as_str(values)
    ok = s.str.fullmatch(ID_NUMBER_PATTERN).fillna(False).astype(bool)
    if ok.any():
        m = _char_matrix(s[ok], 18)
        good = id_check_bytes(m) == m[:, 17]
        if check_birth_date:  # digits 7-14, YYYYMMDD
            good &= days_valid(
                digits_value(m, 6, 10), digits_value(m, 10, 12), digits_value(m, 12, 14)
            )
        ok.loc[ok] = good
    return ok


def uscc_valid(values: pd.Series) -> pd.Series:
    """GB 32100: alphabet, shape and check character."""
    s = _as_str(values)
    ok = s.str.fullmatch(USCC_PATTERN).fillna(False).astype(bool)
    if ok.any():
        m = _char_matrix(s[ok], 18)
        vals = _USCC_VALUE[m]
        expected = (31 - (vals[:, :17] @ _USCC_WEIGHTS) % 31) % 31
        ok.loc[ok] = expected == vals[:, 17]
    return ok


def luhn_valid(values: pd.Series, *, min_len: int = 16, max_len: int = 19) -> pd.Series:
    """Bank card numbers: ``min_len``–``max_len`` digits and a correct Luhn digit."""
    s = _as_str(values)
    ok = s.str.fullmatch(rf"[0-9]{{{min_len},{max_len}}}").fillna(False).astype(bool)
    if ok.any():
        sub = s[ok]
        width = max_len
        padded = sub.str.pad(width, side="left", fillchar="0")
        m = (_char_matrix(padded, width) - ord("0")).astype(np.int64)
        # position from the right: 0 is the check digit; odd positions are doubled.
        doubled = np.zeros(width, dtype=bool)
        doubled[-2::-2] = True
        dm = m.copy()
        dm[:, doubled] = np.where(m[:, doubled] > 4, m[:, doubled] * 2 - 9, m[:, doubled] * 2)
        ok.loc[ok] = (dm.sum(axis=1) % 10) == 0
    return ok


def mobile_valid(values: pd.Series) -> pd.Series:
    return _as_str(values).str.fullmatch(MOBILE_PATTERN).fillna(False).astype(bool)


def phone_valid(values: pd.Series) -> pd.Series:
    """A landline (区号-号码) or a mobile number."""
    s = _as_str(values)
    landline = s.str.fullmatch(LANDLINE_PATTERN).fillna(False).astype(bool)
    return landline | mobile_valid(s)
