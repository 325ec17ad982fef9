"""Publication of the city catalog to society (第八条) and the catalog cycle that leads to it.

The public catalog is metadata only, never data, and leaves out every 禁止开放 entry (第四条). Each
version is written under ``<data dir>/operation/catalog/`` — the operation platform's public area —
as ``v<NNNN>/catalog.json``, ``v<NNNN>/catalog.jsonld`` (DCAT) and ``v<NNNN>/index.html``, and the
same three files at the top as the current catalog. After a new version is published its change event
(version and public diff) goes to the subscribers and is recorded.

:func:`run_catalog_cycle` is the whole cycle the CLI and the Dagster asset run: scan the registry,
validate (rejections back to the departments), accept, aggregate, version, publish, notify.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apprise
import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.catalog_sync.aggregate import CityCatalog, CityEntry, aggregate
from assets.catalog_sync.registry import scan_registry, seed_registry
from assets.catalog_sync.validation import ValidationResult, rejection_notice, validate_registry
from assets.catalog_sync.versions import (
    CatalogVersion,
    RegistrationSync,
    diff_counts,
    diff_snapshots,
    get_version,
    latest_version,
    record_version,
    set_rejection_ticket,
    sync_registrations,
)
from assets.common.catalog import Frequency, Openness
from assets.common.city import City
from assets.storage.tables import catalog_events

log = logging.getLogger(__name__)

PUBLIC_DIRNAME = Path("operation") / "catalog"
JSON_NAME = "catalog.json"
DCAT_NAME = "catalog.jsonld"
HTML_NAME = "index.html"
TEMPLATE_NAME = "catalog.html.j2"
AUDIT_PUBLISH = "catalog_publish"

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


def _catalog_title(city: City) -> str:
    return f"{city.city.name}公共数据资源目录"


def catalog_json(
    catalog: CityCatalog, version: CatalogVersion, city: City, diff: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The public catalog as plain JSON (Chinese field names, as registered)."""
    published = catalog.published
    return {
        "目录名称": _catalog_title(city),
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
        "dct:title": _zh(_catalog_title(city)),
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


def public_dir(data_dir: Path) -> Path:
    return Path(data_dir) / PUBLIC_DIRNAME


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
        temporary = Path(handle.name)
    os.replace(temporary, path)


@dataclass(frozen=True)
class Publication:
    version: int
    directory: Path  # the version's own directory
    published: list[str]  # dataset ids
    withheld: list[str]  # 禁止开放 dataset ids, left out


def write_publication(
    data_dir: Path, version: CatalogVersion, city: City, diff: Mapping[str, Any]
) -> Publication:
    """Write the version's JSON, DCAT JSON-LD and HTML, in its own folder and as the current files.

    ``diff`` is the version's public diff (:func:`public_diff`), shown as 本版变更.
    """
    catalog = version.catalog
    texts = {
        JSON_NAME: json.dumps(
            catalog_json(catalog, version, city, diff), ensure_ascii=False, indent=2
        ),
        DCAT_NAME: json.dumps(catalog_dcat(catalog, version, city), ensure_ascii=False, indent=2),
        HTML_NAME: catalog_html(catalog, version, city, diff),
    }
    root = public_dir(data_dir)
    directory = root / f"v{version.version:04d}"
    for name, text in texts.items():
        _write_atomic(directory / name, text + "\n")
    # the current catalog at the top; written last, so it never names a version not yet on disk
    for name, text in texts.items():
        _write_atomic(root / name, text + "\n")
    return Publication(
        version=version.version,
        directory=directory,
        published=[e.dataset_id for e in catalog.published],
        withheld=[e.dataset_id for e in catalog.withheld],
    )


# --- change events to subscribers ---------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    channel: str  # the subscriber URL with secrets hidden
    status: str  # ok | failed | invalid


def _redacted(url: str) -> tuple[str, apprise.Apprise | None]:
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme}://（无法识别的订阅地址）", None
    client = apprise.Apprise()
    client.add(plugin)
    return plugin.url(privacy=True), client


def change_event(version: CatalogVersion, diff: Mapping[str, Any], city: City) -> dict[str, Any]:
    return {
        "目录名称": _catalog_title(city),
        "版本": version.version,
        "版本时间": version.created_at.isoformat(),
        "变更统计": diff_counts(diff),
        "变更": dict(diff),
    }


def _event_text(event: Mapping[str, Any]) -> tuple[str, str]:
    counts = event["变更统计"]
    title = f"{event['目录名称']}更新（第{event['版本']}版）"
    summary = (
        f"{event['目录名称']}已发布第{event['版本']}版："
        f"新增条目 {counts['entries_added']} 个，变更 {counts['entries_modified']} 个，"
        f"下架 {counts['entries_retired']} 个；信息项新增 {counts['items_added']} 个，"
        f"变更 {counts['items_modified']} 个，下架 {counts['items_retired']} 个。"
    )
    body = summary + "\n\n" + json.dumps(event, ensure_ascii=False, indent=2)
    return title, body


def deliver_change_event(
    engine: Engine,
    event: Mapping[str, Any],
    subscribers: Sequence[str],
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """Send the change event to every subscriber (apprise URLs) and record each delivery."""
    moment = now or datetime.now(UTC)
    title, body = _event_text(event)
    deliveries: list[Delivery] = []
    for url in subscribers:
        channel, client = _redacted(url)
        if client is None:
            deliveries.append(Delivery(channel, "invalid"))
            continue
        try:
            sent = bool(client.notify(title=title, body=body))
        except Exception:  # a channel's failure must not stop the others
            log.exception("catalog change event to %s failed", channel)
            sent = False
        deliveries.append(Delivery(channel, "ok" if sent else "failed"))
    with engine.begin() as connection:
        for delivery in deliveries:
            connection.execute(
                catalog_events.insert().values(
                    version=event["版本"],
                    at=moment,
                    kind="delivered",
                    channel=delivery.channel,
                    status=delivery.status,
                    detail={"变更统计": event["变更统计"]},
                )
            )
    return deliveries


def record_publication(
    engine: Engine,
    publication: Publication,
    data_dir: Path,
    diff: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """Record that a version was published, with its public diff (the change event)."""
    with engine.begin() as connection:
        connection.execute(
            catalog_events.insert().values(
                version=publication.version,
                at=now or datetime.now(UTC),
                kind="published",
                channel=None,
                status="ok",
                detail={
                    "directory": publication.directory.relative_to(data_dir).as_posix(),
                    "published": publication.published,
                    "withheld": len(publication.withheld),
                    "变更统计": diff_counts(diff),
                    "变更": dict(diff),
                },
            )
        )


def catalog_events_of(engine: Engine, version: int | None = None) -> list[dict[str, Any]]:
    query = sa.select(catalog_events).order_by(catalog_events.c.id)
    if version is not None:
        query = query.where(catalog_events.c.version == version)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


# --- rejections as quality tickets --------------------------------------------------------------

REGISTRATION_RULE_ID = "catalog.registration"
TicketOpener = Callable[[Engine, ValidationResult, City, datetime], str | None]


def _ticket_store_opener() -> TicketOpener | None:
    """Rejections go to the department as quality tickets where the ticket store is installed."""
    try:
        from assets.common.workdays import DuePolicy, china_date
        from assets.tickets import store as ticket_store
        from assets.tickets.rules import SEVERITY_MEDIUM, Dimension, Finding
    except ImportError:
        return None

    def open_ticket(
        engine: Engine, result: ValidationResult, city: City, at: datetime
    ) -> str | None:
        if result.department_id is None or result.county_code not in city.county_codes:
            return None  # nobody to route it to; the rejection record keeps the reasons
        finding = Finding(
            rule_id=REGISTRATION_RULE_ID,
            expectation="资源目录条目符合第八条登记要求",
            columns=(),
            dimension=Dimension.CONFORMITY,
            severity=SEVERITY_MEDIUM,
            failed_count=len(result.reasons),
            total=1,
            examples=tuple({"source_row": None, "value": reason} for reason in result.reasons),
            fix=rejection_notice(result, city),
        )
        outcome = ticket_store.sync_findings(
            engine,
            dataset_id=result.dataset_id,
            county_code=result.county_code,
            department_id=result.department_id,
            period=china_date(at).isoformat(),
            findings=[finding],
            passed_rule_ids=(),
            checked_at=at,
            due_policy=DuePolicy(),
        )
        return outcome.tickets[0].id if outcome.tickets else None

    return open_ticket


def _close_registration_tickets(
    engine: Engine, accepted: Sequence[ValidationResult], at: datetime
) -> int:
    """A corrected registration was accepted: close its open registration ticket as verified."""
    try:
        from assets.common.workdays import DuePolicy, china_date
        from assets.tickets import store as ticket_store
    except ImportError:
        return 0
    closed = 0
    for result in accepted:
        assert result.entry is not None
        outcome = ticket_store.sync_findings(
            engine,
            dataset_id=result.dataset_id,
            county_code=result.county_code,
            department_id=result.entry.provider,
            period=china_date(at).isoformat(),
            findings=[],
            passed_rule_ids=[REGISTRATION_RULE_ID],
            checked_at=at,
            due_policy=DuePolicy(),
        )
        closed += len(outcome.closed)
    return closed


# --- the cycle ----------------------------------------------------------------------------------


@dataclass
class CatalogCycle:
    """What one run of the catalog cycle did."""

    results: list[ValidationResult]
    sync: RegistrationSync
    catalog: CityCatalog
    version: CatalogVersion | None
    created: bool
    publication: Publication | None = None
    public_diff: dict[str, Any] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    tickets_closed: int = 0

    @property
    def rejected(self) -> list[ValidationResult]:
        return [r for r in self.results if not r.valid]

    @property
    def counts(self) -> dict[str, int]:
        return diff_counts(self.version.diff) if self.version and self.created else {}


def run_catalog_cycle(
    data_dir: Path,
    engine: Engine,
    city: City,
    *,
    subscribers: Sequence[str] = (),
    now: datetime | None = None,
    tickets: bool = True,
    actor: str = audit.SYSTEM_ACTOR,
    actor_role: str | None = None,
) -> CatalogCycle:
    """Validate the registry, accept, aggregate, version, publish and notify.

    ``engine`` is the platform records' engine (migrated). Without a change no version is made and
    nothing is sent; the current version's files are rewritten only if missing. A new version, and
    every publication a person asked for (``actor``, checked by the caller), is audited.
    """
    moment = now or datetime.now(UTC)
    data_dir = Path(data_dir)
    results = validate_registry(scan_registry(data_dir), city)
    sync = sync_registrations(engine, results, now=moment)

    opened: list[str] = []
    closed = 0
    opener = _ticket_store_opener() if tickets else None
    if opener is not None:
        for rejection in sync.new_rejections:
            ticket_id = opener(engine, rejection, city, moment)
            if ticket_id is not None:
                set_rejection_ticket(engine, rejection, ticket_id)
                opened.append(ticket_id)
        updated = set(sync.updated)
        closed = _close_registration_tickets(
            engine, [r for r in results if r.valid and r.key in updated], moment
        )
    for rejection in sync.new_rejections:
        log.warning(
            "catalog registration %s rejected: %s", rejection.key, "；".join(rejection.reasons)
        )

    catalog = aggregate(sync.accepted, city)
    previous = latest_version(engine)
    if previous is None and not catalog.entries:
        return CatalogCycle(
            results, sync, catalog, None, False, tickets=opened, tickets_closed=closed
        )
    version, created = record_version(engine, catalog, now=moment)
    cycle = CatalogCycle(
        results, sync, catalog, version, created, tickets=opened, tickets_closed=closed
    )
    before = previous if created else _version_before(engine, version)
    cycle.public_diff = public_diff(before.snapshot if before else None, version.snapshot)
    current = public_dir(data_dir) / f"v{version.version:04d}" / JSON_NAME
    if created or not current.exists():
        cycle.publication = write_publication(data_dir, version, city, cycle.public_diff)
        record_publication(engine, cycle.publication, data_dir, cycle.public_diff, now=moment)
    if created:
        event = change_event(version, cycle.public_diff, city)
        cycle.deliveries = deliver_change_event(engine, event, subscribers, now=moment)
    if created or actor != audit.SYSTEM_ACTOR:
        with engine.begin() as connection:
            audit.record(
                connection,
                actor=actor,
                role=actor_role,
                action=AUDIT_PUBLISH,
                target=f"catalog/v{version.version}",
                detail={"new_version": created, "rejected": len(cycle.rejected)},
                at=moment,
            )
    return cycle


def seed_new_platform(data_dir: Path, engine: Engine, city: City, catalog_dir: Path) -> int:
    """Bootstrap: a platform that has never published a catalog and whose registry is empty gets
    every entry of the pipeline catalog (``catalog_dir``) registered for every county, as the demo
    needs. Once a version exists an empty registry means everything was retired, and stays so.

    Returns the number of registration files written.
    """
    if latest_version(engine) is not None:
        return 0
    return seed_registry(Path(data_dir), city, Path(catalog_dir))


def _version_before(engine: Engine, version: CatalogVersion) -> CatalogVersion | None:
    return get_version(engine, version.version - 1) if version.version > 1 else None
