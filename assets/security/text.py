"""Free text people type into the register (titles, descriptions, fixes, findings) is stored with every
long digit run masked: an ID number, mobile or card pasted into an incident never reaches the records,
the reports or the audit log."""

from __future__ import annotations

import pandas as pd

from assets.common.masking import mask_digit_runs


def scrub(text: str | None) -> str | None:
    if text is None:
        return None
    return str(mask_digit_runs(pd.Series([text])).iloc[0])


def required(text: str | None, what: str) -> str:
    if text is None or not text.strip():
        raise ValueError(f"必须填写{what}")
    return scrub(text.strip()) or ""
