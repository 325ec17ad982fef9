"""Normalization of values before the detectors match them, shared within one scan.

Every matcher normalizes the values it is given (NFKC, trimmed, separators removed …), and a column
is matched by every detector: inside ``shared_normalization()`` each normalization of one Series
object is computed once and reused by the other matchers (keyed by the object, which the memo keeps
alive, so an id is never reused within the scope). Results are the same as without it; callers do
not modify what they get back.

``compact`` takes a fast path for the values made only of ASCII and the CJK Unified Ideographs block
(U+4E00–U+9FFF), which is nearly every value delivered: such a value is its own NFKC, only its ASCII
letters have case, and its only whitespace is ASCII, so Arrow's regex and case kernels with the
character classes spelled out give exactly what ``re`` and ``str.upper`` give (a third of the time at
100,000 addresses). Every other value (full-width forms, other scripts, a value Arrow cannot hold)
takes the Python path, as before. The result is ``string`` (Python-backed) either way, so the matchers
that read it keep Python's ``re``. tests/test_normalize_fast.py checks both paths agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def normalized_already(values: pd.Series) -> pd.Series:
    """``values`` (``string``, every one already NFKC, trimmed and not empty, as ``normalize_text``
    gives them) taken as their own normalization within the current scope: the matchers do not
    normalize them again. Returns ``values``."""
    memo = _memo.get()
    if memo is not None:
        memo[("text", id(values))] = (values, values)
    return values


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


# ASCII and the CJK Unified Ideographs block: NFKC-stable, cased only in ASCII, whitespace only ASCII
_SIMPLE = r"^[\x00-\x7f\x{4e00}-\x{9fff}]*$"
# _SEPARATORS among those: ``re``'s ``\s`` takes the ASCII whitespace, \x1c-\x1f included
_ASCII_SEPARATORS = r"[\t\n\x0b\x0c\r\x1c-\x1f \-]+"


def _split(text: pd.Series) -> tuple[pa.Array, np.ndarray] | None:
    """``text`` (a ``string`` Series) as Arrow and which of its values take the fast path; None
    when none does or Arrow cannot hold the text (a lone surrogate)."""
    try:
        arrow = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    except (pa.ArrowException, UnicodeError):
        return None
    simple = pc.fill_null(pc.match_substring_regex(arrow, _SIMPLE), False)
    if not pc.any(simple).as_py():
        return None
    return arrow, simple.to_numpy(zero_copy_only=False)


def _joined(
    text: pd.Series, fast: pa.Array, simple: np.ndarray, slow: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """The fast path's values where ``simple``, ``slow`` of the others, as a ``string`` Series."""
    out = fast.to_numpy(zero_copy_only=False)
    if not simple.all():
        rest = ~simple
        out[rest] = slow(text[rest]).to_numpy(dtype=object, na_value=None)
    return pd.Series(pd.array(out, dtype="string"), index=text.index, name=text.name)


def _normalize_text(values: pd.Series) -> pd.Series:
    # NFKC in Python: ``unicodedata`` returns a value already normal as it is, at C speed
    s = values.astype("string").str.normalize("NFKC").str.strip()
    return s.where(s.fillna("").str.len().gt(0), pd.NA)


def normalize_text(values: pd.Series) -> pd.Series:
    """NFKC (full-width digits, letters and spaces → half-width), trimmed; empty strings → NA."""
    return _memoized("text", values, _normalize_text)


def _compact_python(text: pd.Series) -> pd.Series:
    s = text.str.replace(_SEPARATORS, "", regex=True).str.upper()
    return s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


def _compact(values: pd.Series) -> pd.Series:
    text = normalize_text(values)
    split = _split(text)
    if split is None:
        return _compact_python(text)
    arrow, simple = split
    fast = pc.ascii_upper(pc.replace_substring_regex(arrow, _ASCII_SEPARATORS, ""))
    fast = pc.replace_substring_regex(fast, r"^([0-9]+)\.0$", r"\1")
    return _joined(text, fast, simple, _compact_python)


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
