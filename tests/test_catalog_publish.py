"""Publication: JSON, DCAT JSON-LD and HTML; 禁止开放 entries nowhere; change events; tickets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from apprise.decorators import notify
from pyld import jsonld

from assets.catalog_sync.cycle import run_catalog_cycle
from assets.catalog_sync.publish import (
    DCAT_NAME,
    HTML_NAME,
    JSON_NAME,
    catalog_events_of,
    public_dir,
)
from assets.catalog_sync.registry import seed_registry
from assets.catalog_sync.render import (
    ACCESS_RIGHTS_IRIS,
    FREQUENCY_IRIS,
)
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import catalog_rejections, quality_tickets
from tests.test_catalog_validation import register, shipped

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
CSVW = "http://www.w3.org/ns/csvw#"
RDF_TYPE = "@type"

RECEIVED: list[dict[str, str]] = []


@notify(on="catalogtest")
def _subscriber(body: str, title: str, notify_type: str, *args, **kwargs) -> bool:
    RECEIVED.append({"title": title, "body": body, "url": kwargs["meta"]["url"]})
    return True


def _engine(db_url: str) -> sa.Engine:
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def _published_files(data_dir: Path, version: int) -> dict[str, str]:
    root = public_dir(data_dir)
    files = {}
    for name in (JSON_NAME, DCAT_NAME, HTML_NAME):
        files[f"v{version:04d}/{name}"] = (root / f"v{version:04d}" / name).read_text(
            encoding="utf-8"
        )
        files[name] = (root / name).read_text(encoding="utf-8")
    return files


def _values(node: dict, iri: str) -> list:
    return node.get(iri, [])


def test_dcat_output_is_json_ld_with_the_required_terms_for_every_entry(
    db_url, city, catalog, tmp_path
):
    seed_registry(tmp_path, city)
    cycle = run_catalog_cycle(tmp_path, _engine(db_url), city, now=T0)
    assert cycle.version is not None and cycle.version.version == 1 and cycle.created

    document = json.loads((public_dir(tmp_path) / DCAT_NAME).read_text(encoding="utf-8"))
    expanded = jsonld.expand(document)
    assert len(expanded) == 1
    catalog_node = expanded[0]
    assert catalog_node[RDF_TYPE] == [f"{DCAT}Catalog"]
    datasets = _values(catalog_node, f"{DCAT}dataset")
    published = {d for d, e in catalog.items() if not e.is_prohibited}
    assert {d[f"{DCT}identifier"][0]["@value"] for d in datasets} == published
    assert len(datasets) == len(published) == 6

    for node in datasets:
        entry = catalog[node[f"{DCT}identifier"][0]["@value"]]
        assert node[RDF_TYPE] == [f"{DCAT}Dataset"]
        assert {"@value": entry.title, "@language": "zh"} in node[f"{DCT}title"]
        assert node[f"{DCT}description"] == [{"@value": entry.summary, "@language": "zh"}]
        publisher = node[f"{DCT}publisher"][0]
        assert publisher["http://xmlns.com/foaf/0.1/name"][0]["@value"].endswith(
            city.department(entry.provider).name
        )
        assert node[f"{DCT}accrualPeriodicity"][0]["@id"] == FREQUENCY_IRIS[entry.frequency]
        assert node[f"{DCT}accessRights"][0]["@id"] == ACCESS_RIGHTS_IRIS[entry.openness]
        themes = {
            t["http://www.w3.org/2004/02/skos/core#prefLabel"][0]["@value"]
            for t in node[f"{DCAT}theme"]
        }
        assert themes == set(entry.classification.values())
        assert [k["@value"] for k in node[f"{DCAT}keyword"]] == list(entry.keywords)
        schema = node[f"{CSVW}tableSchema"][0]
        columns = schema[f"{CSVW}column"][0]["@list"]
        assert [c[f"{CSVW}name"][0]["@value"] for c in columns] == entry.columns
        assert [c[f"{CSVW}title"][0]["@value"] for c in columns] == [i.name for i in entry.items]
        assert all(
            c[f"{CSVW}datatype"][0]["@id"].startswith("http://www.w3.org/2001/XMLSchema#")
            for c in columns
        )

    # the frequency vocabulary: 每季度 is QUARTERLY, 每日 DAILY
    by_id = {d[f"{DCT}identifier"][0]["@value"]: d for d in datasets}
    assert by_id["medical_institutions"][f"{DCT}accrualPeriodicity"][0]["@id"].endswith(
        "/QUARTERLY"
    )
    assert by_id["market_entities"][f"{DCT}accrualPeriodicity"][0]["@id"].endswith("/DAILY")
    assert by_id["medical_institutions"][f"{DCT}accessRights"][0]["@id"].endswith("/PUBLIC")
    assert by_id["market_entities"][f"{DCT}accessRights"][0]["@id"].endswith("/RESTRICTED")


def test_prohibited_entries_are_absent_from_every_output(db_url, city, catalog, tmp_path):
    RECEIVED.clear()
    prohibited = [e for e in catalog.values() if e.is_prohibited]
    assert [e.dataset_id for e in prohibited] == ["petition_records"]
    seed_registry(tmp_path, city)
    engine = _engine(db_url)
    first = run_catalog_cycle(tmp_path, engine, city, subscribers=["catalogtest://s/1"], now=T0)
    assert first.publication.withheld == ["petition_records"]
    assert "petition_records" in first.catalog.entries  # kept in the city catalog, not published

    # a change to the prohibited entry alone makes a version, but nothing public shows it
    changed = {**shipped("petition_records"), "数据摘要": "信访事项（内部）"}
    for county in city.county_codes:
        register(tmp_path, county, changed)
    second = run_catalog_cycle(tmp_path, engine, city, subscribers=["catalogtest://s/1"], now=T1)
    assert second.created and second.version.version == 2
    assert second.version.diff["modified"].keys() == {"petition_records"}
    assert second.public_diff == {"added": [], "modified": {}, "retired": []}

    outputs = {**_published_files(tmp_path, 1), **_published_files(tmp_path, 2)}
    outputs["events"] = json.dumps(catalog_events_of(engine), ensure_ascii=False, default=str)
    outputs.update({f"notice {n}": r["body"] + r["title"] for n, r in enumerate(RECEIVED)})
    assert len(RECEIVED) == 2
    for entry in prohibited:
        for name, text in outputs.items():
            for needle in (entry.dataset_id, entry.title, entry.summary[:12], "信访"):
                assert needle not in text, f"{needle} found in {name}"
    # everything public is there
    html = outputs[HTML_NAME]
    for entry in catalog.values():
        if not entry.is_prohibited:
            assert entry.title in html and entry.dataset_id in outputs[JSON_NAME]


def test_change_events_reach_subscribers_once_and_are_recorded(db_url, city, tmp_path):
    RECEIVED.clear()
    seed_registry(tmp_path, city)
    engine = _engine(db_url)
    subscribers = [
        "catalogtest://portal/token-abc",
        "json://user:s3cret@127.0.0.1:9/hook",  # nobody listens: a failed delivery
        "nosuchscheme://x",
    ]
    first = run_catalog_cycle(tmp_path, engine, city, subscribers=subscribers, now=T0)
    assert [d.status for d in first.deliveries] == ["ok", "failed", "invalid"]
    assert len(RECEIVED) == 1
    assert RECEIVED[0]["title"] == "中卫市公共数据资源目录更新（第1版）"
    assert "新增条目 6 个" in RECEIVED[0]["body"]
    event = json.loads(RECEIVED[0]["body"].split("\n\n", 1)[1])
    assert event["版本"] == 1 and event["变更统计"]["entries_added"] == 6

    # no change: no version, no publication, no event
    again = run_catalog_cycle(tmp_path, engine, city, subscribers=subscribers, now=T1)
    assert not again.created and again.publication is None and again.deliveries == []
    assert len(RECEIVED) == 1

    # retire an entry in every county: version 2 tells the subscriber it was retired
    for county in city.county_codes:
        (tmp_path / "registry" / county / "real_estate_registration.yaml").unlink()
    third = run_catalog_cycle(tmp_path, engine, city, subscribers=subscribers[:1], now=T1)
    assert third.created and third.version.version == 2
    assert third.version.diff["retired"] == ["real_estate_registration"]
    assert len(RECEIVED) == 2
    event = json.loads(RECEIVED[1]["body"].split("\n\n", 1)[1])
    assert event["变更"]["retired"] == ["real_estate_registration"]

    events = catalog_events_of(engine)
    assert [(e["version"], e["kind"], e["status"]) for e in events] == [
        (1, "published", "ok"),
        (1, "delivered", "ok"),
        (1, "delivered", "failed"),
        (1, "delivered", "invalid"),
        (2, "published", "ok"),
        (2, "delivered", "ok"),
    ]
    recorded = json.dumps(events, ensure_ascii=False, default=str)
    assert "s3cret" not in recorded and "token-abc" not in recorded
    assert events[4]["detail"]["变更"]["retired"] == ["real_estate_registration"]
    published = json.loads((public_dir(tmp_path) / JSON_NAME).read_text(encoding="utf-8"))
    assert published["版本"] == 2 and published["条目数"] == 5
    assert published["本版变更"]["retired"] == ["real_estate_registration"]
    # the earlier version's files stay as they were
    v1 = json.loads((public_dir(tmp_path) / "v0001" / JSON_NAME).read_text(encoding="utf-8"))
    assert v1["版本"] == 1 and v1["条目数"] == 6


def test_missing_files_of_the_current_version_are_written_again(db_url, city, tmp_path):
    seed_registry(tmp_path, city)
    engine = _engine(db_url)
    run_catalog_cycle(tmp_path, engine, city, now=T0)
    (public_dir(tmp_path) / "v0001" / JSON_NAME).unlink()
    cycle = run_catalog_cycle(tmp_path, engine, city, now=T1)
    assert not cycle.created and cycle.publication is not None
    assert (public_dir(tmp_path) / "v0001" / JSON_NAME).exists()


def test_a_rejected_registration_opens_a_ticket_to_its_department(db_url, city, tmp_path):
    engine = _engine(db_url)
    document = shipped("agricultural_subsidies")
    register(tmp_path, "640502", document)
    register(tmp_path, "640521", {**document, "更新频率": None})
    cycle = run_catalog_cycle(tmp_path, engine, city, now=T0)
    assert [r.key for r in cycle.rejected] == ["640521/agricultural_subsidies"]
    assert cycle.catalog.entries["agricultural_subsidies"].counties == ("640502",)
    assert len(cycle.tickets) == 1
    with engine.connect() as connection:
        ticket = connection.execute(sa.select(quality_tickets)).one()
        rejection = connection.execute(sa.select(catalog_rejections)).one()
    assert (ticket.county_code, ticket.department_id, ticket.dataset_id) == (
        "640521",
        "agriculture_rural",
        "agricultural_subsidies",
    )
    assert ticket.dimension == "规范性"
    assert ticket.fix.startswith("中宁县农业农村局：")
    assert "缺少“更新频率”" in ticket.fix
    assert rejection.ticket_id == ticket.id == cycle.tickets[0]

    # the department fixes the file: accepted, the ticket closes, the county joins the city entry
    register(tmp_path, "640521", document)
    fixed = run_catalog_cycle(tmp_path, engine, city, now=T1)
    assert fixed.rejected == [] and fixed.tickets_closed == 1
    assert fixed.catalog.entries["agricultural_subsidies"].counties == ("640502", "640521")
    with engine.connect() as connection:
        status = connection.execute(sa.select(quality_tickets.c.status)).scalar_one()
    assert status == "closed"
