"""The catalog entry (目录条目) of 第八条 and the item rules the whole pipeline reads.

A catalog entry file is YAML whose 第八条 fields keep their Chinese names (数据目录名称, 信息资源提供方,
数据摘要, 信息项, 更新频率) plus 开放属性; the machine-readable rule of each item (column, type, format,
enum, range …) is in English keys. Everything downstream — header mapping at ingest, the generator,
quality suites, classification — reads these models, so adding a dataset is adding a file.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assets.common.pii import PiiType
from assets.common.yamlfile import load_yaml_model

DATASET_ID_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
COLUMN_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class Frequency(StrEnum):
    """更新频率, and the period key a landing file of that frequency carries."""

    DAILY = "每日"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    YEARLY = "每年"

    @property
    def period_pattern(self) -> str:
        return {
            # ASCII digits only: \d would take full-width and Arabic-Indic digits too
            Frequency.DAILY: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            Frequency.MONTHLY: r"^[0-9]{4}-[0-9]{2}$",
            Frequency.QUARTERLY: r"^[0-9]{4}-Q[1-4]$",
            Frequency.YEARLY: r"^[0-9]{4}$",
        }[self]

    def period_of(self, day: date) -> str:
        """The period key (as landing files carry it) of the period containing ``day``. Keys of one
        frequency sort as text in time order."""
        if self is Frequency.DAILY:
            return day.isoformat()
        if self is Frequency.MONTHLY:
            return f"{day.year:04d}-{day.month:02d}"
        if self is Frequency.QUARTERLY:
            return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
        return f"{day.year:04d}"


class Openness(StrEnum):
    """开放属性 (第四条: 禁止开放 resources are never operated)."""

    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    PROHIBITED = "禁止开放"


ItemType = Literal["string", "date", "integer", "decimal"]
ItemFormat = Literal[
    "cn_id_number",  # GB 11643, 18 characters with ISO 7064 MOD 11-2 check
    "uscc",  # GB 32100 unified social credit code
    "cn_mobile",  # mainland mobile, 11 digits starting 1[3-9]
    "phone",  # landline (区号-号码) or mobile
    "bank_card",  # 16–19 digits, Luhn
    "division_code",  # GB/T 2260 six digits
    "industry_code",  # GB/T 4754: a letter and 2–4 digits
    "certificate_no",  # 宁(2025)中宁县不动产权第0001234号
    "id_or_uscc",  # a person's ID number or an entity's USCC
]


class CatalogItem(BaseModel):
    """One 信息项: its Chinese name as delivered in file headers, and the rule for its values."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    name: str = Field(alias="信息项名称", min_length=1)
    column: str = Field(pattern=COLUMN_PATTERN)
    type: ItemType = "string"
    required: bool = False
    rule: str | None = Field(default=None, alias="规则")
    format: ItemFormat | None = None
    enum: tuple[str, ...] | None = None
    enum_ref: Literal["ethnicities"] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    not_future: bool = False
    unique: bool = False
    pii: PiiType | None = None
    quasi_identifier: bool = False


CrossCheck = Literal[
    "id_birth_date",  # ID digits 7–14 equal the birth date column
    "id_gender",  # ID digit 17 parity agrees with the gender column
    "date_order",  # columns[0] <= columns[1]
    "region_is_county",  # the column equals the delivering county's code
    "township_in_county",  # the column names a township of the delivering county
    "empty_iff",  # columns[0] is empty exactly when columns[1] is one of `values`
]


class CrossFieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: CrossCheck
    columns: tuple[str, ...] = Field(min_length=1)
    values: tuple[str, ...] | None = None


class CatalogEntry(BaseModel):
    """A resource catalog entry (第八条) for one dataset."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    dataset_id: str = Field(pattern=DATASET_ID_PATTERN)
    title: str = Field(alias="数据目录名称", min_length=1)
    provider: str = Field(alias="信息资源提供方", min_length=1)
    summary: str = Field(alias="数据摘要", min_length=1)
    frequency: Frequency = Field(alias="更新频率")
    openness: Openness = Field(alias="开放属性")
    keywords: tuple[str, ...] = Field(default=(), alias="关键字")
    classification: dict[str, str] = Field(default_factory=dict, alias="分类")
    business_key: tuple[str, ...] = ()
    items: tuple[CatalogItem, ...] = Field(alias="信息项", min_length=1)
    rules: tuple[CrossFieldRule, ...] = ()

    @field_validator("items")
    @classmethod
    def _items_distinct(cls, items: tuple[CatalogItem, ...]) -> tuple[CatalogItem, ...]:
        for attr in ("name", "column"):
            seen: set[str] = set()
            for item in items:
                value = getattr(item, attr)
                if value in seen:
                    raise ValueError(f"信息项 {attr} 重复: {value}")
                seen.add(value)
        return items

    @model_validator(mode="after")
    def _references_known_columns(self) -> CatalogEntry:
        columns = {item.column for item in self.items}
        referenced = list(self.business_key) + [c for r in self.rules for c in r.columns]
        unknown = sorted(set(referenced) - columns)
        if unknown:
            raise ValueError(f"业务主键或校验规则引用了不存在的信息项: {', '.join(unknown)}")
        return self

    @property
    def columns(self) -> list[str]:
        return [item.column for item in self.items]

    @property
    def header_map(self) -> dict[str, str]:
        """Chinese header as delivered → canonical column."""
        return {item.name: item.column for item in self.items}

    def item(self, column: str) -> CatalogItem:
        for item in self.items:
            if item.column == column:
                return item
        raise KeyError(column)

    @property
    def is_prohibited(self) -> bool:
        return self.openness is Openness.PROHIBITED


class CatalogError(ValueError):
    """A catalog entry file that cannot be read or does not validate; says which file and why."""


def load_entry(path: Path) -> CatalogEntry:
    return load_yaml_model(path, CatalogEntry, what="目录条目文件", error=CatalogError)


def load_catalog(directory: Path) -> dict[str, CatalogEntry]:
    """All entries of a catalog directory (``*.yaml``), keyed and sorted by dataset id."""
    entries: dict[str, CatalogEntry] = {}
    for path in sorted(directory.glob("*.yaml")):
        entry = load_entry(path)
        if entry.dataset_id in entries:
            raise CatalogError(f"{path.name}: dataset_id {entry.dataset_id} 重复")
        entries[entry.dataset_id] = entry
    if not entries:
        raise CatalogError(f"{directory}: 没有目录条目文件 (*.yaml)")
    return dict(sorted(entries.items()))


# the shipped catalog entry files stay with the catalog stage (README: assets/catalog_sync/entries)
SHIPPED_CATALOG_DIR = Path(__file__).parents[1] / "catalog_sync" / "entries"
