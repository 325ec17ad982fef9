"""The defect kinds that break a catalog rule (required, check digits, ID consistency, region, key,
range, enum, dates, formats, township, conditional emptiness), each offered only on rows where it
breaks nothing else."""

from __future__ import annotations

import numpy as np

from assets.common.check_chars import USCC_ALPHABET
from assets.common.reference import ENUM_REFERENCES
from assets.landing.generator import primitives as P
from assets.landing.generator import tables as T
from assets.landing.generator.defect_base import (
    FOREIGN_TOWNSHIP_FALLBACK,
    ID_CHECK_CHARS,
    ID_SHAPE,
    MAX_SOURCE_PROBES,
    UNKNOWN_WORDS,
    InjectorBase,
    Option,
    first_generation_id,
    five_digit_division,
    id_shaped,
    unicode_text,
    without_category_letter,
    without_certificate_marks,
)
from assets.landing.generator.rules import duplicate_key_column, key_sets


class RuleBreakingKinds(InjectorBase):
    """The kinds that each break exactly the rule they name."""

    # -- kinds ---------------------------------------------------------------------------------

    def _missing_required(self) -> list[Option]:
        # an empty condition column would leave its empty_iff rule undecidable: keep it filled
        protected = {condition for _, condition, _ in self.rules.empty_iff}
        return [
            Option(
                "missing_required",
                item.column,
                self.present(item.column).copy(),
                self._set_rows(item.column, None),
            )
            for item in self.entry.items
            if item.required and item.column not in protected
        ]

    def _bad_check_digit(self) -> list[Option]:
        options = []
        for item in self._items_with("cn_id_number", "uscc", "bank_card", "id_or_uscc"):

            def change(value: str, fmt: str = item.format or "") -> str:
                if ID_SHAPE.match(value):
                    alphabet = ID_CHECK_CHARS
                elif fmt == "bank_card":
                    alphabet = "0123456789"
                else:
                    alphabet = USCC_ALPHABET
                return value[:-1] + self._pick([c for c in alphabet if c != value[-1]])

            options.append(
                Option(
                    "bad_check_digit",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, change),
                )
            )
        return options

    def _id_birth_mismatch(self) -> list[Option]:
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
                Option(
                    "id_birth_mismatch",
                    birth_column,
                    candidates,
                    self._set_rows(birth_column, P.date_strings(proposed)),
                )
            )
        return options

    def _id_gender_mismatch(self) -> list[Option]:
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
                Option(
                    "id_gender_mismatch",
                    gender_column,
                    candidates,
                    self._map_rows(gender_column, lambda v, s=swap: s[v]),
                )
            )
        return options

    def _wrong_region_code(self) -> list[Option]:
        county = self.ctx.county
        others = [c.code for c in self.ctx.city.counties if c.code != county.code]
        others += [old.code for old in county.historical_codes]  # a code from before 2004
        pool = [code for code in dict.fromkeys(others) if code != county.code] or [
            self.ctx.city.city.code
        ]
        return [
            Option(
                "wrong_region_code",
                column,
                self.present(column).copy(),
                self._map_rows(column, lambda v: self._pick(pool)),
            )
            for column in sorted(self.rules.region)
        ]

    def _duplicate_key(self) -> list[Option]:
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
        return [Option("duplicate_key", column, candidates, lambda rows: None)]

    def _place_duplicates(self, option: Option, k: int, used: np.ndarray) -> np.ndarray:
        """Later rows overwritten by copies of earlier clean rows (the later row is the defect)."""
        free = np.flatnonzero(option.candidates & ~used)
        targets = np.sort(self.rng.choice(free, size=min(k, len(free)), replace=False))
        used[targets] = True
        placed = []
        for target in targets:
            for _ in range(MAX_SOURCE_PROBES):
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

    def _out_of_range(self) -> list[Option]:
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
                Option(
                    "out_of_range",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, change),
                )
            )
        return options

    def _unknown_enum(self) -> list[Option]:
        options = []
        ruled = self.rules.ruled_columns
        for item in self.entry.items:
            if not (item.enum or item.enum_ref) or item.column in ruled:
                continue
            allowed = set(item.enum or ENUM_REFERENCES[item.enum_ref or ""])
            forms = [v[:-1] for v in sorted(allowed) if len(v) >= 2 and v[:-1] not in allowed]
            forms += [w for w in UNKNOWN_WORDS if w not in allowed]
            forms = list(dict.fromkeys(forms))
            options.append(
                Option(
                    "unknown_enum",
                    item.column,
                    self.present(item.column).copy(),
                    self._map_rows(item.column, lambda v, f=forms: self._pick(f)),
                )
            )
        return options

    def _future_date(self) -> list[Option]:
        options = []
        for item in self._date_items():
            if not item.not_future or item.column in self.rules.birth_columns:
                continue
            ahead = self.rng.integers(1, 400, size=self.n).astype("timedelta64[D]")
            proposed = self.as_of + ahead
            candidates = self.present(item.column) & self._orders_hold(item.column, proposed)
            options.append(
                Option(
                    "future_date",
                    item.column,
                    candidates,
                    self._set_rows(item.column, P.date_strings(proposed)),
                )
            )
        return options

    def _date_order(self) -> list[Option]:
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
                Option(
                    "date_order",
                    column,
                    candidates,
                    self._set_rows(column, P.date_strings(proposed)),
                )
            )
        return options

    def _bad_format(self) -> list[Option]:
        options = []
        for item in self.entry.items:
            column, fmt = item.column, item.format
            candidates = self.present(column).copy()
            if fmt in ("cn_mobile", "phone"):
                change = self._short_phone
            elif fmt == "industry_code":
                change = without_category_letter
            elif fmt == "certificate_no":
                change = without_certificate_marks
            elif fmt == "bank_card":
                change = self._truncated_card
            elif fmt == "division_code" and column not in self.rules.region:
                change = five_digit_division
            elif fmt in ("cn_id_number", "id_or_uscc"):
                text = unicode_text(self.frame[column])
                candidates &= id_shaped(text) & (np.strings.slice(text, 6, 8) == "19")
                change = first_generation_id
            elif fmt == "uscc":
                change = self._old_registration_number
            elif item.type == "date" and column not in self.rules.ruled_columns:
                change = self._impossible_date
            else:
                continue
            options.append(Option("bad_format", column, candidates, self._map_rows(column, change)))
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

    def _township_outside_county(self) -> list[Option]:
        county = self.ctx.county
        own = set(county.townships)
        foreign = [t for c in self.ctx.city.counties if c.code != county.code for t in c.townships]
        pool = [t for t in dict.fromkeys(foreign) if t not in own]
        pool = pool or [w for w in FOREIGN_TOWNSHIP_FALLBACK if w not in own]
        return [
            Option(
                "township_outside_county",
                column,
                self.present(column).copy(),
                self._map_rows(column, lambda v: self._pick(pool)),
            )
            for column in sorted(self.rules.township)
        ]

    def _empty_iff(self) -> list[Option]:
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
                Option("employer_uscc_mismatch", column, fill | blank, self._set_rows(column, new))
            )
        return options
