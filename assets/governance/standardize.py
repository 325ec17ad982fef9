"""Standardization (标准化) of delivered text before it is typed and checked.

Every function works on a whole pandas Series with string / regex operations (Arrow-backed strings),
never a Python loop over rows:

- trim, and full-width (全角) digits, letters and spaces to half-width; in code-like, numeric and date
  columns all full-width ASCII punctuation too (（）－／．), while free text keeps its Chinese punctuation;
- dates in the common forms (2024-01-05, 2024/1/5, 2024.1.5, 20240105, 2024年1月5日, with a time part,
  Excel serial numbers such as 45292) to ISO ``YYYY-MM-DD``;
- the ID number check letter ``x`` to ``X``, unified social credit codes to upper case, spaces inside
  identifiers removed;
- mobile numbers written with +86, spaces or dashes to their 11 digits; landlines to ``区号-号码``;
- numbers that Excel turned into floats or scientific notation (``1.38E+10``, ``6.40521E+17``,
  ``13812345678.0``) in identifier and phone columns are *detected*, never repaired: digits lost to a
  float cannot be recovered, so guessing would invent someone's ID number. The rules report them with
  the reason code ``excel_damaged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.text import (
    SPACE_CLASS,
    SPACES,
    as_text,
    digit_numbers,
    format_dates,
    map_distinct,
    regex_extract,
    regex_replace,
    to_halfwidth,
    trim,
)

# Formats whose values are codes: spaces inside them are delivery noise.
IDENTIFIER_FORMATS = frozenset({"cn_id_number", "uscc", "id_or_uscc", "bank_card", "division_code"})
PHONE_FORMATS = frozenset({"cn_mobile", "phone"})
# Columns whose digits must survive exactly; a float or scientific form means the digits were lost.
DAMAGE_SENSITIVE_FORMATS = IDENTIFIER_FORMATS | PHONE_FORMATS
DAMAGE_SENSITIVE_PII = frozenset({"cn_id_number", "cn_mobile_phone", "bank_card"})

EXCEL_DAMAGE_PATTERN = r"^[+-]?(?:\d+(?:\.\d*)?[eE][+-]?\d+|\d+\.0+)$"

# Excel's day 0 is 1899-12-30 once its fictitious 1900-02-29 is accounted for (serial > 60).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Five-digit serials: 10000 = 1927-05-18 … 99999 = 2173-10-14. Shorter numbers are too ambiguous
# (a bare year, a day count) to read as dates.
_SERIAL_PATTERN = r"^(?P<serial>\d{5})(?:\.\d+)?$"
_TIME_PART = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_SEPARATED_DATE = (
    rf"^(?P<year>\d{{4}})\s*[-/.年]\s*(?P<month>\d{{1,2}})\s*[-/.月]\s*(?P<day>\d{{1,2}})\s*日?"
    rf"{_TIME_PART}$"
)
_COMPACT_DATE = r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$"


def excel_damaged(values: pd.Series) -> pd.Series:
    """True where a value has the shape Excel gives a number it stored as a float (``1.38E+10``,
    ``6.40521E+17``, ``13812345678.0``): its digits are not recoverable."""
    s = as_text(values)
    return s.str.fullmatch(EXCEL_DAMAGE_PATTERN).fillna(False).astype(bool)


def standardize_dates(values: pd.Series) -> pd.Series:
    """Dates in the common written forms and Excel serials to ISO ``YYYY-MM-DD``.

    A value that is none of these forms, or names no real day (2024-02-30), is returned unchanged, so
    the type rule reports it as delivered.
    """
    s = as_text(values)
    parts = regex_extract(s, _SEPARATED_DATE).fillna(regex_extract(s, _COMPACT_DATE))
    ymd = pd.DataFrame({part: digit_numbers(parts[part]) for part in ("year", "month", "day")})
    written = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    has_parts = ymd.notna().all(axis=1)
    if has_parts.any():
        written.loc[has_parts] = pd.to_datetime(ymd.loc[has_parts], errors="coerce")

    serial = digit_numbers(regex_extract(s, _SERIAL_PATTERN)["serial"])
    from_serial = EXCEL_EPOCH + pd.to_timedelta(serial, unit="D")
    parsed = written.fillna(from_serial)
    return format_dates(parsed, "%Y-%m-%d").where(parsed.notna(), s)


def standardize_id_codes(values: pd.Series) -> pd.Series:
    """Spaces inside an ID number / credit code / card number removed; letters upper-cased (x → X)."""
    return as_text(values).str.replace(f"{SPACE_CLASS}+", "", regex=True).str.upper()


def standardize_phones(values: pd.Series) -> pd.Series:
    """Mobile numbers to 11 digits (+86, 0086, spaces, dashes, parentheses removed); landlines to
    ``区号-号码``; anything else unchanged for the format rule to judge."""
    s = as_text(values)
    compact = s.str.replace(f"[{SPACES}\\-()]", "", regex=True)
    mobile = regex_replace(compact, r"^(?:\+86|0086|86)(1[3-9]\d{9})$", r"\1")
    is_mobile = mobile.str.fullmatch(r"1[3-9]\d{9}").fillna(False).astype(bool)
    # a separator the sender wrote says where the area code ends; without one, none is guessed
    landline = regex_replace(s, r"^\((0\d{2,3})\)[ \-]*(\d{7,8})$", r"\1-\2")
    landline = regex_replace(landline, r"^(0\d{2,3})[ \-]+(\d{7,8})$", r"\1-\2")
    return mobile.where(is_mobile, landline)


def standardize_numbers(values: pd.Series) -> pd.Series:
    """Thousands separators and inner spaces removed from a numeric column (1,234.50 → 1234.50)."""
    return as_text(values).str.replace(f"[,{SPACES}]", "", regex=True)


def _is_free_text(item: CatalogItem) -> bool:
    return (
        item.type == "string"
        and item.format is None
        and item.enum is None
        and item.enum_ref is None
    )


def damage_sensitive(item: CatalogItem) -> bool:
    """Whether a float-shaped value in this column means lost digits (IDs, phones, cards, codes)."""
    return item.format in DAMAGE_SENSITIVE_FORMATS or item.pii in DAMAGE_SENSITIVE_PII


# Formats of codes drawn from a short list (a county's divisions, the industry classification)
REPEATING_FORMATS = frozenset({"division_code", "industry_code"})


def repeats_values(item: CatalogItem) -> bool:
    """Whether a column's values repeat across rows (dates, numbers, enumerations, division and
    industry codes), so that work per distinct value (``map_distinct``) is less than work per row.
    Identifiers, phones, names and free text are mostly distinct: encoding them first only adds."""
    return (
        item.type in ("date", "integer", "decimal")
        or item.enum is not None
        or item.enum_ref is not None
        or item.format in REPEATING_FORMATS
    )


def standardize_column(values: pd.Series, item: CatalogItem) -> pd.Series:
    """One catalog column standardized according to its type and format (once per distinct value
    where the column repeats its values)."""
    if repeats_values(item):
        return map_distinct(values, lambda distinct: _standardize_values(distinct, item))
    return _standardize_values(values, item)


def _standardize_values(values: pd.Series, item: CatalogItem) -> pd.Series:
    s = to_halfwidth(values, punctuation=not _is_free_text(item))
    s = trim(s)
    damaged = excel_damaged(s) if damage_sensitive(item) else None
    if item.type == "date":
        s = standardize_dates(s)
    elif item.type in ("integer", "decimal"):
        s = standardize_numbers(s)
    elif item.format in IDENTIFIER_FORMATS or item.pii in ("cn_id_number", "bank_card"):
        s = standardize_id_codes(s)
    elif item.format in PHONE_FORMATS or item.pii == "cn_mobile_phone":
        s = standardize_phones(s)
    elif item.format == "industry_code":
        s = s.str.upper()
    if damaged is not None and damaged.any():
        # leave the damaged value as delivered (trimmed) so the quarantine shows what arrived
        s = s.mask(damaged, trim(to_halfwidth(values, punctuation=True)))
    return s


@dataclass(frozen=True)
class StandardizedFrame:
    """The frame with catalog columns standardized (Arrow text), and how many cells each one changed."""

    frame: pd.DataFrame
    changed: dict[str, int]


def changed_cells(before: pd.Series, after: pd.Series) -> int:
    """Cells whose value differs, a missing value differing from any text and equal to a missing one
    (Arrow's kernels on the two columns: filling both and comparing took ten times as long)."""
    old, new = pa.array(before.array), pa.array(after.array)
    same = pc.or_(pc.fill_null(pc.equal(old, new), False), pc.and_(old.is_null(), new.is_null()))
    return len(old) - int(pc.sum(same).as_py() or 0)


def standardize(frame: pd.DataFrame, entry: CatalogEntry) -> StandardizedFrame:
    """Standardize every catalog column of ``frame``; other columns (provenance) are left untouched.

    Values stay text: typing is the rules' job (``assets.governance.rules.type_frame``).
    """
    out = frame.copy(deep=False)  # every catalog column is replaced below; the rest is shared
    changed: dict[str, int] = {}
    for item in entry.items:
        if item.column not in frame.columns:
            continue
        before = as_text(frame[item.column])
        after = standardize_column(before, item)
        out[item.column] = after
        changed[item.column] = changed_cells(before, after)
    return StandardizedFrame(frame=out, changed=changed)
