"""k-anonymity (k-匿名, GB/T 37964-2019 / GB/T 42460-2023) over the quasi-identifiers.

A table is k-anonymous when every combination of quasi-identifier values it publishes is shared by at
least k rows. ``enforce_k_anonymity`` reaches the threshold the classic Datafly way: while more rows than
the suppression allowance sit in groups smaller than k, generalize — one level, whole column — the
quasi-identifier with the most distinct values — among those whose next level still says something (a
column goes to ``*`` only when no other can be generalized further, so a township becomes its county
before a birth date is emptied) —; then suppress (remove) the rows of the remaining small groups. Because whole columns are generalized to the same level, publishing the union of tables each
k-anonymous at the same levels is k-anonymous too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.desensitization.generalize import Hierarchy


def class_sizes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """For each row, the size of its equivalence class over ``columns`` (missing values are a value
    of their own). With no columns every row is in one class."""
    if not columns:
        return np.full(len(frame), len(frame), dtype=np.int64)
    if frame.empty:
        return np.zeros(0, dtype=np.int64)
    group = frame.groupby(list(columns), dropna=False, sort=False).ngroup().to_numpy()
    return np.bincount(group)[group]


def measure_k(frame: pd.DataFrame, columns: Sequence[str]) -> int | None:
    """The k of ``frame`` over ``columns``: its smallest equivalence class. None when it has no rows
    or there are no quasi-identifiers (nothing to re-identify by)."""
    if frame.empty or not columns:
        return None
    return int(class_sizes(frame, columns).min())


@dataclass(frozen=True)
class KAnonymityResult:
    """The generalized quasi-identifiers of the rows that stay, and what it took."""

    quasi_identifiers: pd.DataFrame  # one text column per QI, index = the kept rows
    kept: np.ndarray  # bool per input row
    k: int | None
    suppressed: int
    levels: dict[str, int]
    level_names: dict[str, str]
    threshold: int

    @property
    def meets_threshold(self) -> bool:
        return self.k is None or self.k >= self.threshold


def enforce_k_anonymity(
    hierarchies: Sequence[Hierarchy],
    *,
    n_rows: int,
    index: pd.Index,
    k: int,
    max_suppression_rate: float,
) -> KAnonymityResult:
    """Generalize step by step, then suppress, until every published class has at least ``k`` rows.

    Each hierarchy's series must be indexed by ``index`` (``n_rows`` long).
    """
    if k < 1:
        raise ValueError("k 应不小于1")
    levels = {h.column: h.start for h in hierarchies}
    current = pd.DataFrame({h.column: h.level(h.start) for h in hierarchies}, index=index)
    columns = [h.column for h in hierarchies]
    allowance = math.floor(max_suppression_rate * n_rows)

    while True:
        sizes = class_sizes(current, columns)
        at_risk = int((sizes < k).sum())
        if at_risk <= allowance:
            break
        movable = [h for h in hierarchies if levels[h.column] < h.top]
        if not movable:
            break
        # a step that does not empty the column first (township → county before a date goes to
        # ``*``): a column is suppressed whole only when no other can be generalized any more
        partial = [h for h in movable if levels[h.column] + 1 < h.top]
        # Datafly: the column with the most distinct values gains most from one step up
        chosen = max(partial or movable, key=lambda h: current[h.column].nunique(dropna=False))
        levels[chosen.column] += 1
        current[chosen.column] = chosen.level(levels[chosen.column])

    sizes = class_sizes(current, columns)
    kept = sizes >= k if columns else np.ones(n_rows, dtype=bool)
    remaining = current.loc[kept]
    return KAnonymityResult(
        quasi_identifiers=remaining,
        kept=kept,
        k=measure_k(remaining, columns),
        suppressed=int((~kept).sum()),
        levels=levels,
        level_names={h.column: h.names[levels[h.column]] for h in hierarchies},
        threshold=k,
    )


class ClassCounts:
    """Equivalence-class sizes over ``columns`` gathered a chunk of rows at a time, for measuring k
    on a table too large to hold at once: ``k`` is what ``measure_k`` gives on all the rows."""

    _ROWS = "__class_rows"

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.rows = 0
        self._parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        if not self.columns or frame.empty:
            return
        sizes = frame.groupby(self.columns, dropna=False, sort=False).size()
        self._parts.append(sizes.rename(self._ROWS).reset_index())
        if len(self._parts) >= 16:
            self._parts = [self._merged()]

    def _merged(self) -> pd.DataFrame:
        merged = pd.concat(self._parts, ignore_index=True)
        sums = merged.groupby(self.columns, dropna=False, sort=False)[self._ROWS].sum()
        return sums.reset_index()

    def k(self) -> int | None:
        """The smallest class; None when there are no rows or no columns."""
        if not self.rows or not self.columns:
            return None
        return int(self._merged()[self._ROWS].min())
