"""DCAT-AP 3.0.0 conformance of the published catalog, checked with pyshacl against the vendored
SEMIC shapes (``tests/standards/dcat-ap-3.0.0/``, no inference): 0 violations of the mandatory and
range shapes, and no recommended-property warning on distributions or contact points."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyshacl
import pytest
import rdflib
from rdflib import namespace

from assets.catalog_sync.cycle import run_catalog_cycle
from assets.catalog_sync.publish import DCAT_NAME, JSON_NAME, public_dir
from assets.catalog_sync.registry import seed_registry
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.test_catalog_validation import register, shipped

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
BASE = "https://data.zhongwei.example/open/"
DCAT, DCTERMS, RDF, SH, SKOS = (
    namespace.DCAT,
    namespace.DCTERMS,
    namespace.RDF,
    namespace.SH,
    namespace.SKOS,
)
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
FREQUENCY_SCHEME = rdflib.URIRef("http://publications.europa.eu/resource/authority/frequency")

VENDORED = Path(__file__).parent / "standards" / "dcat-ap-3.0.0"
# the shared standards folder beside the clone (CI lays shared/ beside it; a worktree is deeper)
SHARED = next(
    (
        folder / "shared" / "standards" / "dcat-ap-3.0.0"
        for folder in Path(__file__).resolve().parents[1].parents
        if (folder / "shared" / "standards").is_dir()
    ),
    Path(__file__).resolve().parents[1].parent / "shared" / "standards" / "dcat-ap-3.0.0",
)
# recommended properties the export leaves out on purpose: the counties' geometry is not in the city
# configuration (a dct:Location without dcat:bbox / dcat:centroid); the catalog does not know which
# periods the exchange holds (no dct:temporal); no ADMS licence type fits the operation platform's
# authorization terms (a dct:LicenseDocument without dct:type)
ALLOWED_WARNINGS = {
    (DCAT.bbox, DCTERMS.Location),
    (DCAT.centroid, DCTERMS.Location),
    (DCTERMS.temporal, DCAT.Dataset),
    (DCTERMS.type, DCTERMS.LicenseDocument),
}


def shapes_dir() -> Path:
    """The vendored copy; the shared standards folder beside the clone when the copy is missing."""
    for candidate in (VENDORED, SHARED):
        if (candidate / "shapes.ttl").exists():
            return candidate
    pytest.fail(f"DCAT-AP shapes not found in {VENDORED} or {SHARED}")


def _shapes(*names: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    for name in names:
        graph.parse(shapes_dir() / name, format="turtle")
    return graph


def _results(data: rdflib.Graph, shapes: rdflib.Graph) -> list[dict[str, object]]:
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    results = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        results.append(
            {
                "severity": report.value(result, SH.resultSeverity),
                "path": report.value(result, SH.resultPath),
                "focus": focus,
                "focus_types": set(data.objects(focus, RDF.type)),
                "message": str(report.value(result, SH.resultMessage)),
            }
        )
    return results


def _publish(tmp_path: Path, db_url: str, city, **kwargs) -> rdflib.Graph:
    ensure_platform_schema(db_url)
    seed_registry(tmp_path, city)
    run_catalog_cycle(tmp_path, get_engine(db_url), city, now=T0, base_url=BASE, **kwargs)
    return _graph(tmp_path)


def _graph(data_dir: Path) -> rdflib.Graph:
    text = (public_dir(data_dir) / DCAT_NAME).read_text(encoding="utf-8")
    return rdflib.Graph().parse(data=text, format="json-ld")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'platform.sqlite'}"


def test_the_vendored_shapes_are_the_shared_ones():
    if not SHARED.exists():
        pytest.skip("no shared standards folder beside this clone")
    for name in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
        assert (VENDORED / name).read_bytes() == (SHARED / name).read_bytes()


def test_dcat_export_conforms_to_dcat_ap_3(tmp_path, sqlite_url, city):
    data = _publish(tmp_path, sqlite_url, city)
    datasets = set(data.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 6

    page_html = (public_dir(tmp_path) / "index.html").read_text(encoding="utf-8")
    # the licence documents' anchors are on the page
    assert 'id="terms-metadata"' in page_html and 'id="terms-operation"' in page_html

    mandatory = _results(data, _shapes("shapes.ttl", "range.ttl"))
    violations = [r for r in mandatory if r["severity"] == SH.Violation]
    assert violations == [], [(str(r["focus"]), r["message"]) for r in violations]

    recommended = _results(data, _shapes("shapes_recommended.ttl"))
    left = {
        (r["path"], next(iter(r["focus_types"]), None))
        for r in recommended
        if r["severity"] == SH.Warning
    }
    assert left <= ALLOWED_WARNINGS, sorted(left - ALLOWED_WARNINGS)

    for dataset in datasets:
        distributions = list(data.objects(dataset, DCAT.distribution))
        access = [d for d in distributions if (d, DCAT.downloadURL, None) not in data]
        downloads = [d for d in distributions if (d, DCAT.downloadURL, None) in data]
        assert len(access) == 1 and len(downloads) == 1
        identifier = str(data.value(dataset, DCTERMS.identifier))
        page = str(data.value(access[0], DCAT.accessURL))
        assert page == f"{BASE}catalog/index.html#{identifier}"
        metadata = str(data.value(downloads[0], DCAT.downloadURL))
        assert metadata == f"{BASE}catalog/datasets/{identifier}.json"
        assert (public_dir(tmp_path) / "datasets" / f"{identifier}.json").exists()
        assert f'id="{identifier}"' in page_html

        contact = data.value(dataset, DCAT.contactPoint)
        assert (contact, RDF.type, VCARD.Organization) in data
        assert str(data.value(contact, VCARD.fn)) == "中卫市数据局"
        assert data.value(dataset, DCTERMS.issued) is not None
        assert data.value(dataset, DCTERMS.modified) is not None

        frequency = data.value(dataset, DCTERMS.accrualPeriodicity)
        assert (frequency, RDF.type, DCTERMS.Frequency) in data
        assert (frequency, SKOS.inScheme, FREQUENCY_SCHEME) in data

        titles = {t.language: str(t) for t in data.objects(dataset, DCTERMS.title)}
        assert set(titles) == {"zh", "zh-Latn-pinyin", "en"}
        for language in ("zh-Latn-pinyin", "en"):
            assert re.fullmatch(r"[A-Za-z0-9 ]+", titles[language]), titles[language]
    household = next(d for d in datasets if str(d).endswith("/household_registration"))
    titles = {t.language: str(t) for t in data.objects(household, DCTERMS.title)}
    assert titles == {
        "zh": "户籍人口信息",
        "zh-Latn-pinyin": "Hu Ji Ren Kou Xin Xi",
        "en": "Household Registration",
    }

    # every IRI is HTTP(S); ours are under the configured base; no urn: and no Chinese in an IRI
    iris = {term for triple in data for term in triple if isinstance(term, rdflib.URIRef)}
    assert all(str(iri).startswith(("http://", "https://")) for iri in iris)
    assert not [iri for iri in iris if re.search(r"[^\x00-\x7f]", str(iri))]
    vocabularies = (
        "http://publications.europa.eu/resource/authority/",
        "http://purl.org/adms/",
        "https://www.iana.org/assignments/media-types/",
    )
    subjects = {str(s) for s in data.subjects() if isinstance(s, rdflib.URIRef)}
    ours = {s for s in subjects if not s.startswith(vocabularies)}
    assert ours and all(s.startswith(BASE) for s in ours), sorted(ours)


def test_issued_stays_and_modified_follows_the_entry_s_own_changes(tmp_path, sqlite_url, city):
    _publish(tmp_path, sqlite_url, city)
    changed = {**shipped("medical_institutions"), "数据摘要": "辖区医疗机构的名称、等级和床位数。"}
    for county in city.county_codes:
        register(tmp_path, county, changed)
    run_catalog_cycle(tmp_path, get_engine(sqlite_url), city, now=T1, base_url=BASE)
    data = _graph(tmp_path)
    dates = {}
    for dataset in data.subjects(RDF.type, DCAT.Dataset):
        issued = data.value(dataset, DCTERMS.issued).toPython()
        modified = data.value(dataset, DCTERMS.modified).toPython()
        dates[str(data.value(dataset, DCTERMS.identifier))] = (issued, modified)
    assert dates["medical_institutions"] == (T0, T1)
    assert dates["household_registration"] == (T0, T0)

    document = json.loads((public_dir(tmp_path) / JSON_NAME).read_text(encoding="utf-8"))
    entries = {e["dataset_id"]: e for e in document["条目"]}
    assert entries["medical_institutions"]["发布日期"] == "2026-11-02"
    assert entries["medical_institutions"]["更新日期"] == "2026-11-20"


def test_gb_t_21063_fields_are_in_both_exports(tmp_path, sqlite_url, city, catalog):
    data = _publish(tmp_path, sqlite_url, city)
    document = json.loads((public_dir(tmp_path) / JSON_NAME).read_text(encoding="utf-8"))
    codes = set()
    for entry in document["条目"]:
        codes.add(entry["信息资源代码"])
        assert entry["信息资源代码"] == f"640500-{entry['dataset_id']}"
        assert entry["信息资源提供方代码"] == catalog[entry["dataset_id"]].provider
        assert entry["信息资源格式"] == "数据库/结构化数据表"
        source = catalog[entry["dataset_id"]]
        sharing = entry["共享属性"]
        assert sharing["共享类型"] in {"无条件共享", "有条件共享"}
        assert sharing["共享方式"] == "中卫市政务数据共享交换平台"
        assert entry["开放属性"] == source.openness.value
        assert entry["发布日期"] == "2026-11-02"
    assert len(codes) == 6

    # the same fields in the DCAT export: identifier, the provider's notation, format, sharing note
    for dataset in data.subjects(RDF.type, DCAT.Dataset):
        identifier = str(data.value(dataset, DCTERMS.identifier))
        entry = next(e for e in document["条目"] if e["dataset_id"] == identifier)
        adms_ids = [
            str(data.value(node, SKOS.notation))
            for node in data.objects(dataset, rdflib.URIRef("http://www.w3.org/ns/adms#identifier"))
        ]
        assert adms_ids == [entry["信息资源代码"]]
        publisher = data.value(dataset, DCTERMS.publisher)
        assert str(data.value(publisher, SKOS.notation)) == entry["信息资源提供方代码"]
        notes = {str(n) for n in data.objects(dataset, SKOS.scopeNote)}
        assert f"共享类型：{entry['共享属性']['共享类型']}" in notes


def test_the_public_base_url_is_a_setting(monkeypatch, tmp_path):
    from orchestration.settings import ENV_PUBLIC_BASE_URL, Settings

    assert Settings.load(tmp_path).public_base_url == "http://127.0.0.1:8000/"
    monkeypatch.setenv(ENV_PUBLIC_BASE_URL, "https://data.zhongwei.example/open")
    settings = Settings.load(tmp_path)
    assert settings.public_base_url == "https://data.zhongwei.example/open/"
    assert settings.platform_resource().public_base_url == settings.public_base_url
    monkeypatch.setenv(ENV_PUBLIC_BASE_URL, "urn:publicdata:640500")
    with pytest.raises(ValueError, match="http"):
        Settings.load(tmp_path)
