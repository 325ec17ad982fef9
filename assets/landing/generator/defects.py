"""Defects injected into clean rows, each breaking exactly the rule its kind names.

A defect is chosen among the kinds that apply to the dataset's rules, then placed on a row where it
breaks nothing else (a future date is not put where it would also break a date order, a shifted birth
date stays in the ID's birth year …). Every row carries at most one defect, so the ground truth can be
counted row by row. The nonstandard-but-recoverable kinds (``nonstandard_date``, ``fullwidth_chars``,
``decorated_phone``, ``lowercase_x``) keep the value's meaning: governance standardizes them later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.landing.generator.defect_base import FULLWIDTH, Defect, Option, id_shaped, unicode_text
from assets.landing.generator.defect_kinds import RuleBreakingKinds
from assets.landing.generator.rules import key_sets

DEFECT_KINDS: tuple[str, ...] = (
    "missing_required",
    "bad_check_digit",
    "id_birth_mismatch",
    "id_gender_mismatch",
    "wrong_region_code",
    "duplicate_key",
    "out_of_range",
    "unknown_enum",
    "future_date",
    "date_order",
    "bad_format",
    "township_outside_county",
    "employer_uscc_mismatch",  # an empty_iff rule violated
    "nonstandard_date",
    "fullwidth_chars",
    "decorated_phone",
    "lowercase_x",
)
RECOVERABLE_KINDS = frozenset(
    {"nonstandard_date", "fullwidth_chars", "decorated_phone", "lowercase_x"}
)


class DefectInjector(RuleBreakingKinds):
    """Plans and applies the defects of one file's frame (mutated in place)."""

    # -- planning ------------------------------------------------------------------------------

    def inject(self, rate: float) -> list[Defect]:
        n, rng = self.n, self.rng
        count = min(int(rng.binomial(n, rate)), n // 2) if rate > 0 and n > 1 else 0
        options = [o for o in self._options() if o.candidates.any()]
        if count == 0 or not options:
            return []
        kinds = sorted({o.kind for o in options}, key=DEFECT_KINDS.index)
        per_kind = np.bincount(rng.integers(0, len(kinds), size=count), minlength=len(kinds))
        planned: list[tuple[Option, int]] = []
        for kind, k in zip(kinds, per_kind, strict=True):
            of_kind = [o for o in options if o.kind == kind]
            split = np.bincount(rng.integers(0, len(of_kind), size=int(k)), minlength=len(of_kind))
            planned += [(o, int(c)) for o, c in zip(of_kind, split, strict=True) if c]
        clean = {column: values.copy() for column, values in self.frame.items()}
        used = np.zeros(n, dtype=bool)
        defects: list[Defect] = []
        planned.sort(key=lambda p: p[0].kind != "duplicate_key")  # duplicates reserve clean sources
        for option, k in planned:
            if option.kind == "duplicate_key":
                rows = self._place_duplicates(option, k, used)
            else:
                free = np.flatnonzero(option.candidates & ~used)
                rows = np.sort(rng.choice(free, size=min(k, len(free)), replace=False))
                option.apply(rows)
            used[rows] = True
            defects += [Defect(int(r), option.column, option.kind) for r in rows]
        defects = self._undo_accidental_duplicates(defects, clean)
        return sorted(defects, key=lambda d: d.row)

    def _undo_accidental_duplicates(
        self, defects: list[Defect], clean: dict[str, np.ndarray]
    ) -> list[Defect]:
        """A changed value may happen to equal another row's key (a low-cardinality key): such a
        row is restored to its clean values and its defect dropped, so duplicates are only the
        planned ones."""
        sets = key_sets(self.entry)
        if not sets:
            return defects
        in_groups = np.zeros(self.n, dtype=bool)
        for key in sets:
            part = pd.DataFrame({c: self.frame[c] for c in key})
            present = part.notna().all(axis=1).to_numpy()
            grouped = np.zeros(self.n, dtype=bool)
            grouped[present] = part[present].duplicated(keep=False).to_numpy()
            in_groups |= grouped
        accidental = {d.row for d in defects if d.kind != "duplicate_key" and in_groups[d.row]}
        if not accidental:
            return defects
        rows = np.array(sorted(accidental))
        for column, values in self.frame.items():
            values[rows] = clean[column][rows]
        return [d for d in defects if d.row not in accidental]

    def _options(self) -> list[Option]:
        builders = (
            self._missing_required,
            self._bad_check_digit,
            self._id_birth_mismatch,
            self._id_gender_mismatch,
            self._wrong_region_code,
            self._duplicate_key,
            self._out_of_range,
            self._unknown_enum,
            self._future_date,
            self._date_order,
            self._bad_format,
            self._township_outside_county,
            self._empty_iff,
            self._nonstandard_date,
            self._fullwidth_chars,
            self._decorated_phone,
            self._lowercase_x,
        )
        return [option for build in builders for option in build()]

    # -- recoverable kinds (governance standardizes them) ------------------------------------

    def _nonstandard_date(self) -> list[Option]:
        def change(v: str) -> str:
            y, m, d = v[:4], int(v[5:7]), int(v[8:10])
            return self._pick([f"{y}/{m}/{d}", f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日"])

        return [
            Option(
                "nonstandard_date",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, change),
            )
            for item in self._date_items()
        ]

    def _fullwidth_chars(self) -> list[Option]:
        return [
            Option(
                "fullwidth_chars",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, lambda v: v.translate(FULLWIDTH)),
            )
            for item in self._items_with("cn_id_number", "id_or_uscc", "cn_mobile", "phone")
        ]

    def _decorated_phone(self) -> list[Option]:
        def change(v: str) -> str:
            if v.startswith("0"):
                area, local = v.split("-", 1)
                return self._pick([f"({area}){local}", f"{area} {local}"])
            return self._pick(
                [
                    f"+86 {v[:3]}-{v[3:7]}-{v[7:]}",
                    f"+86{v}",
                    f"{v[:3]} {v[3:7]} {v[7:]}",
                    f"(+86){v}",
                    f"{v[:3]}-{v[3:7]}-{v[7:]}",
                ]
            )

        return [
            Option(
                "decorated_phone",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, change),
            )
            for item in self._items_with("cn_mobile", "phone")
        ]

    def _lowercase_x(self) -> list[Option]:
        options = []
        for item in self._items_with("cn_id_number", "id_or_uscc"):
            values = self.frame[item.column]
            text = unicode_text(values)
            ends_x = id_shaped(text) & (np.strings.slice(text, 17, 18) == "X")
            options.append(
                Option(
                    "lowercase_x",
                    item.column,
                    ends_x,
                    self._map_rows(item.column, lambda v: v[:-1] + "x"),
                )
            )
        return options
