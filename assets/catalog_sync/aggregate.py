"""County catalogs aggregate into the city catalog (第八条, 第十条).

One city entry per dataset: the registration most counties agree on (ties go to the county listed
first in config/city.yaml), the counties that registered it, and, per county whose registration
differs, what differs — so the city data bureau sees where the counties disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.common.catalog import CatalogEntry, Openness
from assets.common.city import City

ITEMS = "信息项"
Document = dict[str, Any]


def entry_document(entry: CatalogEntry) -> Document:
    """The entry as its registration format (Chinese field names), defaults left out, JSON types.

    Leaving defaults out keeps a document (and its hash) stable when the model gains an optional field.
    """
    return entry.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def content_hash(document: object) -> str:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _items_by_column(document: Mapping[str, Any]) -> dict[str, Document]:
    return {item["column"]: item for item in document.get(ITEMS, [])}


def _value_changes(old: Mapping[str, Any], new: Mapping[str, Any], skip: tuple[str, ...] = ()):
    return {
        key: {"from": old.get(key), "to": new.get(key)}
        for key in sorted(set(old) | set(new))
        if key not in skip and old.get(key) != new.get(key)
    }


def entry_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Document:
    """What changed from one entry document to another: fields, and items added/modified/retired.

    Items are matched by ``column``; an empty result (see :func:`changes_empty`) means identical.
    """
    old_items, new_items = _items_by_column(old), _items_by_column(new)
    shared = [c for c in new_items if c in old_items]
    return {
        "fields": _value_changes(old, new, skip=(ITEMS,)),
        "items_added": [c for c in new_items if c not in old_items],
        "items_modified": {
            c: changed for c in shared if (changed := _value_changes(old_items[c], new_items[c]))
        },
        "items_retired": [c for c in old_items if c not in new_items],
        "item_order_changed": [c for c in new_items if c in old_items]
        != [c for c in old_items if c in new_items],
    }


def changes_empty(changes: Mapping[str, Any]) -> bool:
    return not any(changes.get(key) for key in changes)


def _shown(value: object) -> str:
    if value is None:
        return "（未填写）"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def describe_county_difference(changes: Mapping[str, Any]) -> list[str]:
    """Chinese lines saying how a county's registration differs from the city entry."""
    lines = [
        f"{name}为“{_shown(change['to'])}”（全市为“{_shown(change['from'])}”）"
        for name, change in changes["fields"].items()
    ]
    if changes["items_added"]:
        lines.append(f"多登记了信息项：{'、'.join(changes['items_added'])}")
    if changes["items_retired"]:
        lines.append(f"未登记信息项：{'、'.join(changes['items_retired'])}")
    for column, attrs in changes["items_modified"].items():
        detail = "；".join(
            f"{attr}为“{_shown(c['to'])}”（全市为“{_shown(c['from'])}”）"
            for attr, c in attrs.items()
        )
        lines.append(f"信息项 {column} 不同：{detail}")
    if changes.get("item_order_changed"):
        lines.append("信息项顺序与全市不同")
    return lines


@dataclass(frozen=True)
class CityEntry:
    """One dataset of the city catalog and who registered it."""

    entry: CatalogEntry
    counties: tuple[str, ...]
    differences: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def dataset_id(self) -> str:
        return self.entry.dataset_id

    def snapshot(self) -> Document:
        return {
            "entry": entry_document(self.entry),
            "counties": list(self.counties),
            "differences": {county: list(lines) for county, lines in self.differences.items()},
        }


@dataclass(frozen=True)
class CityCatalog:
    """The aggregated city catalog; its snapshot is what a catalog version records."""

    entries: dict[str, CityEntry]

    def snapshot(self) -> Document:
        return {"entries": {key: e.snapshot() for key, e in sorted(self.entries.items())}}

    @property
    def content_hash(self) -> str:
        return content_hash(self.snapshot())

    @property
    def published(self) -> list[CityEntry]:
        """The entries the public catalog shows: everything but 禁止开放 (第四条)."""
        return [e for _, e in sorted(self.entries.items()) if not e.entry.is_prohibited]

    @property
    def withheld(self) -> list[CityEntry]:
        return [e for _, e in sorted(self.entries.items()) if e.entry.is_prohibited]

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> CityCatalog:
        entries = {
            key: CityEntry(
                entry=CatalogEntry.model_validate(value["entry"]),
                counties=tuple(value["counties"]),
                differences={c: tuple(lines) for c, lines in value["differences"].items()},
            )
            for key, value in snapshot.get("entries", {}).items()
        }
        return cls(entries=dict(sorted(entries.items())))


def prohibited_datasets(catalog: Mapping[str, CatalogEntry]) -> frozenset[str]:
    """The datasets the city classifies as 禁止开放 (its catalog configuration)."""
    return frozenset(dataset_id for dataset_id, entry in catalog.items() if entry.is_prohibited)


def aggregate(
    registrations: Iterable[tuple[str, CatalogEntry]],
    city: City,
    *,
    prohibited: Collection[str] = (),
) -> CityCatalog:
    """Merge valid county registrations ``(county_code, entry)`` into the city catalog.

    A dataset in ``prohibited`` — classified 禁止开放 by the city — stays 禁止开放 whatever the
    counties registered (第四条): registrations cannot open it, and each county that registered it
    otherwise is listed as differing."""
    order = {code: n for n, code in enumerate(city.county_codes)}
    by_dataset: dict[str, dict[str, CatalogEntry]] = {}
    for county_code, entry in registrations:
        by_dataset.setdefault(entry.dataset_id, {})[county_code] = entry

    entries: dict[str, CityEntry] = {}
    for dataset_id, per_county in sorted(by_dataset.items()):
        counties = sorted(per_county, key=lambda c: (order.get(c, len(order)), c))
        documents = {c: entry_document(per_county[c]) for c in counties}
        groups: dict[str, list[str]] = {}
        for county in counties:
            groups.setdefault(content_hash(documents[county]), []).append(county)
        # most counties agree; ties go to the group holding the earliest county in city order
        winner = min(groups.values(), key=lambda g: (-len(g), counties.index(g[0])))
        entry = per_county[winner[0]]
        if dataset_id in prohibited and not entry.is_prohibited:
            entry = entry.model_copy(update={"openness": Openness.PROHIBITED})
        canonical = entry_document(entry)
        differences = {
            county: tuple(describe_county_difference(entry_changes(canonical, documents[county])))
            for county in counties
            if documents[county] != canonical
        }
        entries[dataset_id] = CityEntry(
            entry=entry, counties=tuple(counties), differences=differences
        )
    return CityCatalog(entries=entries)
