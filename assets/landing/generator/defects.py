"""Defects injected into clean rows, each breaking exactly the rule its kind names.

A defect is chosen among the kinds that apply to the dataset's rules, then placed on a row where it
breaks nothing else (a future date is not put where it would also break a date order, a shifted birth
date stays in the ID's birth year …). Every row carries at most one defect, so the ground truth can be
counted row by row. The nonstandard-but-recoverable kinds (``nonstandard_date``, ``fullwidth_chars``,
``decorated_phone``, ``lowercase_x``) keep the value's meaning: governance standardizes them later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.common.identifiers import USCC_ALPHABET
from assets.common.reference import ENUM_REFERENCES
from assets.landing.generator import primitives as P
from assets.landing.generator import tables as T
from assets.landing.generator.rows import FileContext, Frame
from assets.landing.generator.rules import RuleIndex, duplicate_key_column, key_sets

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

_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_ID_CHECK_CHARS = "0123456789X"
_FULLWIDTH = str.maketrans(
    {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
)
_UNKNOWN_WORDS = ("未知", "其它", "不详", "待定")
_FOREIGN_TOWNSHIP_FALLBACK = ("工业园区", "经济开发区")
_MAX_SOURCE_PROBES = 32


@dataclass(frozen=True)
class Defect:
    row: int  # 0-based data row; the file's source_row is row + 2
    column: str
    kind: str


@dataclass
class _Option:
    kind: str
    column: str
    candidates: np.ndarray  # rows where this defect breaks only its own rule
    apply: Callable[[np.ndarray], None]


class DefectInjector:
    """Plans and applies the defects of one file's frame (mutated in place)."""

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

    # -- planning ------------------------------------------------------------------------------

    def inject(self, rate: float) -> list[Defect]:
        n, rng = self.n, self.rng
        count = min(int(rng.binomial(n, rate)), n // 2) if rate > 0 and n > 1 else 0
        options = [o for o in self._options() if o.candidates.any()]
        if count == 0 or not options:
            return []
        kinds = sorted({o.kind for o in options}, key=DEFECT_KINDS.index)
        per_kind = np.bincount(rng.integers(0, len(kinds), size=count), minlength=len(kinds))
        planned: list[tuple[_Option, int]] = []
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

    def _options(self) -> list[_Option]:
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

    # -- kinds ---------------------------------------------------------------------------------

    def _missing_required(self) -> list[_Option]:
        # an empty condition column would leave its empty_iff rule undecidable: keep it filled
        protected = {condition for _, condition, _ in self.rules.empty_iff}
        return [
            _Option(
                "missing_required",
                item.column,
                self.present(item.column).copy(),
                self._set_rows(item.column, None),
            )
            for item in self.entry.items
            if item.required and item.column not in protected
        ]

    def _bad_check_digit(self) -> list[_Option]:
        options = []
        for item in self._items_with("cn_id_number", "uscc", "bank_card", "id_or_uscc"):

            def change(value: str, fmt: str = item.format or "") -> str:
                if _ID_SHAPE.match(value):
                    alphabet = _ID_CHECK_CHARS
                elif fmt == "bank_card":
                    alphabet = "0123456789"
                else:
                    alphabet = USCC_ALPHABET
                return value[:-1] + self._pick([c for c in alphabet if c != value[-1]])

            options.append(
                _Option(
                    "bad_check_digit",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, change),
                )
            )
        return options

    def _id_birth_mismatch(self) -> list[_Option]:
        options = []
        for id_column, birth_column in self.rules.birth_of_id.items():
            born = self.dates(birth_column)
            day_of_year = (born - born.astype("datetime64[Y]")).astype(np.int64)
            shift = self.rng.integers(1, 21, size=self.n)
            proposed = born - shift.astype("timedelta64[D]")
            # the shifted date stays in the birth year, so the ID prefix's year rule is untouched
            candidates = (
                self.present(id_column)
                & ~np.isnat(born)
                & (day_of_year >= shift)
                & self._orders_hold(birth_column, proposed)
            )
            options.append(
                _Option(
                    "id_birth_mismatch",
                    birth_column,
                    candidates,
                    self._set_rows(birth_column, P.date_strings(proposed)),
                )
            )
        return options

    def _id_gender_mismatch(self) -> list[_Option]:
        options = []
        for id_column, gender_column in self.rules.gender_of_id.items():
            allowed = set(self.entry.item(gender_column).enum or ())
            swap = next(
                ({a: b, b: a} for a, b in (("男", "女"), ("1", "2")) if {a, b} <= allowed), None
            )
            if swap is None:
                continue
            values = self.frame[gender_column]
            candidates = self.present(id_column) & np.isin(values, list(swap))
            options.append(
                _Option(
                    "id_gender_mismatch",
                    gender_column,
                    candidates,
                    self._map_rows(gender_column, lambda v, s=swap: s[v]),
                )
            )
        return options

    def _wrong_region_code(self) -> list[_Option]:
        county = self.ctx.county
        others = [c.code for c in self.ctx.city.counties if c.code != county.code]
        others += [old.code for old in county.historical_codes]  # a code from before 2004
        pool = [code for code in dict.fromkeys(others) if code != county.code] or [
            self.ctx.city.city.code
        ]
        return [
            _Option(
                "wrong_region_code",
                column,
                self.present(column).copy(),
                self._map_rows(column, lambda v: self._pick(pool)),
            )
            for column in sorted(self.rules.region)
        ]

    def _duplicate_key(self) -> list[_Option]:
        column = duplicate_key_column(self.entry)
        if column is None:
            return []
        keyed = np.ones(self.n, dtype=bool)
        for key in key_sets(self.entry):
            for c in key:
                keyed &= self.present(c)
        candidates = keyed.copy()
        candidates[0] = False
        self._keyed = keyed
        return [_Option("duplicate_key", column, candidates, lambda rows: None)]

    def _place_duplicates(self, option: _Option, k: int, used: np.ndarray) -> np.ndarray:
        """Later rows overwritten by copies of earlier clean rows (the later row is the defect)."""
        free = np.flatnonzero(option.candidates & ~used)
        targets = np.sort(self.rng.choice(free, size=min(k, len(free)), replace=False))
        used[targets] = True
        placed = []
        for target in targets:
            for _ in range(_MAX_SOURCE_PROBES):
                source = int(self.rng.integers(0, target))
                if not used[source] and self._keyed[source]:
                    break
            else:
                used[target] = False
                continue
            used[source] = True
            for values in self.frame.values():
                values[target] = values[source]
            placed.append(target)
        return np.array(placed, dtype=np.int64)

    def _out_of_range(self) -> list[_Option]:
        options = []
        for item in self.entry.items:
            if item.type not in ("integer", "decimal") or (item.min is None and item.max is None):
                continue
            places = 0 if item.type == "integer" else T.DECIMAL_PLACES.get(item.column, 2)

            def change(value: str, item=item, places: int = places) -> str:
                step = 10.0**-places
                below = item.max is None or (item.min is not None and self.rng.random() < 0.5)
                if below:
                    assert item.min is not None
                    if item.min_exclusive and self.rng.random() < 0.5:
                        new = item.min  # the boundary itself is excluded
                    else:
                        new = item.min - max(step, round(float(self.rng.exponential(50.0)), places))
                else:
                    assert item.max is not None
                    new = item.max + max(step, round(float(self.rng.exponential(10.0)), places))
                return str(P.decimal_strings(np.array([new]), places)[0])

            options.append(
                _Option(
                    "out_of_range",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, change),
                )
            )
        return options

    def _unknown_enum(self) -> list[_Option]:
        options = []
        ruled = self.rules.ruled_columns
        for item in self.entry.items:
            if not (item.enum or item.enum_ref) or item.column in ruled:
                continue
            allowed = set(item.enum or ENUM_REFERENCES[item.enum_ref or ""])
            forms = [v[:-1] for v in sorted(allowed) if len(v) >= 2 and v[:-1] not in allowed]
            forms += [w for w in _UNKNOWN_WORDS if w not in allowed]
            forms = list(dict.fromkeys(forms))
            options.append(
                _Option(
                    "unknown_enum",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, lambda v, f=forms: self._pick(f)),
                )
            )
        return options

    def _future_date(self) -> list[_Option]:
        options = []
        for item in self._date_items():
            if not item.not_future or item.column in self.rules.birth_columns:
                continue
            ahead = self.rng.integers(1, 400, size=self.n).astype("timedelta64[D]")
            proposed = self.as_of + ahead
            candidates = self.present(item.column) & self._orders_hold(item.column, proposed)
            options.append(
                _Option(
                    "future_date",
                    item.column,
                    candidates,
                    self._set_rows(item.column, P.date_strings(proposed)),
                )
            )
        return options

    def _date_order(self) -> list[_Option]:
        options = []
        births = self.rules.birth_columns
        for earlier, later in self.rules.date_order:
            gap = self.rng.integers(1, 366, size=self.n).astype("timedelta64[D]")
            first, last = self.dates(earlier), self.dates(later)
            both = ~np.isnat(first) & ~np.isnat(last)
            if later not in births:
                column, proposed = later, first - gap
                candidates = both & self._orders_hold(later, proposed, skip=(earlier, later))
            elif earlier not in births:
                column, proposed = earlier, last + gap
                candidates = both & self._orders_hold(earlier, proposed, skip=(earlier, later))
                if self.entry.item(earlier).not_future:
                    candidates &= proposed <= self.as_of
            else:
                continue
            options.append(
                _Option(
                    "date_order",
                    column,
                    candidates,
                    self._set_rows(column, P.date_strings(proposed)),
                )
            )
        return options

    def _bad_format(self) -> list[_Option]:
        options = []
        for item in self.entry.items:
            column, fmt = item.column, item.format
            candidates = self.present(column).copy()
            if fmt in ("cn_mobile", "phone"):
                change = self._short_phone
            elif fmt == "industry_code":
                change = _without_category_letter
            elif fmt == "certificate_no":
                change = _without_certificate_marks
            elif fmt == "bank_card":
                change = self._truncated_card
            elif fmt == "division_code" and column not in self.rules.region:
                change = _five_digit_division
            elif fmt in ("cn_id_number", "id_or_uscc"):
                text = _text(self.frame[column])
                candidates &= _id_shaped(text) & (np.strings.slice(text, 6, 8) == "19")
                change = _first_generation_id
            elif fmt == "uscc":
                change = self._old_registration_number
            elif item.type == "date" and column not in self.rules.ruled_columns:
                change = self._impossible_date
            else:
                continue
            options.append(
                _Option("bad_format", column, candidates, self._map_rows(column, change))
            )
        return options

    def _short_phone(self, value: str) -> str:
        if value.startswith("0"):  # a landline with too short a local number
            return value[:-2]
        cut = int(self.rng.integers(3, 11))
        return value[:cut] + value[cut + 1 :]  # a mobile with a digit lost

    def _truncated_card(self, value: str) -> str:
        return value[: int(self.rng.integers(12, 16))]

    def _old_registration_number(self, value: str) -> str:
        """The 15-digit 工商注册号 a code replaced."""
        digits = "".join(str(d) for d in self.rng.integers(0, 10, size=9))
        return self.ctx.county.code + digits

    def _impossible_date(self, value: str) -> str:
        return f"{value[:4]}-02-{self._pick(['30', '31'])}"

    def _township_outside_county(self) -> list[_Option]:
        county = self.ctx.county
        own = set(county.townships)
        foreign = [t for c in self.ctx.city.counties if c.code != county.code for t in c.townships]
        pool = [t for t in dict.fromkeys(foreign) if t not in own]
        pool = pool or [w for w in _FOREIGN_TOWNSHIP_FALLBACK if w not in own]
        return [
            _Option(
                "township_outside_county",
                column,
                self.present(column).copy(),
                self._map_rows(column, lambda v: self._pick(pool)),
            )
            for column in sorted(self.rules.township)
        ]

    def _empty_iff(self) -> list[_Option]:
        options = []
        for column, condition, values in self.rules.empty_iff:
            should_be_empty = np.isin(self.frame[condition], list(values))
            filled = self.present(column)
            fill = should_be_empty & ~filled
            blank = ~should_be_empty & filled & self.present(condition)
            if self.entry.item(column).required:
                blank[:] = False  # emptying it would be missing_required as well
            codes = P.usccs(
                self.rng, P.weighted(self.rng, T.EMPLOYER_USCC_TYPES, self.n), self.ctx.county.code
            ).astype(object)
            new = np.where(should_be_empty, codes, None)
            options.append(
                _Option("employer_uscc_mismatch", column, fill | blank, self._set_rows(column, new))
            )
        return options

    def _nonstandard_date(self) -> list[_Option]:
        def change(v: str) -> str:
            y, m, d = v[:4], int(v[5:7]), int(v[8:10])
            return self._pick([f"{y}/{m}/{d}", f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日"])

        return [
            _Option(
                "nonstandard_date",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, change),
            )
            for item in self._date_items()
        ]

    def _fullwidth_chars(self) -> list[_Option]:
        return [
            _Option(
                "fullwidth_chars",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, lambda v: v.translate(_FULLWIDTH)),
            )
            for item in self._items_with("cn_id_number", "id_or_uscc", "cn_mobile", "phone")
        ]

    def _decorated_phone(self) -> list[_Option]:
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
            _Option(
                "decorated_phone",
                item.column,
                self.present(item.column).copy(),
                self._map_rows(item.column, change),
            )
            for item in self._items_with("cn_mobile", "phone")
        ]

    def _lowercase_x(self) -> list[_Option]:
        options = []
        for item in self._items_with("cn_id_number", "id_or_uscc"):
            values = self.frame[item.column]
            text = _text(values)
            ends_x = _id_shaped(text) & (np.strings.slice(text, 17, 18) == "X")
            options.append(
                _Option(
                    "lowercase_x",
                    item.column,
                    ends_x,
                    self._map_rows(item.column, lambda v: v[:-1] + "x"),
                )
            )
        return options


def _text(values: np.ndarray) -> np.ndarray:
    """An object column as a unicode array, empty cells as ""."""
    return np.where(pd.notna(values), values, "").astype(str)


def _id_shaped(text: np.ndarray) -> np.ndarray:
    """GB 11643 shape: 17 digits and a digit or X."""
    last = np.strings.slice(text, 17, 18)
    return (
        (np.strings.str_len(text) == 18)
        & np.strings.isdigit(np.strings.slice(text, 0, 17))
        & (np.strings.isdigit(last) | (last == "X"))
    )


def _without_category_letter(value: str) -> str:
    return value[1:]


def _without_certificate_marks(value: str) -> str:
    return value.replace("第", "").replace("号", "")


def _five_digit_division(value: str) -> str:
    return value[:5]


def _first_generation_id(value: str) -> str:
    """The 15-digit number of the first ID generation: no century digits, no check character."""
    return value[:6] + value[8:17]
