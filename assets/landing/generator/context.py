"""What one generated landing file is (:class:`FileContext`), the frame it becomes, and the people and
entity profiles its columns are drawn to agree with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from assets.common.catalog import CatalogEntry
from assets.common.city import City, County
from assets.landing.generator.periods import Period

Frame = dict[str, np.ndarray]  # canonical column → object array of str | None
MAX_REDRAWS = 50
ENTITY_OWNER_SHARE = 0.12  # rows of an id_or_uscc column that belong to a unit, not a person
MALE_VALUES = frozenset({"男", "男性", "1", "M"})
GENDER_VALUE_SETS = (frozenset({"男", "女"}), frozenset({"1", "2"}))


@dataclass(frozen=True)
class FileContext:
    """What one landing file is: a dataset delivered by a county for a period, generated on as_of."""

    entry: CatalogEntry
    county: County
    city: City
    period: Period
    as_of: date

    @property
    def province_prefix(self) -> str:
        return self.city.city.code[:2]


@dataclass
class People:
    born: np.ndarray  # datetime64[D]
    male: np.ndarray  # bool
    entity: np.ndarray  # bool: the id_or_uscc value is a unit's USCC, not a person's ID


@dataclass
class Profile:
    registration: np.ndarray  # GB 32100 registration type, "91" …
    industry: np.ndarray  # index into tables.INDUSTRIES
