"""Clean rows of one landing file, drawn from the catalog entry's item rules and cross-field rules.

``RowBuilder(ctx, rng).build_unique(n)`` returns the file's rows as a frame — a dict of canonical
column → object array of ``str`` (``None`` for an empty cell) — in which every value satisfies its
item rule (type, format, enum, range, not_future, required, unique) and every cross-field rule
(id_birth_date, id_gender, date_order, region_is_county, township_in_county, empty_iff). Columns
the realism tables know (names, addresses, enterprise names …) look like real data; any other column
still gets values that satisfy its rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.common.reference import ENUM_REFERENCES
from assets.landing.generator import primitives as P
from assets.landing.generator import tables as T
from assets.landing.generator.context import (
    ENTITY_OWNER_SHARE,
    GENDER_VALUE_SETS,
    MALE_VALUES,
    MAX_REDRAWS,
    FileContext,
    Frame,
    People,
    Profile,
)
from assets.landing.generator.row_text import TextColumns
from assets.landing.generator.rules import RuleIndex, column_kind, key_sets


class RowBuilder:
    """Draws rows of one dataset for one county and period."""

    def __init__(self, ctx: FileContext, rng: np.random.Generator) -> None:
        self.ctx = ctx
        self.rng = rng
        self.rules = RuleIndex.of(ctx.entry)
        self.kinds = {item.column: column_kind(item, self.rules) for item in ctx.entry.items}

    def columns_of(self, *kinds: str) -> list[str]:
        return [c for c in self.ctx.entry.columns if self.kinds[c] in kinds]

    def build(self, n: int) -> Frame:
        return RowDraw(self, n).run()

    def build_unique(self, n: int) -> Frame:
        """``n`` rows in which no business key or unique column repeats (colliding rows redrawn)."""
        frame = self.build(n)
        sets = key_sets(self.ctx.entry)
        for _ in range(MAX_REDRAWS):
            repeated = duplicated_rows(frame, sets)
            if not repeated.any():
                return frame
            rows = np.flatnonzero(repeated)
            fresh = self.build(len(rows))
            for column, values in frame.items():
                values[rows] = fresh[column]
        raise ValueError(
            f"{self.ctx.entry.dataset_id}: 无法生成 {n} 行互不重复的业务主键，请检查目录条目的 "
            "business_key 与 unique 设置"
        )


def duplicated_rows(frame: Frame, sets: list[tuple[str, ...]]) -> np.ndarray:
    """Rows whose key (all parts present) repeats an earlier row's, for any of the key sets."""
    n = len(next(iter(frame.values())))
    repeated = np.zeros(n, dtype=bool)
    for key in sets:
        part = pd.DataFrame({c: frame[c] for c in key})
        present = part.notna().all(axis=1).to_numpy()
        dup = np.zeros(n, dtype=bool)
        dup[present] = part[present].duplicated(keep="first").to_numpy()
        repeated |= dup
    return repeated


class RowDraw(TextColumns):
    """One draw of ``n`` rows; holds the columns drawn so far so later columns can agree with them."""

    def __init__(self, builder: RowBuilder, n: int) -> None:
        self.b = builder
        self.ctx = builder.ctx
        self.rng = builder.rng
        self.n = n
        self.entry = builder.ctx.entry
        self.county = builder.ctx.county
        self.text: dict[str, np.ndarray] = {}
        self.dates: dict[str, np.ndarray] = {}
        self.empty: dict[str, np.ndarray] = {}
        self.people: dict[str, People] = {}
        self._profile: Profile | None = None
        self._hui: np.ndarray | None = None
        self._townships: np.ndarray | None = None

    # -- orchestration -------------------------------------------------------------------------

    def run(self) -> Frame:
        b = self.b
        enums = b.columns_of("enum")
        conditional = [c for c in enums if self._condition_of(c, T.CONDITIONAL_ENUM_WEIGHTS)]
        for c in [c for c in enums if c not in conditional] + conditional:
            self.text[c] = self._enum(c)
        for c in b.columns_of("township"):
            self.text[c] = self._draw_townships()
        for c in b.columns_of("division"):
            self.text[c] = np.full(self.n, self.county.code)
        for c in b.columns_of("date"):
            self.dates[c] = self._date(c)
        for c in b.columns_of("id", "id_or_uscc"):
            self._people_for(c)
        for c in b.columns_of("birth_date"):
            if c not in self.dates:
                self.dates[c] = self._births(T.POPULATION_AGES)
        self._order_dates()
        for c, days in self.dates.items():
            self.text[c] = P.date_strings(days)
        builders = {
            "number": self._number,
            "uscc": self._uscc,
            "bank_card": lambda c: P.bank_cards(self.rng, T.BANK_BINS, self.n),
            "mobile": lambda c: P.mobiles(self.rng, T.MOBILE_PREFIXES, self.n),
            "phone": self._phone,
            "industry": self._industry,
            "entity_name": self._entity_name,
            "institution_name": self._institution_name,
            "person_name": self._person_name,
            "address": self._address,
            "location": self._location,
            "certificate": self._certificate,
            "petition_matter": self._petition_matter,
            "email": self._email,
            "text": self._text,
        }
        for kind, build in builders.items():
            for c in b.columns_of(kind):
                self.text[c] = build(c)
        self._blank_optional()
        return {c: self._objects(c) for c in self.entry.columns}

    def _objects(self, column: str) -> np.ndarray:
        values = self.text[column].astype(object)
        if column in self.empty:
            values[self.empty[column]] = None
        return values

    def _condition_of(self, column: str, table: dict) -> str | None:
        if column not in table:
            return None
        condition = table[column][0]
        return condition if condition in self.b.kinds and condition != column else None

    # -- enums, places -------------------------------------------------------------------------

    def _enum(self, column: str) -> np.ndarray:
        item = self.entry.item(column)
        values = tuple(item.enum or ENUM_REFERENCES[item.enum_ref or ""])
        if item.enum_ref == "ethnicities":
            weights = self._ethnicity_weights(values)
        else:
            listed = [T.VALUE_WEIGHTS[v] for v in values if v in T.VALUE_WEIGHTS]
            default = float(np.mean(listed)) if listed else 1.0
            weights = {v: T.VALUE_WEIGHTS.get(v, default) for v in values}
        out = P.weighted(self.rng, weights, self.n).astype(f"U{max(map(len, values))}")
        condition = self._condition_of(column, T.CONDITIONAL_ENUM_WEIGHTS)
        if condition is not None and condition in self.text:
            for value, table in T.CONDITIONAL_ENUM_WEIGHTS[column][1].items():
                allowed = {v: w for v, w in table.items() if v in values}
                rows = self.text[condition] == value
                if allowed and rows.any():
                    out[rows] = P.weighted(self.rng, allowed, int(rows.sum()))
        return out

    def _ethnicity_weights(self, values: tuple[str, ...]) -> dict[str, float]:
        hui = T.HUI_SHARE.get(self.county.code, T.DEFAULT_HUI_SHARE)
        others = [v for v in values if v not in ("汉族", "回族")]
        weights = {v: T.OTHER_ETHNICITY_SHARE / max(len(others), 1) for v in others}
        weights["回族"] = hui
        weights["汉族"] = max(1.0 - hui - T.OTHER_ETHNICITY_SHARE, 0.0)
        return {v: weights[v] for v in values}

    def _draw_townships(self) -> np.ndarray:
        towns = self.county.townships
        weights = {t: 3.0 if i == 0 else 1.0 for i, t in enumerate(towns)}  # the county seat
        return P.weighted(self.rng, weights, self.n)

    def _address_townships(self) -> np.ndarray:
        """The row's township: the dataset's township column where it has one."""
        if self._townships is None:
            cols = self.b.columns_of("township")
            self._townships = self.text[cols[0]] if cols else self._draw_townships()
        return self._townships

    def _hui_rows(self) -> np.ndarray:
        if self._hui is None:
            ethnic = [c for c in self.b.columns_of("enum") if self.entry.item(c).enum_ref]
            if ethnic:
                self._hui = self.text[ethnic[0]] == "回族"
            else:
                share = T.HUI_SHARE.get(self.county.code, T.DEFAULT_HUI_SHARE)
                self._hui = self.rng.random(self.n) < share
        return self._hui

    # -- dates and people ----------------------------------------------------------------------

    def _date(self, column: str) -> np.ndarray:
        start, end = np.datetime64(self.ctx.period.start), np.datetime64(self.ctx.period.end)
        inside = P.uniform_dates(self.rng, start, end, self.n)
        shape = T.DATE_SHAPES.get(column)
        if shape is None:
            return inside
        since = np.datetime64(f"{shape.since_year:04d}-01-01")
        if since >= start:
            return inside
        before = P.uniform_dates(self.rng, since, start - np.timedelta64(1, "D"), self.n)
        return np.where(self.rng.random(self.n) < shape.inside_share, inside, before)

    def _births(self, bands: tuple[tuple[int, int, float], ...]) -> np.ndarray:
        reference = np.datetime64(self.ctx.period.end)
        return P.ages_to_birth_dates(self.rng, reference, bands, self.n)

    def _gender_column_for(self, id_column: str) -> str | None:
        if id_column in self.b.rules.gender_of_id:
            return self.b.rules.gender_of_id[id_column]
        if len(self.b.columns_of("id", "id_or_uscc")) != 1:
            return None
        for c in self.b.columns_of("enum"):
            if frozenset(self.entry.item(c).enum or ()) in GENDER_VALUE_SETS:
                return c
        return None

    def _birth_column_for(self, id_column: str) -> str | None:
        if id_column in self.b.rules.birth_of_id:
            return self.b.rules.birth_of_id[id_column]
        births = self.b.columns_of("birth_date")
        ids = self.b.columns_of("id", "id_or_uscc")
        linked = set(self.b.rules.birth_of_id.values())
        free = [c for c in births if c not in linked]
        return free[0] if len(free) == 1 and len(ids) == 1 else None

    def _people_for(self, column: str) -> None:
        n, rng = self.n, self.rng
        gender_col = self._gender_column_for(column)
        if gender_col is not None:
            male = np.isin(self.text[gender_col], list(MALE_VALUES))
        else:
            male = rng.random(n) < 0.51
        birth_col = self._birth_column_for(column)
        if birth_col is not None:
            born = self.dates.get(birth_col)
            if born is None:
                born = self._births(T.POPULATION_AGES)
                self.dates[birth_col] = born
        else:
            born = self._births(T.ADULT_AGES)
        years = P.date_parts(born)[0]
        distinct = np.unique(years)
        codes = np.array([int(self.county.division_code_for_year(int(y))) for y in distinct])
        ids = P.id_numbers(rng, codes[np.searchsorted(distinct, years)], born, male)
        entity = np.zeros(n, dtype=bool)
        if self.b.kinds[column] == "id_or_uscc":
            entity = rng.random(n) < ENTITY_OWNER_SHARE
            k = int(entity.sum())
            if k:
                # new-style codes always hold letters, so a unit's code never reads as an ID number
                ids[entity] = P.usccs(rng, np.full(k, "91"), self.county.code, new_share=1.0)
        self.text[column] = ids
        self.people[column] = People(born, male, entity)

    def _order_dates(self) -> None:
        fixed = self.b.rules.birth_columns
        for _ in range(2):  # chained rules settle in two passes
            for earlier, later in self.b.rules.date_order:
                if earlier not in self.dates or later not in self.dates:
                    continue
                if later not in fixed:
                    self.dates[later] = np.maximum(self.dates[earlier], self.dates[later])
                elif earlier not in fixed:
                    self.dates[earlier] = np.minimum(self.dates[earlier], self.dates[later])

    # -- numbers -------------------------------------------------------------------------------

    def _number(self, column: str) -> np.ndarray:
        item = self.entry.item(column)
        rng, n = self.rng, self.n
        places = 0 if item.type == "integer" else T.DECIMAL_PLACES.get(column, 2)
        step = 10.0**-places
        low = -np.inf if item.min is None else item.min + (step if item.min_exclusive else 0.0)
        high = np.inf if item.max is None else item.max
        bounds = T.COUNTY_BOUNDS.get(self.county.code)
        if bounds and (column in T.LONGITUDE_COLUMNS or "经度" in item.name):
            lo, hi = max(bounds[0], low), min(bounds[1], high)
            values = lo + rng.random(n) * (hi - lo)
        elif bounds and (column in T.LATITUDE_COLUMNS or "纬度" in item.name):
            lo, hi = max(bounds[2], low), min(bounds[3], high)
            values = lo + rng.random(n) * (hi - lo)
        elif column in T.NUMBER_SHAPES:
            shape = T.NUMBER_SHAPES[column]
            values = shape.median * np.exp(rng.normal(0.0, shape.sigma, n))
        elif np.isfinite(low) and np.isfinite(high):
            values = low + rng.random(n) * (high - low)
        elif np.isfinite(low):
            values = low + 100.0 * np.exp(rng.normal(0.0, 1.0, n))
        elif np.isfinite(high):
            values = high - 100.0 * np.exp(rng.normal(0.0, 1.0, n))
        else:
            values = 100.0 * np.exp(rng.normal(0.0, 1.0, n))
        condition = self._condition_of(column, T.CONDITIONAL_NUMBER_RANGES)
        if condition is not None and condition in self.text:
            for value, (lo, hi) in T.CONDITIONAL_NUMBER_RANGES[column][1].items():
                rows = self.text[condition] == value
                if rows.any():
                    values[rows] = lo + rng.random(int(rows.sum())) * (hi - lo)
        values = np.clip(np.round(values, places), low, high)
        return P.decimal_strings(values, places)

    # -- empties -------------------------------------------------------------------------------

    def _blank_optional(self) -> None:
        conditioned = {a for a, _, _ in self.b.rules.empty_iff}
        for item in self.entry.items:
            if item.required or item.column in conditioned:
                continue
            share = T.OPTIONAL_EMPTY_SHARE.get(item.column, T.DEFAULT_OPTIONAL_EMPTY_SHARE)
            self.empty[item.column] = self.rng.random(self.n) < share
        for column, condition, values in self.b.rules.empty_iff:
            self.empty[column] = np.isin(self.text[condition], list(values))
