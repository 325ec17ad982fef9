"""Normalization of values before the detectors match them, shared within one scan.

Every matcher normalizes the values it is given (NFKC, trimmed, separators removed …), and a column
is matched by every detector: inside ``shared_normalization()`` each normalization of one Series
object is computed once and reused by the other matchers (keyed by the object, which the memo keeps
alive, so an id is never reused within the scope). Results are the same as without it; callers do
not modify what they get back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

import pandas as pd

P = ParamSpec("P")
R = TypeVar("R")

_SEPARATORS = r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2015]+"

_memo: ContextVar[dict[tuple[str, int], tuple[pd.Series, pd.Series]] | None] = ContextVar(
    "detector_normalization", default=None
)


@contextmanager
def shared_normalization() -> Iterator[None]:
    """Within the block, each normalization of one Series is computed once."""
    if _memo.get() is not None:  # an outer scope already shares
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def sharing_normalization(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run inside :func:`shared_normalization`."""

    @functools.wraps(function)
    def shared(*args: P.args, **kwargs: P.kwargs) -> R:
        with shared_normalization():
            return function(*args, **kwargs)

    return shared


def _memoized(kind: str, values: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series:
    memo = _memo.get()
    if memo is None:
        return compute(values)
    key = (kind, id(values))
    hit = memo.get(key)
    if hit is not None and hit[0] is values:
        return hit[1]
    result = compute(values)
    memo[key] = (values, result)
    return result


def _normalize_text(values: pd.Series) -> pd.Series:
    s = values.astype("string").str.normalize("NFKC").str.strip()
    return s.where(s.fillna("").str.len().gt(0), pd.NA)


def normalize_text(values: pd.Series) -> pd.Series:
    """NFKC (full-width digits, letters and spaces → half-width), trimmed; empty strings → NA."""
    return _memoized("text", values, _normalize_text)


def _compact(values: pd.Series) -> pd.Series:
    s = normalize_text(values).str.replace(_SEPARATORS, "", regex=True).str.upper()
    return s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


def compact(values: pd.Series) -> pd.Series:
    """A code as one token: normalized, inner spaces and dashes removed, letters upper-cased.

    ``13812345678.0`` (a number that went through a float) loses its ``.0``; anything a float mangled
    further (``1.38E+10``) is left as it is and matches nothing.
    """
    return _memoized("compact", values, _compact)


def _normalize_phone(values: pd.Series) -> pd.Series:
    s = compact(values).str.replace(r"[()]", "", regex=True)
    return s.str.replace(r"^(?:\+86|0086|86)(?=1\d{10}$)", "", regex=True)


def normalize_phone(values: pd.Series) -> pd.Series:
    """``+86 138-1234-5678``, ``(86)13812345678``, ``0086…`` → ``13812345678``."""
    return _memoized("phone", values, _normalize_phone)


def despaced(values: pd.Series) -> pd.Series:
    """Normalized text without any whitespace (names and addresses)."""
    return _memoized(
        "despaced", values, lambda v: normalize_text(v).str.replace(r"\s+", "", regex=True)
    )
