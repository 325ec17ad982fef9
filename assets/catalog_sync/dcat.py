"""The public catalog as DCAT-AP 3.0.0 JSON-LD.

Checked by ``tests/test_catalog_dcat.py`` with pyshacl against the SEMIC shapes, without inference:
every value whose class the shapes check carries its ``@type`` here (a frequency is a
``dct:Frequency`` in the EU vocabulary's scheme, a contact point a ``vcard:Kind``), and every
identifier is an HTTP(S) IRI under the public base URL (:class:`PublicSite`).

Each dataset has two distributions: the operation platform's page of the entry (``accessURL``; the
data itself is used there after authorization, usable but not visible) and the entry's public
metadata file (``downloadURL``). The GB/T 21063 fields go in as ``adms:identifier`` (信息资源代码),
the publisher's ``skos:notation`` (信息资源提供方代码), ``dct:issued`` (发布日期) and scope notes
(信息资源格式, 共享属性).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from assets.catalog_sync.aggregate import CityCatalog, CityEntry
from assets.catalog_sync.standards import (
    RESOURCE_FORMAT,
    EntryDates,
    PublicSite,
    catalog_title,
    china_time,
    english_title,
    pinyin_title,
    provider_code,
    publisher_name,
    resource_code,
    sharing,
)
from assets.catalog_sync.versions import CatalogVersion
from assets.common.catalog import Frequency, Openness
from assets.common.city import City

EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY_SCHEME = f"{EU}frequency"
# EU Publications Office frequency authority table (the vocabulary DCAT-AP uses for accrualPeriodicity)
FREQUENCY_IRIS: dict[Frequency, str] = {
    Frequency.DAILY: f"{FREQUENCY_SCHEME}/DAILY",
    Frequency.MONTHLY: f"{FREQUENCY_SCHEME}/MONTHLY",
    Frequency.QUARTERLY: f"{FREQUENCY_SCHEME}/QUARTERLY",
    Frequency.YEARLY: f"{FREQUENCY_SCHEME}/ANNUAL",
}
# EU access-right authority table; 禁止开放 is never published, NON_PUBLIC is listed for completeness
ACCESS_RIGHTS_IRIS: dict[Openness, str] = {
    Openness.UNCONDITIONAL: f"{EU}access-right/PUBLIC",
    Openness.CONDITIONAL: f"{EU}access-right/RESTRICTED",
    Openness.PROHIBITED: f"{EU}access-right/NON_PUBLIC",
}
LANGUAGE_ZH = f"{EU}language/ZHO"
FILE_TYPE_HTML = f"{EU}file-type/HTML"
FILE_TYPE_JSON = f"{EU}file-type/JSON"
AVAILABILITY_STABLE = f"{EU}planned-availability/STABLE"
MEDIA_TYPE_JSON = "https://www.iana.org/assignments/media-types/application/json"
PUBLISHER_TYPE_LOCAL = "http://purl.org/adms/publishertype/LocalAuthority"
LICENCE_TYPE_ATTRIBUTION = "http://purl.org/adms/licencetype/Attribution"
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
    "dcatap": "http://data.europa.eu/r5r/",
    "adms": "http://www.w3.org/ns/adms#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "csvw": "http://www.w3.org/ns/csvw#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": XSD,
}
TERMS_METADATA = "terms-metadata"
TERMS_OPERATION = "terms-operation"


def _zh(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "zh"}


def _titles(chinese: str, english: str | None = None) -> list[dict[str, str]]:
    """The Chinese title, its pinyin and (for datasets) the English name of its id: a harvester
    that keeps only Latin letters finds a name to use."""
    titles = [_zh(chinese), {"@value": pinyin_title(chinese), "@language": "zh-Latn-pinyin"}]
    if english:
        titles.append({"@value": english, "@language": "en"})
    return titles


def _moment(moment: datetime) -> dict[str, str]:
    return {"@value": china_time(moment).isoformat(), "@type": f"{XSD}dateTime"}


def _concept(iri: str, label: str, scheme: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"@id": iri, "@type": "skos:Concept", "skos:prefLabel": _zh(label)}
    if scheme:
        node["skos:inScheme"] = {"@id": scheme}
    return node


def _slug(text: str) -> str:
    return pinyin_title(text).lower().replace(" ", "-") or "x"


def _licences(site: PublicSite) -> dict[str, dict[str, Any]]:
    page = site.file_url("index.html")
    return {
        TERMS_METADATA: {
            "@id": f"{page}#{TERMS_METADATA}",
            "@type": "dct:LicenseDocument",
            "dct:title": _zh("目录元数据向社会公开，可自由获取和再利用，请注明来源"),
            "dct:type": _concept(LICENCE_TYPE_ATTRIBUTION, "署名"),
        },
        TERMS_OPERATION: {
            "@id": f"{page}#{TERMS_OPERATION}",
            "@type": "dct:LicenseDocument",
            "dct:title": _zh(
                "数据本身不对外提供：经运营平台申请、审核授权后在平台内使用（可用不可见），"
                "原始数据不得导出"
            ),
        },
    }


def _agent(site: PublicSite, key: str, name: str, notation: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": site.iri("agent", key),
        "@type": "foaf:Agent",
        "foaf:name": _zh(name),
        "dct:type": _concept(PUBLISHER_TYPE_LOCAL, "地方政府机构"),
    }
    if notation:
        node["skos:notation"] = notation
    return node


def _contact(site: PublicSite, city: City) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": site.iri("contact", "data_bureau"),
        "@type": ["vcard:Kind", "vcard:Organization"],
        "vcard:fn": city.city.data_bureau,
        "vcard:hasURL": {"@id": site.file_url("index.html")},
    }
    if city.city.contact_email:
        node["vcard:hasEmail"] = {"@id": f"mailto:{city.city.contact_email}"}
    if city.city.contact_phone:
        node["vcard:hasTelephone"] = {"@id": f"tel:{city.city.contact_phone.replace(' ', '')}"}
    return node


def _distributions(site: PublicSite, dataset_id: str) -> list[dict[str, Any]]:
    licences = _licences(site)
    stable = _concept(AVAILABILITY_STABLE, "长期稳定提供")
    dataset = site.iri("dataset", dataset_id)
    return [
        {
            "@id": f"{dataset}#operation",
            "@type": "dcat:Distribution",
            "dct:title": _zh("公共数据运营平台"),
            "dct:description": _zh(
                "数据在公共数据运营平台上经申请、审核授权后使用（可用不可见）；此页说明资源与申请方式。"
            ),
            "dcat:accessURL": {"@id": site.page_url(dataset_id)},
            "dct:format": {"@id": FILE_TYPE_HTML, "@type": "dct:MediaTypeOrExtent"},
            "dct:license": licences[TERMS_OPERATION],
            "dcatap:availability": stable,
        },
        {
            "@id": f"{dataset}#metadata",
            "@type": "dcat:Distribution",
            "dct:title": _zh("目录元数据（JSON）"),
            "dct:description": _zh("本资源的公开目录信息：摘要、提供方、更新频率、信息项。"),
            "dcat:accessURL": {"@id": site.metadata_url(dataset_id)},
            "dcat:downloadURL": {"@id": site.metadata_url(dataset_id)},
            "dcat:mediaType": {"@id": MEDIA_TYPE_JSON, "@type": "dct:MediaType"},
            "dct:format": {"@id": FILE_TYPE_JSON, "@type": "dct:MediaTypeOrExtent"},
            "dct:license": licences[TERMS_METADATA],
            "dcatap:availability": stable,
        },
    ]


def _dataset(
    city_entry: CityEntry, city: City, site: PublicSite, dates: EntryDates
) -> dict[str, Any]:
    entry = city_entry.entry
    counties = {c.code: c.name for c in city.counties}
    taxonomy = site.iri("theme")
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
    shared = sharing(city, entry)
    return {
        "@id": site.iri("dataset", entry.dataset_id),
        "@type": "dcat:Dataset",
        "dct:identifier": entry.dataset_id,
        "adms:identifier": {
            "@type": "adms:Identifier",
            "skos:notation": resource_code(city, entry),
            "dct:description": _zh("信息资源代码（GB/T 21063）"),
        },
        "dct:title": _titles(entry.title, english_title(entry.dataset_id)),
        "dct:description": _zh(entry.summary),
        "dct:publisher": _agent(
            site,
            entry.provider,
            publisher_name(entry.provider, city),
            provider_code(city, entry.provider),
        ),
        "dcat:contactPoint": _contact(site, city),
        "dct:issued": _moment(dates.issued),
        "dct:modified": _moment(dates.modified),
        "dct:accrualPeriodicity": {
            "@id": FREQUENCY_IRIS[entry.frequency],
            "@type": "dct:Frequency",
            "skos:inScheme": {"@id": FREQUENCY_SCHEME},
            "skos:prefLabel": _zh(entry.frequency.value),
        },
        "dct:accessRights": {
            "@id": ACCESS_RIGHTS_IRIS[entry.openness],
            "@type": "dct:RightsStatement",
            "skos:prefLabel": _zh(entry.openness.value),
        },
        "dcat:theme": [
            {
                **_concept(site.iri("theme", _slug(key), _slug(value)), value, taxonomy),
                "skos:notation": key,
            }
            for key, value in entry.classification.items()
        ],
        "dcat:keyword": [_zh(k) for k in entry.keywords],
        "dct:spatial": [
            {
                "@id": site.iri("division", code),
                "@type": "dct:Location",
                "skos:prefLabel": _zh(counties.get(code, code)),
                "dct:identifier": code,
            }
            for code in city_entry.counties
        ],
        "skos:scopeNote": [
            _zh(f"信息资源格式：{RESOURCE_FORMAT}"),
            *(_zh(f"{key}：{value}") for key, value in shared.items()),
        ],
        "dcat:distribution": _distributions(site, entry.dataset_id),
        "csvw:tableSchema": {"@type": "csvw:Schema", "csvw:column": {"@list": columns}},
    }


def catalog_dcat(
    catalog: CityCatalog,
    version: CatalogVersion,
    city: City,
    *,
    site: PublicSite | None = None,
    dates: Mapping[str, EntryDates] | None = None,
    issued: datetime | None = None,
) -> dict[str, Any]:
    """The public catalog as DCAT JSON-LD: a ``dcat:Catalog`` of ``dcat:Dataset`` nodes.

    ``dates`` are the entries' issued / modified moments (:func:`standards.entry_dates`), ``issued``
    the first version's time; without them the version's own time stands for both.
    """
    site = site or PublicSite()
    fallback = EntryDates(issued=version.created_at, modified=version.created_at)
    dates = dates or {}
    title = catalog_title(city)
    return {
        "@context": DCAT_CONTEXT,
        "@id": site.catalog_url,
        "@type": "dcat:Catalog",
        "dct:title": _titles(title),
        "dct:description": _zh(
            f"{title}：各数源部门登记、由{city.city.data_bureau}汇总并向社会公开的公共数据资源目录"
            "（只含目录信息，不含数据本身；依法禁止开放的资源不列出）。"
        ),
        "dct:publisher": _agent(site, "data_bureau", city.city.data_bureau),
        "foaf:homepage": {"@id": site.file_url("index.html"), "@type": "foaf:Document"},
        "dct:language": {"@id": LANGUAGE_ZH, "@type": "dct:LinguisticSystem"},
        "dct:license": _licences(site)[TERMS_METADATA],
        "dct:spatial": {
            "@id": site.iri("division", city.city.code),
            "@type": "dct:Location",
            "skos:prefLabel": _zh(city.city.name),
            "dct:identifier": city.city.code,
        },
        "dcat:themeTaxonomy": {
            "@id": site.iri("theme"),
            "@type": "skos:ConceptScheme",
            "dct:title": _zh(f"{city.city.name}公共数据资源分类"),
        },
        "owl:versionInfo": str(version.version),
        "dct:issued": _moment(issued or version.created_at),
        "dct:modified": _moment(version.created_at),
        "dcat:dataset": [
            _dataset(e, city, site, dates.get(e.dataset_id, fallback)) for e in catalog.published
        ],
    }
