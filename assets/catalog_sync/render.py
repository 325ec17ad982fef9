"""Rendering the public catalog (第八条): metadata only, never data, and no 禁止开放 entry (第四条).

Three forms of one catalog version: plain JSON with the registered Chinese field names and the
GB/T 21063 core metadata (its JSON Schema ``catalog.schema.json`` published beside it), DCAT-AP 3.0.0
JSON-LD (:mod:`assets.catalog_sync.dcat`) and a static HTML page from ``catalog.html.j2``. :mod:`assets.catalog_sync.publish` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy.engine import Engine

from assets.catalog_sync.aggregate import CityCatalog, CityEntry
from assets.catalog_sync.dcat import (  # noqa: F401  the vocabularies, re-exported for callers
    ACCESS_RIGHTS_IRIS,
    FREQUENCY_IRIS,
    catalog_dcat,
)
from assets.catalog_sync.standards import (
    RESOURCE_FORMAT,
    EntryDates,
    PublicSite,
    catalog_title,
    china_time,
    entry_dates,
    provider_code,
    publisher_name,
    resource_code,
    sharing,
)
from assets.catalog_sync.versions import (
    CatalogVersion,
    diff_counts,
    diff_snapshots,
    list_versions,
)
from assets.common.catalog import Openness
from assets.common.city import City

TEMPLATE_NAME = "catalog.html.j2"
SCHEMA_NAME = "catalog.schema.json"  # the JSON catalog's JSON Schema, published beside it
SCHEMA_VERSION = "1.0.0"
TYPE_LABELS = {"string": "文本", "date": "日期", "integer": "整数", "decimal": "数值"}


# --- the public view ----------------------------------------------------------------------------


def public_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog snapshot as society may see it: no 禁止开放 entry, no inter-county notes."""
    entries = {
        key: {"entry": value["entry"], "counties": value["counties"], "differences": {}}
        for key, value in snapshot.get("entries", {}).items()
        if value["entry"].get("开放属性") != Openness.PROHIBITED.value
    }
    return {"entries": entries}


def public_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """The diff between two versions' public views: an entry closed to 禁止开放 shows as retired."""
    return diff_snapshots(public_snapshot(before or {}), public_snapshot(after))


def _county_names(codes: Sequence[str], city: City) -> list[dict[str, str]]:
    names = {c.code: c.name for c in city.counties}
    return [{"代码": code, "名称": names.get(code, code)} for code in codes]


@dataclass(frozen=True)
class PublicView:
    """What a version is rendered with: the city, the public addresses and the entries' dates."""

    city: City
    site: PublicSite = field(default_factory=PublicSite)
    dates: Mapping[str, EntryDates] = field(default_factory=dict)
    issued: datetime | None = None  # the first version's time: when the catalog was first issued

    def dates_of(self, dataset_id: str, version: CatalogVersion) -> EntryDates:
        fallback = EntryDates(issued=version.created_at, modified=version.created_at)
        return self.dates.get(dataset_id, fallback)


def public_view(
    engine: Engine, version: CatalogVersion, city: City, base_url: str | None = None
) -> PublicView:
    """The view of ``version`` with its entries' issued / modified dates from the version history."""
    versions = [v for v in list_versions(engine) if v.version <= version.version]
    return PublicView(
        city=city,
        site=PublicSite(base_url) if base_url else PublicSite(),
        dates=entry_dates(versions),
        issued=versions[0].created_at if versions else version.created_at,
    )


def _public_entry(
    city_entry: CityEntry, view: PublicView, version: CatalogVersion
) -> dict[str, Any]:
    entry = city_entry.entry
    city = view.city
    dates = view.dates_of(entry.dataset_id, version)
    return {
        "dataset_id": entry.dataset_id,
        "信息资源代码": resource_code(city, entry),
        "数据目录名称": entry.title,
        "信息资源提供方": publisher_name(entry.provider, city),
        "信息资源提供方代码": provider_code(city, entry.provider),
        "数据摘要": entry.summary,
        "信息资源格式": RESOURCE_FORMAT,
        "共享属性": sharing(city, entry),
        "发布日期": china_time(dates.issued).date().isoformat(),
        "更新日期": china_time(dates.modified).date().isoformat(),
        "访问地址": view.site.page_url(entry.dataset_id),
        "元数据地址": view.site.metadata_url(entry.dataset_id),
        "更新频率": entry.frequency.value,
        "开放属性": entry.openness.value,
        "关键字": list(entry.keywords),
        "分类": dict(entry.classification),
        "登记县区": _county_names(city_entry.counties, city),
        "信息项": [
            {
                "信息项名称": item.name,
                "column": item.column,
                "type": item.type,
                "规则": item.rule,
            }
            for item in entry.items
        ],
    }


def catalog_json(
    catalog: CityCatalog,
    version: CatalogVersion,
    view: PublicView,
    diff: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The public catalog as plain JSON (Chinese field names, as registered), described by the
    JSON Schema ``catalog.schema.json`` (:func:`catalog_schema`)."""
    published = catalog.published
    city = view.city
    return {
        "$schema": view.site.file_url(SCHEMA_NAME),
        "schema_version": SCHEMA_VERSION,
        "目录名称": catalog_title(city),
        "发布机构": city.city.data_bureau,
        "版本": version.version,
        "版本时间": china_time(version.created_at).isoformat(),
        "条目数": len(published),
        "本版变更": dict(diff) if diff is not None else None,
        "条目": [_public_entry(e, view, version) for e in published],
    }


def catalog_schema(site: PublicSite | None = None) -> dict[str, Any]:
    """The JSON Schema of :func:`catalog_json` (``catalog.schema.json`` beside this module), with its
    ``$id`` at the address it is published under."""
    schema = json.loads((Path(__file__).parent / SCHEMA_NAME).read_text(encoding="utf-8"))
    schema["$id"] = (site or PublicSite()).file_url(SCHEMA_NAME)
    return schema


def catalog_dcat_of(
    catalog: CityCatalog, version: CatalogVersion, view: PublicView
) -> dict[str, Any]:
    """The DCAT-AP JSON-LD of the version (:func:`assets.catalog_sync.dcat.catalog_dcat`)."""
    return catalog_dcat(
        catalog, version, view.city, site=view.site, dates=view.dates, issued=view.issued
    )


def _template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def catalog_html(
    catalog: CityCatalog,
    version: CatalogVersion,
    view: PublicView,
    diff: Mapping[str, Any] | None = None,
) -> str:
    """A static page a citizen can browse: every published entry with its items."""
    document = catalog_json(catalog, version, view, diff)
    counts = diff_counts(diff) if diff is not None else None
    return (
        _template_environment()
        .get_template(TEMPLATE_NAME)
        .render(catalog=document, counts=counts, type_labels=TYPE_LABELS)
    )
