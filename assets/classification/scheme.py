"""The classification & grading scheme (分类分级方案, GB/T 43697-2024) in ``scheme.yaml``.

Category (分类) is the domain and business attribute of the dataset (the catalog entry's 门类 and
业务属性), refined for personal-information columns by the GB/T 35273 category of their type. Grade (分级)
is 核心 / 重要 / 一般; inside 一般 a sensitivity level L1 (public) … L4 (highly sensitive personal
information). The scheme maps every detectable type to a category and level, gives default levels by
开放属性, and holds the rules that raise a column to 重要 (sensitive personal information of many people)
and the datasets the authority designated as 重要 or 核心.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assets.common.catalog import CatalogEntry, Openness
from assets.common.pii import PiiType
from assets.common.yamlfile import load_yaml_model

DEFAULT_SCHEME_PATH = Path(__file__).with_name("scheme.yaml")

Grade = Literal["核心", "重要", "一般"]
GRADE_ORDER: tuple[str, ...] = ("一般", "重要", "核心")
"""Grades from lowest to highest."""


class GradeDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grade: Grade
    code: str = Field(pattern=r"^[a-z]+$")
    description: str = Field(min_length=1)


class LevelDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field(pattern=r"^L[1-9]$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class TypeRule(BaseModel):
    """How a detected or declared type is categorised and graded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1)
    level: str
    personal: bool = True
    requires_person: bool = False
    level_without_person: str | None = None

    @model_validator(mode="after")
    def _fallback_given(self) -> TypeRule:
        if self.requires_person and self.level_without_person is None:
            raise ValueError("requires_person 需要同时给出 level_without_person")
        return self


class GradeRule(BaseModel):
    """A column at ``min_level`` or above, personal information of ``min_subjects`` people or more,
    is of ``grade``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    grade: Grade
    min_level: str
    min_subjects: int = Field(ge=1)
    basis: str = ""


class Scheme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: str
    version: str
    grades: tuple[GradeDefinition, ...]
    levels: tuple[LevelDefinition, ...] = Field(min_length=1)
    types: dict[str, TypeRule]
    person_identifiers: tuple[str, ...] = ()
    openness_levels: dict[Openness, str]
    default_level: str
    quasi_identifier_level: str
    default_category: str = Field(min_length=1)
    categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    grade_rules: tuple[GradeRule, ...] = ()
    designated: dict[Grade, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Scheme:
        if sorted(g.grade for g in self.grades) != sorted(GRADE_ORDER):
            raise ValueError(f"分级应恰为 {'/'.join(reversed(GRADE_ORDER))} 三级")
        names = [lv.level for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"级别重复: {names}")
        known = set(names)
        referenced = {
            "default_level": [self.default_level],
            "quasi_identifier_level": [self.quasi_identifier_level],
            "openness_levels": list(self.openness_levels.values()),
            "types": [
                lv
                for rule in self.types.values()
                for lv in (rule.level, rule.level_without_person)
                if lv is not None
            ],
            "grade_rules": [rule.min_level for rule in self.grade_rules],
        }
        for where, levels in referenced.items():
            unknown = sorted(set(levels) - known)
            if unknown:
                raise ValueError(f"{where} 引用了未定义的级别: {', '.join(unknown)}")
        missing_openness = set(Openness) - set(self.openness_levels)
        if missing_openness:
            raise ValueError(f"openness_levels 缺少: {', '.join(sorted(missing_openness))}")
        missing_types = set(get_args(PiiType)) - set(self.types)
        if missing_types:
            raise ValueError(f"types 缺少个人信息类型: {', '.join(sorted(missing_types))}")
        unknown_ids = set(self.person_identifiers) - set(self.types)
        if unknown_ids:
            raise ValueError(
                f"person_identifiers 引用了未定义的类型: {', '.join(sorted(unknown_ids))}"
            )
        if "一般" in self.designated:
            raise ValueError("designated 只列核心、重要数据")
        both = set(self.designated.get("核心", ())) & set(self.designated.get("重要", ()))
        if both:
            raise ValueError(f"数据集同时被认定为核心和重要数据: {', '.join(sorted(both))}")
        return self

    # -- ordering -------------------------------------------------------------------------------

    def level_rank(self, level: str) -> int:
        return [lv.level for lv in self.levels].index(level)

    def max_level(self, *levels: str | None) -> str:
        present = [lv for lv in levels if lv is not None]
        return max(present, key=self.level_rank) if present else self.default_level

    @staticmethod
    def grade_rank(grade: str) -> int:
        return GRADE_ORDER.index(grade)

    @classmethod
    def max_grade(cls, *grades: str) -> str:
        return max(grades, key=cls.grade_rank) if grades else GRADE_ORDER[0]

    def grade_code(self, grade: str) -> str:
        return next(g.code for g in self.grades if g.grade == grade)

    def level_name(self, level: str) -> str:
        return next(lv.name for lv in self.levels if lv.level == level)

    # -- mapping --------------------------------------------------------------------------------

    def base_level(self, entry: CatalogEntry | None) -> str:
        """The level of a plain (non-personal) column of the dataset."""
        return self.openness_levels[entry.openness] if entry is not None else self.default_level

    def dataset_category(self, entry: CatalogEntry | None) -> str:
        """门类/业务属性 of the dataset, or the default category outside the catalog."""
        if entry is None:
            return self.default_category
        domain = entry.classification.get("门类")
        attribute = entry.classification.get("业务属性")
        parts = [p for p in (domain, attribute) if p]
        return "/".join(parts) if parts else self.default_category

    def category_problems(self, entry: CatalogEntry) -> list[str]:
        """Why an entry's 分类 does not fit the scheme's category tree (empty when it does)."""
        domain = entry.classification.get("门类")
        attribute = entry.classification.get("业务属性")
        if not domain or not attribute:
            return [f"{entry.dataset_id}: 分类缺少门类或业务属性"]
        if domain not in self.categories:
            return [f"{entry.dataset_id}: 门类「{domain}」不在分类方案中"]
        if attribute not in self.categories[domain]:
            return [f"{entry.dataset_id}: 业务属性「{attribute}」不在门类「{domain}」下"]
        return []

    def type_level(self, pii_type: str | None, *, has_person: bool) -> str | None:
        """The level a type gives a column (None for no type)."""
        rule = self.types.get(pii_type or "")
        if rule is None:
            return None
        if rule.requires_person and not has_person:
            return rule.level_without_person
        return rule.level

    def is_personal(self, pii_type: str | None, *, has_person: bool) -> bool:
        """Whether a column of this type is personal information in this dataset."""
        rule = self.types.get(pii_type or "")
        if rule is None or not rule.personal:
            return False
        return has_person or not rule.requires_person

    def designated_grade(self, dataset_id: str | None) -> str | None:
        for grade in reversed(GRADE_ORDER):
            if dataset_id and dataset_id in self.designated.get(grade, ()):
                return grade
        return None

    def rule_grade(
        self, level: str, *, personal: bool, subjects: int
    ) -> tuple[str, GradeRule | None]:
        """The grade the grade rules give a column, and the rule that gave it."""
        best: tuple[str, GradeRule | None] = (GRADE_ORDER[0], None)
        if not personal:
            return best
        for rule in self.grade_rules:
            applies = (
                self.level_rank(level) >= self.level_rank(rule.min_level)
                and subjects >= rule.min_subjects
            )
            if applies and self.grade_rank(rule.grade) > self.grade_rank(best[0]):
                best = (rule.grade, rule)
        return best


class SchemeError(ValueError):
    """A scheme file that cannot be read or does not validate."""


def load_scheme(path: Path | None = None) -> Scheme:
    path = path or DEFAULT_SCHEME_PATH
    return load_yaml_model(path, Scheme, what="分类分级方案", error=SchemeError)


@lru_cache(maxsize=1)
def default_scheme() -> Scheme:
    """The shipped scheme, loaded once."""
    return load_scheme(DEFAULT_SCHEME_PATH)
