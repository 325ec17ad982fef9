"""The detectors' code normalization (``compact``) takes Arrow's kernels for values of ASCII and CJK
Unified Ideographs (assets/classification/normalize.py): it must give exactly what the Python path
gives — NFKC, ``str.strip``, ``re`` and ``str.upper`` — on every value, whichever path it takes, and
so must everything built on it."""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pandas as pd
import pytest

from assets.classification.normalize import (
    _SEPARATORS,
    _split,
    compact,
    despaced,
    normalize_phone,
    normalize_text,
    shared_normalization,
)


def reference_text(values: pd.Series) -> pd.Series:
    """normalize_text as it was, all in Python."""
    s = values.astype("string").str.normalize("NFKC").str.strip()
    return s.where(s.fillna("").str.len().gt(0), pd.NA)


def reference_compact(values: pd.Series) -> pd.Series:
    s = reference_text(values).str.replace(_SEPARATORS, "", regex=True).str.upper()
    return s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


ASCII = [chr(i) for i in range(128)]
CJK = [chr(i) for i in range(0x4E00, 0xA000)]
# outside the fast path: full-width forms, other spaces and dashes, compatibility ideographs,
# characters whose NFKC or upper case is ASCII, combining marks, other scripts' digits, Hangul
OTHER = list(
    "０１２３４５６７８９ＡＢＣｘＸ－（）\u3000\u00a0\u2002\u2009\u200b\u2028\u0085"
    "\u2010\u2011\u2012\u2013\u2014\u2015豈更車ſıßﬀǰ\u0301\u0308é٣۴߂१〇一二①⑴²Ⅻ가힣ᄀ\U0002000a"
)


def _strings(rng: random.Random, alphabet: list[str], n: int) -> list[str]:
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(n)]


def _frames() -> list[pd.Series]:
    rng = random.Random(20261129)
    digits = list("0123456789") + [".", "0", "X", "x", " ", "-", "\t", "\x1c"]
    values: list[object] = (
        ASCII
        + CJK[:: max(1, len(CJK) // 3000)]
        + OTHER
        + _strings(rng, ASCII, 3000)
        + _strings(rng, digits, 3000)
        + _strings(rng, ASCII[32:] + CJK[:50], 3000)
        + _strings(rng, digits + OTHER, 3000)
        + [" 138 1234 5678 ", "13812345678.0", "1.38E+10", "  ", "", "\x1f\x1e", "1.0\n"]
    )
    objects = pd.Series([*values, None, np.nan, pd.NA, 12, 3.0], dtype=object)
    return [
        objects,
        pd.Series(values, dtype="string"),
        pd.Series(values, dtype="string[pyarrow]"),
        pd.Series(values, dtype=object, index=np.arange(len(values))[::-1] * 3, name="col"),
        pd.Series(["a", "\ud800b", "一"], dtype=object),  # a lone surrogate: Arrow cannot hold it
        pd.Series([None, None], dtype=object),
        pd.Series(OTHER, dtype=object),
        pd.Series([], dtype=object),
    ]


@pytest.mark.parametrize("values", _frames(), ids=lambda s: f"{s.dtype}-{len(s)}")
def test_fast_paths_equal_the_python_path(values: pd.Series) -> None:
    for ours, reference in ((normalize_text, reference_text), (compact, reference_compact)):
        got, want = ours(values), reference(values)
        pd.testing.assert_series_equal(got, want)
        assert str(got.dtype) == "string" and got.dtype.storage == "python"
    with shared_normalization():  # memoized, and the functions built on them
        text, code = normalize_text(values), compact(values)
        pd.testing.assert_series_equal(text, reference_text(values))
        pd.testing.assert_series_equal(code, reference_compact(values))
        phone = reference_compact(values).str.replace(r"[()]", "", regex=True)
        phone = phone.str.replace(r"^(?:\+86|0086|86)(?=1\d{10}$)", "", regex=True)
        pd.testing.assert_series_equal(normalize_phone(values), phone)
        spaced = reference_text(values).str.replace(r"\s+", "", regex=True)
        pd.testing.assert_series_equal(despaced(values), spaced)


def test_the_fast_paths_character_set_is_what_they_assume() -> None:
    """Every character of the fast path is its own NFKC, may not combine with a neighbour, has no
    case outside ASCII, and is whitespace (to ``str.isspace`` and ``re``'s ``\\s``) only in ASCII."""
    for c in ASCII + CJK:
        assert unicodedata.normalize("NFKC", c) == c
        assert unicodedata.combining(c) == 0
        assert unicodedata.decomposition(c) == ""
        if c not in ASCII:
            assert c.upper() == c and not c.isspace() and not re.match(r"[\s\d]", c)
    spaces = {c for c in ASCII if c.isspace()}
    assert spaces == {c for c in ASCII if re.match(r"\s", c)}
    assert spaces == set("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")
    # a value of them is NFKC-normal as a whole, not only character by character
    rng = random.Random(7)
    for value in _strings(rng, ASCII + CJK[::97], 2000):
        assert unicodedata.is_normalized("NFKC", value)


def test_most_delivered_values_take_the_fast_path() -> None:
    """Not vacuous: names, addresses and codes as delivered are in the fast path's set."""
    values = pd.Series(
        ["张三", "宁夏回族自治区中卫市沙坡头区文昌镇12号", "640502199001011234", "＊"]
    )
    split = _split(values.astype("string"))
    assert split is not None
    assert split[1].tolist() == [True, True, True, False]
