"""Display masking of personal data (GB/T 35273 展示脱敏).

Used wherever a value must be shown to a person without disclosing it: quality-ticket examples, reports,
previews in Dagster metadata, and the masking policies of desensitization. Vectorized over pandas Series
with Arrow's string kernels (lengths and slices in characters, not bytes); the result is Arrow-backed
text (``string[pyarrow]``), <NA> where the value is missing.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.text import arrow_text, as_text, from_arrow_text

MASK = "*"
_MASK = pa.scalar(MASK, pa.large_string())


def _keep_ends(s: pd.Series, head: int, tail: int) -> pd.Series:
    text = arrow_text(s).cast(pa.large_string())
    n = pc.utf8_length(text)
    kept = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, head),
        pc.binary_repeat(_MASK, pc.max_element_wise(pc.subtract(n, head + tail), 0)),
        pc.utf8_slice_codeunits(text, -tail) if tail else pa.scalar("", pa.large_string()),
        pa.scalar("", pa.large_string()),
    )
    # too short to keep both ends: hide everything
    masked = pc.if_else(pc.less_equal(n, head + tail), pc.binary_repeat(_MASK, n), kept)
    return from_arrow_text(masked, s.index)


def mask_id_number(s: pd.Series) -> pd.Series:
    """6405**********0018: division prefix and last four kept."""
    return _keep_ends(s, 4, 4)


def mask_phone(s: pd.Series) -> pd.Series:
    """138****5678."""
    return _keep_ends(s, 3, 4)


def mask_bank_card(s: pd.Series) -> pd.Series:
    """6222***********1234."""
    return _keep_ends(s, 4, 4)


def mask_name(s: pd.Series) -> pd.Series:
    """张** — the surname (first character) kept."""
    return _keep_ends(s, 1, 0)


def mask_address(s: pd.Series) -> pd.Series:
    """The first six characters (county, town) kept; the street and number hidden."""
    return _keep_ends(s, 6, 0)


def mask_generic(s: pd.Series) -> pd.Series:
    """For a value of unknown kind: first and last character kept."""
    return _keep_ends(s, 1, 1)


MASKERS = {
    "cn_id_number": mask_id_number,
    "cn_mobile_phone": mask_phone,
    "bank_card": mask_bank_card,
    "person_name": mask_name,
    "address": mask_address,
    "email": mask_generic,
}


def mask_series(s: pd.Series, pii_type: str | None) -> pd.Series:
    """Mask a column by its personal-data type; values of columns without one are returned as text."""
    masker = MASKERS.get(pii_type or "")
    return masker(s) if masker else as_text(s)


def mask_value(value: object, pii_type: str | None) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    result = mask_series(pd.Series([str(value)]), pii_type).iloc[0]
    return None if pd.isna(result) else str(result)


_DIGIT_RUN = r"(?<![0-9])([0-9]{3})[0-9]{5,}([0-9]{2}[0-9Xx]?)(?![0-9])"


def mask_digit_runs(s: pd.Series) -> pd.Series:
    """Hide every run of 10 or more digits inside text (an ID, a mobile, a card number that a column
    holds without being declared as such): the first three and last two or three characters stay."""
    text = s.astype("string")
    return text.str.replace(_DIGIT_RUN, lambda m: f"{m.group(1)}{MASK * 5}{m.group(2)}", regex=True)
