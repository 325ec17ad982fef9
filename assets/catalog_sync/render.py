"""Rendering the public catalog (第八条): metadata only, never data, and no 禁止开放 entry (第四条).

Three forms of one catalog version: plain JSON with the registered Chinese field names, DCAT JSON-LD
(``dcat:Catalog`` of ``dcat:Dataset`` nodes, EU authority tables for frequency and access rights) and a
static HTML page from ``catalog.html.j2``. :mod:`assets.catalog_sync.publish` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from assets.catalog_sync.aggregate import CityCatalog, CityEntry
from assets.catalog_sync.versions import CatalogVersion, diff_counts, diff_snapshots
from assets.common.catalog import Frequency, Openness
from assets.common.city import City

TEMPLATE_NAME = "catalog.html.j2"
# EU Publications Office frequency authority table (the vocabulary DCAT-AP uses for accrualPeriodicity)
FREQUENCY_IRIS: dict[Frequency, str] = {
    Frequency.DAILY: "http://publications.europa.eu/resource/authority/frequency/DAILY",
    Frequency.MONTHLY: "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
    Frequency.QUARTERLY: "http://publications.europa.eu/resource/authority/frequency/QUARTERLY",
    Frequency.YEARLY: "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
}
# EU access-right authority table; 禁止开放 is never published, NON_PUBLIC is listed for completeness
ACCESS_RIGHTS_IRIS: dict[Openness, str] = {
    Openness.UNCONDITIONAL: "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
    Openness.CONDITIONAL: "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
    Openness.PROHIBITED: "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
}
XSD = "http://www.w3.org/2001/XMLSchema#"
DATATYPE_IRIS: dict[str, str] = {
    "string": f"{XSD}string",
    "date": f"{XSD}date",
    "integer": f"{XSD}integer",
    "decimal": f"{XSD}decimal",
}
DCAT_CONTEXT: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "csvw": "http://www.w3.org/ns/csvw#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": XSD,
}
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


def _publisher_name(entry_provider: str, city: City) -> str:
    try:
        return f"{city.city.name}{city.department(entry_provider).name}"
    except KeyError:
        return entry_provider


def _county_names(codes: Sequence[str], city: City) -> list[dict[str, str]]:
    names = {c.code: c.name for c in city.counties}
    return [{"代码": code, "名称": names.get(code, code)} for code in codes]


def _public_entry(city_entry: CityEntry, city: City) -> dict[str, Any]:
    entry = city_entry.entry
    return {
        "dataset_id": entry.dataset_id,
        "数据目录名称": entry.title,
        "信息资源提供方": _publisher_name(entry.provider, city),
        "数据摘要": entry.summary,
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


def catalog_title(city: City) -> str:
    return f"{city.city.name}公共数据资源目录"


def catalog_json(
    catalog: CityCatalog, version: CatalogVersion, city: City, diff: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The public catalog as plain JSON (Chinese field names, as registered)."""
    published = catalog.published
    return {
        "目录名称": catalog_title(city),
        "发布机构": city.city.data_bureau,
        "版本": version.version,
        "版本时间": version.created_at.isoformat(),
        "条目数": len(published),
        "本版变更": dict(diff) if diff is not None else None,
        "条目": [_public_entry(e, city) for e in published],
    }


def _zh(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "zh"}


def _urn(city: City, *parts: str) -> str:
    return ":".join(("urn:publicdata", city.city.code, *parts))


def _dcat_dataset(city_entry: CityEntry, city: City) -> dict[str, Any]:
    entry = city_entry.entry
    counties = {c.code: c.name for c in city.counties}
    themes = [
        {
            "@id": _urn(city, "theme", key, value),
            "@type": "skos:Concept",
            "skos:prefLabel": _zh(value),
            "skos:notation": key,
        }
        for key, value in entry.classification.items()
    ]
    columns = [
        {
            "@type": "csvw:Column",
            "csvw:name": item.column,
            "csvw:title": _zh(item.name),
            "csvw:datatype": {"@id": DATATYPE_IRIS[item.type]},
            **({"dct:description": _zh(item.rule)} if item.rule else {}),
        }
        for item in entry.items
    ]
    return {
        "@id": _urn(city, "dataset", entry.dataset_id),
        "@type": "dcat:Dataset",
        "dct:identifier": entry.dataset_id,
        "dct:title": _zh(entry.title),
        "dct:description": _zh(entry.summary),
        "dct:publisher": {
            "@id": _urn(city, "department", entry.provider),
            "@type": "foaf:Agent",
            "foaf:name": _zh(_publisher_name(entry.provider, city)),
        },
        "dct:accrualPeriodicity": {"@id": FREQUENCY_IRIS[entry.frequency]},
        "dct:accessRights": {
            "@id": ACCESS_RIGHTS_IRIS[entry.openness],
            "@type": "dct:RightsStatement",
            "skos:prefLabel": _zh(entry.openness.value),
        },
        "dcat:theme": themes,
        "dcat:keyword": [_zh(k) for k in entry.keywords],
        "dct:spatial": [
            {
                "@id": _urn(city, "division", code),
                "@type": "dct:Location",
                "skos:prefLabel": _zh(counties.get(code, code)),
            }
            for code in city_entry.counties
        ],
        "csvw:tableSchema": {"@type": "csvw:Schema", "csvw:column": {"@list": columns}},
    }


def catalog_dcat(catalog: CityCatalog, version: CatalogVersion, city: City) -> dict[str, Any]:
    """The public catalog as DCAT JSON-LD: a ``dcat:Catalog`` of ``dcat:Dataset`` nodes."""
    return {
        "@context": DCAT_CONTEXT,
        "@id": _urn(city, "catalog"),
        "@type": "dcat:Catalog",
        "dct:title": _zh(catalog_title(city)),
        "dct:publisher": {
            "@id": _urn(city, "data_bureau"),
            "@type": "foaf:Agent",
            "foaf:name": _zh(city.city.data_bureau),
        },
        "owl:versionInfo": str(version.version),
        "dct:modified": {"@value": version.created_at.isoformat(), "@type": f"{XSD}dateTime"},
        "dcat:dataset": [_dcat_dataset(e, city) for e in catalog.published],
    }


def _template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def catalog_html(
    catalog: CityCatalog, version: CatalogVersion, city: City, diff: Mapping[str, Any] | None = None
) -> str:
    """A static page a citizen can browse: every published entry with its items."""
    document = catalog_json(catalog, version, city, diff)
    counts = diff_counts(diff) if diff is not None else None
    return (
        _template_environment()
        .get_template(TEMPLATE_NAME)
        .render(catalog=document, counts=counts, type_labels=TYPE_LABELS)
    )
