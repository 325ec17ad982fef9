"""Generalization (泛化): vectorized steps from a precise value to coarser ones, and the hierarchies
k-anonymity climbs (birth date → year → 5-year band → 10-year band → *; township → county → * …).

Every generalized value is text. ``SUPPRESSED`` ("*") is the top of every hierarchy: the value hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.city import City
from assets.common.reference import ETHNICITIES
from assets.common.text import STRING, as_text, format_dates, from_arrow_text, regex_extract

SUPPRESSED = "*"
MAJORITY_ETHNICITY = "汉族"
MINORITY_ETHNICITIES = "少数民族"


def _text(values: pd.Series) -> pd.Series:
    return pd.Series(values, dtype=STRING)


def to_dates(values: pd.Series) -> pd.Series:
    """A date column as datetime64 (typed columns pass through; ISO text is parsed)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return pd.to_datetime(as_text(values), format="%Y-%m-%d", errors="coerce")


def date_text(values: pd.Series) -> pd.Series:
    return format_dates(to_dates(values), "%Y-%m-%d")


def to_month(values: pd.Series) -> pd.Series:
    """1990-03-14 → 1990-03."""
    return format_dates(to_dates(values), "%Y-%m")


def _digits(numbers: pd.Series) -> pa.Array:
    """Whole numbers (nullable) as decimal text, cast by Arrow (no Python string per value)."""
    return pc.cast(pa.array(numbers.astype("Int64").array), pa.large_string())


def to_year(values: pd.Series) -> pd.Series:
    """1990-03-14 → 1990."""
    return from_arrow_text(_digits(to_dates(values).dt.year), values.index)


def to_year_band(values: pd.Series, width: int) -> pd.Series:
    """1992-03-14 with width 5 → 1990-1994 (bands aligned to multiples of ``width``)."""
    year = to_dates(values).dt.year.astype("Int64")
    start = (year // width) * width
    dash = pa.scalar("-", pa.large_string())
    band = pc.binary_join_element_wise(_digits(start), _digits(start + width - 1), dash)
    return from_arrow_text(band, values.index)


def _edge(value: float) -> str:
    """1000000.0 → 1000000, 2.5 → 2.5 (never scientific notation)."""
    return format(value, "f").rstrip("0").rstrip(".")


def to_amount_band(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """An amount to its band of ``edges``: 1234.5 with edges (…, 1000, 2000, …) → 1000-2000
    (lower bound included); below the first edge → <first; from the last → ≥last."""
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    edge_array = np.asarray(edges, dtype=float)
    labels = np.array(
        [f"<{_edge(edge_array[0])}"]
        + [
            f"{_edge(lo)}-{_edge(hi)}"
            for lo, hi in zip(edge_array[:-1], edge_array[1:], strict=True)
        ]
        + [f"≥{_edge(edge_array[-1])}"],
        dtype=object,
    )
    filled = numbers.fillna(0).to_numpy(dtype=float)
    band = np.searchsorted(edge_array, filled, side="right")
    out = pd.Series(labels[band], index=values.index, dtype=STRING)
    return out.mask(numbers.isna().to_numpy())


def widen_amount_bands(edges: Sequence[float]) -> tuple[float, ...]:
    """Every other edge dropped: the next coarser banding."""
    kept = list(edges[::2])
    if kept[-1] != edges[-1]:
        kept.append(edges[-1])
    return tuple(kept)


def ethnicity_group(values: pd.Series) -> pd.Series:
    """汉族 stays; any other of the 56 becomes 少数民族."""
    s = as_text(values)
    minority = s.isin([e for e in ETHNICITIES if e != MAJORITY_ETHNICITY]).fillna(False)
    return s.mask(minority.to_numpy(dtype=bool), MINORITY_ETHNICITIES)


def county_names(county_codes: pd.Series, city: City) -> pd.Series:
    """County code → county name (沙坡头区 …); unknown codes → <NA>."""
    names = {c.code: c.name for c in city.counties}
    return _text(as_text(county_codes).map(names, na_action="ignore"))


def address_to_township(
    addresses: pd.Series, county_codes: pd.Series | None, city: City
) -> pd.Series:
    """An address reduced to the township it names (滨河镇, 香山乡 …), else to its county's name,
    else hidden. Townships come from the city configuration, longest names first so that 大战场镇 is
    not read as a shorter name."""
    townships = sorted({t for c in city.counties for t in c.townships}, key=len, reverse=True)
    pattern = "(?:" + "|".join(re.escape(t) for t in townships) + ")"
    text = as_text(addresses)
    found = regex_extract(text, f"(?P<township>{pattern})")["township"]
    if county_codes is not None:
        found = found.fillna(county_names(county_codes, city))
    return found.fillna(SUPPRESSED).mask(text.isna())


def _constant(index: pd.Index) -> pd.Series:
    return pd.Series(SUPPRESSED, index=index, dtype=STRING)


@dataclass
class Hierarchy:
    """The generalization levels of one column, level 0 the most precise; the last is ``*``.

    ``start`` is where generalization begins (the policy's base step, e.g. a birth date's year);
    ``exact_base`` says whether level 0 is the value itself (an address's level 0 is its township).
    Levels are computed on demand from the original column and cached.
    """

    column: str
    names: tuple[str, ...]
    steps: tuple[Callable[[], pd.Series], ...]
    start: int = 0
    exact_base: bool = True
    _cache: dict[int, pd.Series] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.names) != len(self.steps) or not 0 <= self.start < len(self.steps):
            raise ValueError(f"{self.column}: 泛化层级定义不一致")

    @property
    def top(self) -> int:
        return len(self.steps) - 1

    def level(self, i: int) -> pd.Series:
        if i not in self._cache:
            self._cache[i] = self.steps[i]()
        return self._cache[i]


def hierarchy_for(
    frame: pd.DataFrame,
    entry: CatalogEntry,
    item: CatalogItem,
    *,
    pii: str | None,
    generalize: bool,
    city: City,
    date_step: str = "year",
    year_bands: Sequence[int] = (5, 10),
    amount_bands: Sequence[float] = (0, 1000, 10000),
) -> Hierarchy:
    """The hierarchy of one column, chosen by what it holds.

    ``generalize`` means the policy asked for generalization: the hierarchy then starts at its base
    step (a date's year, an amount's band) instead of the precise value.
    """
    col = item.column
    values = frame[col]
    counties = frame["county_code"] if "county_code" in frame.columns else None
    index = frame.index
    township_rule = any(
        r.check == "township_in_county" and r.columns[0] == col for r in entry.rules
    )

    def to_county() -> pd.Series:
        if counties is None:
            return _constant(index)
        return county_names(counties, city).mask(as_text(values).isna())

    if item.type == "date":
        names = ["日期", "月", "年", *(f"{w}年段" for w in year_bands), SUPPRESSED]
        steps = [
            lambda: date_text(values),
            lambda: to_month(values),
            lambda: to_year(values),
            *(lambda w=w: to_year_band(values, w) for w in year_bands),
            lambda: _constant(index),
        ]
        start = (
            (names.index("年") if date_step == "year" else names.index("月")) if generalize else 0
        )
        return Hierarchy(col, tuple(names), tuple(steps), start)
    if item.type in ("integer", "decimal"):
        wider = widen_amount_bands(amount_bands)
        steps = [
            lambda: _text(as_text(values)),
            lambda: to_amount_band(values, amount_bands),
            lambda: to_amount_band(values, wider),
            lambda: _constant(index),
        ]
        return Hierarchy(
            col, ("原值", "区间", "宽区间", SUPPRESSED), tuple(steps), 1 if generalize else 0
        )
    if pii == "address":
        steps = [
            lambda: address_to_township(values, counties, city),
            to_county,
            lambda: _constant(index),
        ]
        return Hierarchy(col, ("乡镇", "县（区）", SUPPRESSED), tuple(steps), 0, exact_base=False)
    if township_rule:
        steps = [lambda: _text(as_text(values)), to_county, lambda: _constant(index)]
        return Hierarchy(col, ("乡镇", "县（区）", SUPPRESSED), tuple(steps), 0)
    if item.enum_ref == "ethnicities":
        steps = [
            lambda: _text(as_text(values)),
            lambda: ethnicity_group(values),
            lambda: _constant(index),
        ]
        return Hierarchy(col, ("民族", "汉族/少数民族", SUPPRESSED), tuple(steps), 0)
    steps = [lambda: _text(as_text(values)), lambda: _constant(index)]
    return Hierarchy(col, ("原值", SUPPRESSED), tuple(steps), 0)
