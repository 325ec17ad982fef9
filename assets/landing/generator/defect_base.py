"""The base of the defect injector: a defect, a planned option, and the helpers every kind uses
(present values, clean dates, row writers, date orders); see :mod:`assets.landing.generator.defects`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.landing.generator.context import FileContext, Frame
from assets.landing.generator.rules import RuleIndex

ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
ID_CHECK_CHARS = "0123456789X"
FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
UNKNOWN_WORDS = ("未知", "其它", "不详", "待定")
FOREIGN_TOWNSHIP_FALLBACK = ("工业园区", "经济开发区")
MAX_SOURCE_PROBES = 32


@dataclass(frozen=True)
class Defect:
    row: int  # 0-based data row; the file's source_row is row + 2
    column: str
    kind: str


@dataclass
class Option:
    kind: str
    column: str
    candidates: np.ndarray  # rows where this defect breaks only its own rule
    apply: Callable[[np.ndarray], None]


class InjectorBase:
    """One file's frame (mutated in place), its rules and the random generator the kinds draw from."""

    def __init__(self, ctx: FileContext, frame: Frame, rng: np.random.Generator) -> None:
        self.ctx = ctx
        self.entry = ctx.entry
        self.frame = frame
        self.rng = rng
        self.rules = RuleIndex.of(ctx.entry)
        self.n = len(next(iter(frame.values())))
        self.as_of = np.datetime64(ctx.as_of)
        self._present: dict[str, np.ndarray] = {}
        self._dates: dict[str, np.ndarray] = {}
        self._keyed = np.zeros(self.n, dtype=bool)  # rows whose whole key is present

    # -- helpers -------------------------------------------------------------------------------

    def present(self, column: str) -> np.ndarray:
        if column not in self._present:
            self._present[column] = pd.notna(self.frame[column])
        return self._present[column]

    def dates(self, column: str) -> np.ndarray:
        """The clean frame's dates (options are all planned before any defect is applied)."""
        if column not in self._dates:
            self._dates[column] = self.frame[column].astype("datetime64[D]")
        return self._dates[column]

    def _map_rows(self, column: str, change: Callable[[str], str]) -> Callable[[np.ndarray], None]:
        values = self.frame[column]

        def apply(rows: np.ndarray) -> None:
            for r in rows:
                values[r] = change(values[r])

        return apply

    def _set_rows(self, column: str, new: np.ndarray | None) -> Callable[[np.ndarray], None]:
        """Write ``new[rows]`` (an array over all rows, or ``None`` for empty) into the rows."""
        values = self.frame[column]

        def apply(rows: np.ndarray) -> None:
            values[rows] = None if new is None else new[rows]

        return apply

    def _pick(self, pool: list[str] | tuple[str, ...]) -> str:
        return pool[int(self.rng.integers(0, len(pool)))]

    def _orders_hold(
        self, column: str, proposed: np.ndarray, skip: tuple[str, str] | None = None
    ) -> np.ndarray:
        """Rows where every date_order rule on ``column`` still holds with ``proposed`` dates."""
        ok = np.ones(self.n, dtype=bool)
        for earlier, later in self.rules.date_order:
            if (earlier, later) == skip:
                continue
            if column == earlier:
                other = self.dates(later)
                ok &= np.isnat(other) | (proposed <= other)
            elif column == later:
                other = self.dates(earlier)
                ok &= np.isnat(other) | (other <= proposed)
        return ok

    def _items_with(self, *formats: str):
        return [item for item in self.entry.items if item.format in formats]

    def _date_items(self):
        return [item for item in self.entry.items if item.type == "date"]


def unicode_text(values: np.ndarray) -> np.ndarray:
    """An object column as a unicode array, empty cells as ""."""
    return np.where(pd.notna(values), values, "").astype(str)


def id_shaped(text: np.ndarray) -> np.ndarray:
    """GB 11643 shape: 17 digits and a digit or X."""
    last = np.strings.slice(text, 17, 18)
    return (
        (np.strings.str_len(text) == 18)
        & np.strings.isdigit(np.strings.slice(text, 0, 17))
        & (np.strings.isdigit(last) | (last == "X"))
    )


def without_category_letter(value: str) -> str:
    return value[1:]


def without_certificate_marks(value: str) -> str:
    return value.replace("第", "").replace("号", "")


def five_digit_division(value: str) -> str:
    return value[:5]


def first_generation_id(value: str) -> str:
    """The 15-digit number of the first ID generation: no century digits, no check character."""
    return value[:6] + value[8:17]
