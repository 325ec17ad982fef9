"""The cross-field rules of a catalog entry, indexed the way the generator uses them, and the kind of
value each item gets (from its format, enum, type, pii and — for realism — its column name)."""

from __future__ import annotations

from dataclasses import dataclass

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.landing.generator import tables

FORMAT_KINDS: dict[str, str] = {
    "cn_id_number": "id",
    "id_or_uscc": "id_or_uscc",
    "uscc": "uscc",
    "cn_mobile": "mobile",
    "phone": "phone",
    "bank_card": "bank_card",
    "division_code": "division",
    "industry_code": "industry",
    "certificate_no": "certificate",
}
# Plain text columns recognised by canonical column name, then by a word of the Chinese item name.
COLUMN_KINDS: dict[str, str] = {
    "entity_name": "entity_name",
    "institution_name": "institution_name",
    "address": "address",
    "location": "location",
    "matter": "petition_matter",
    "township": "township",
}
NAME_WORD_KINDS: tuple[tuple[str, str], ...] = (
    ("姓名", "person_name"),
    ("机构名称", "institution_name"),
    ("名称", "entity_name"),
    ("坐落", "location"),
    ("住所", "address"),
    ("地址", "address"),
    ("乡镇", "township"),
    ("事项", "petition_matter"),
    ("电话", "phone"),
)
PII_KINDS: dict[str, str] = {
    "person_name": "person_name",
    "address": "address",
    "email": "email",
    "cn_mobile_phone": "mobile",
}


@dataclass(frozen=True)
class RuleIndex:
    birth_of_id: dict[str, str]  # id column → birth-date column (id_birth_date)
    gender_of_id: dict[str, str]  # id column → gender column (id_gender)
    date_order: tuple[tuple[str, str], ...]  # (earlier, later)
    region: frozenset[str]  # region_is_county columns
    township: frozenset[str]  # township_in_county columns
    empty_iff: tuple[tuple[str, str, frozenset[str]], ...]  # (column, condition column, values)

    @classmethod
    def of(cls, entry: CatalogEntry) -> RuleIndex:
        birth: dict[str, str] = {}
        gender: dict[str, str] = {}
        order: list[tuple[str, str]] = []
        region: set[str] = set()
        township: set[str] = set()
        empty_iff: list[tuple[str, str, frozenset[str]]] = []
        for rule in entry.rules:
            cols = rule.columns
            if rule.check == "id_birth_date" and len(cols) == 2:
                birth[cols[0]] = cols[1]
            elif rule.check == "id_gender" and len(cols) == 2:
                gender[cols[0]] = cols[1]
            elif rule.check == "date_order" and len(cols) == 2:
                order.append((cols[0], cols[1]))
            elif rule.check == "region_is_county":
                region.update(cols)
            elif rule.check == "township_in_county":
                township.update(cols)
            elif rule.check == "empty_iff" and len(cols) == 2:
                empty_iff.append((cols[0], cols[1], frozenset(rule.values or ())))
        return cls(
            birth, gender, tuple(order), frozenset(region), frozenset(township), tuple(empty_iff)
        )

    @property
    def birth_columns(self) -> frozenset[str]:
        return frozenset(self.birth_of_id.values())

    @property
    def ruled_columns(self) -> frozenset[str]:
        """Columns some cross-field rule reads."""
        cols: set[str] = set(self.birth_of_id) | set(self.birth_of_id.values())
        cols |= set(self.gender_of_id) | set(self.gender_of_id.values())
        cols |= {c for pair in self.date_order for c in pair} | self.region | self.township
        cols |= {c for a, b, _ in self.empty_iff for c in (a, b)}
        return frozenset(cols)


def column_kind(item: CatalogItem, rules: RuleIndex) -> str:
    """What kind of value an item gets: rule-driven first, realism by column name second."""
    if item.format is not None:
        return FORMAT_KINDS[item.format]
    if item.enum or item.enum_ref:
        return "enum"
    if item.column in rules.township:
        return "township"
    if item.type == "date":
        if item.column in rules.birth_columns or item.column in tables.BIRTH_COLUMNS:
            return "birth_date"
        return "birth_date" if "出生" in item.name else "date"
    if item.type in ("integer", "decimal"):
        return "number"
    if item.column in COLUMN_KINDS:
        return COLUMN_KINDS[item.column]
    if item.pii in PII_KINDS:
        return PII_KINDS[item.pii]
    for word, kind in NAME_WORD_KINDS:
        if word in item.name:
            return kind
    return "text"


def duplicate_key_column(entry: CatalogEntry) -> str | None:
    """The column a duplicate row is reported under: the first business-key or unique column."""
    if entry.business_key:
        return entry.business_key[0]
    unique = [item.column for item in entry.items if item.unique]
    return unique[0] if unique else None


def key_sets(entry: CatalogEntry) -> list[tuple[str, ...]]:
    """Column sets that must not repeat within a file: the business key and each unique column."""
    sets: list[tuple[str, ...]] = [tuple(entry.business_key)] if entry.business_key else []
    sets += [(item.column,) for item in entry.items if item.unique]
    return list(dict.fromkeys(sets))
