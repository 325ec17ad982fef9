"""The resource catalog end to end (issue 5): the Definitions wire the catalog asset, its jobs, the
registry sensor and one freshness check per entry; ``run_pipeline`` publishes the catalog after ingest
(once per change) and evaluates freshness, sending 时效性 tickets to late counties' departments; a new
catalog entry file is a new dataset without code. Real runs in the data directory's Dagster instance,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from assets.catalog_sync.checks import (
    FRESHNESS_JOB_NAME,
    FRESHNESS_SCHEDULE_NAME,
    freshness_check_key,
)
from assets.catalog_sync.freshness import china_today, freshness_rule_id
from assets.catalog_sync.keys import CATALOG_JOB_NAME, CITY_CATALOG_KEY
from assets.catalog_sync.publish import JSON_NAME, catalog_events_of, public_dir
from assets.catalog_sync.registry import registry_dir, scan_registry
from assets.catalog_sync.versions import get_version, list_versions
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.quality import Dimension
from assets.landing.generator import generate
from assets.landing.generator.periods import recent_periods
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table_name
from assets.tickets.rules import Status
from assets.tickets.store import get_ticket, list_tickets
from orchestration.definitions import build_definitions, build_stages, post_ingest_jobs
from orchestration.runner import dagster_instance, run_pipeline
from tests.helpers import medical_rows, settings_for, write_delivery

REPO = Path(__file__).resolve().parents[1]
LATE_COUNTY = "640521"  # 中宁县


def _catalog_dir(tmp_path: Path, *dataset_ids: str) -> Path:
    directory = tmp_path / "catalog"
    directory.mkdir()
    for dataset_id in dataset_ids:
        shutil.copyfile(
            SHIPPED_CATALOG_DIR / f"{dataset_id}.yaml", directory / f"{dataset_id}.yaml"
        )
    return directory


def _add_pharmacies(catalog_dir: Path) -> None:
    """A new dataset: a copy of an entry under a new dataset_id, and nothing else."""
    text = (SHIPPED_CATALOG_DIR / "medical_institutions.yaml").read_text(encoding="utf-8")
    (catalog_dir / "pharmacies.yaml").write_text(
        text.replace("dataset_id: medical_institutions", "dataset_id: pharmacies").replace(
            "数据目录名称: 医疗机构名录", "数据目录名称: 零售药店名录"
        ),
        encoding="utf-8",
    )


@pytest.fixture
def small_catalog(tmp_path):
    """Two entries: a quarterly, openly published one and a monthly 禁止开放 one."""
    return _catalog_dir(tmp_path, "medical_institutions", "petition_records")


def _generate(data_dir: Path, catalog_dir: Path, city) -> None:
    # as of today, so every county's newest period is on time for its 更新频率
    generate(
        data_dir,
        rows=60,
        seed=11,
        city=city,
        catalog=load_catalog(catalog_dir),
        as_of=china_today(),
    )


def _failures(report) -> list[dict]:
    """Failed ingest partitions and failed catalog runs; other stages' post-ingest jobs are tested
    by their own stage."""
    catalog_jobs = (CATALOG_JOB_NAME, FRESHNESS_JOB_NAME)
    return [f for f in report.failed_partitions if f.get("job", CATALOG_JOB_NAME) in catalog_jobs]


def _latest_check(settings, dataset_id: str) -> dg.AssetCheckEvaluation:
    key = freshness_check_key(dataset_id)
    storage = dagster_instance(settings).event_log_storage
    record = storage.get_latest_asset_check_execution_by_key([key])[key]
    return record.event.dagster_event.event_specific_data


def _catalog_metadata(settings) -> dict:
    event = dagster_instance(settings).get_latest_materialization_event(CITY_CATALOG_KEY)
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


UI_QUERY = """
query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name blocking jobNames
            executionForLatestMaterialization {
              status evaluation { severity description }
            }
          }
        }
      }
    }
  }
}
"""


def _ui_checks(settings, tmp_path: Path, dataset_id: str) -> dict[str, dict]:
    """The asset's checks as the UI lists them (GraphQL over the data directory's instance)."""
    module = tmp_path / "ui_definitions.py"
    module.write_text(
        "from pathlib import Path\n"
        "from orchestration.definitions import build_definitions\n"
        "from orchestration.settings import Settings\n"
        f"defs = build_definitions(Settings.model_validate_json({settings.model_dump_json()!r}))\n",
        encoding="utf-8",
    )
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            python_file=str(module), attribute="defs", working_directory=str(REPO)
        ),
        location_name="publicdata",
    )
    instance = dagster_instance(settings)
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process:
        result = execute_dagster_graphql(
            process.create_request_context(),
            UI_QUERY,
            variables={"path": ["exchange", dataset_id]},
        )
    assert not result.errors, result.errors
    checks = result.data["assetNodeOrError"]["assetChecksOrError"]["checks"]
    return {check["name"]: check for check in checks}


# --- the graph ---------------------------------------------------------------------------------


def test_definitions_wire_the_catalog_stage(tmp_path, catalog):
    settings = settings_for(tmp_path)
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()

    node = graph.get(CITY_CATALOG_KEY)
    assert node.group_name == "catalog"
    assert not node.is_partitioned
    assert graph.asset_check_keys >= {freshness_check_key(ds) for ds in catalog}
    for dataset_id in catalog:
        spec = graph.get_check_spec(freshness_check_key(dataset_id))
        assert not spec.blocking
        assert catalog[dataset_id].frequency.value in spec.description

    publication = defs.resolve_job_def(CATALOG_JOB_NAME)
    assert publication.asset_layer.selected_asset_keys == {CITY_CATALOG_KEY}
    freshness = defs.resolve_job_def(FRESHNESS_JOB_NAME)
    assert freshness.asset_layer.selected_asset_keys == set()  # checks only, nothing materialized
    assert len(freshness.nodes) == len(catalog)
    assert defs.resolve_sensor_def("catalog_registry").job_name == CATALOG_JOB_NAME
    schedule = defs.resolve_schedule_def(FRESHNESS_SCHEDULE_NAME)
    assert schedule.job_name == FRESHNESS_JOB_NAME
    assert schedule.execution_timezone == "Asia/Shanghai"

    jobs = post_ingest_jobs(build_stages(settings))
    assert jobs.index(CATALOG_JOB_NAME) < jobs.index(FRESHNESS_JOB_NAME)


# --- publication --------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_publishes_once_and_a_registry_change_makes_one_version(
    tmp_path, db_url, city, small_catalog
):
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir, db_url, catalog_dir=small_catalog)
    _generate(data_dir, small_catalog, city)

    report = run_pipeline(settings)
    assert _failures(report) == []
    first = report.summary()["catalog"]
    assert first["version"] == 1 and first["new_version"] is True
    assert (first["entries"], first["published_entries"], first["withheld_entries"]) == (2, 1, 1)
    assert first["diff"]["entries_added"] == 2
    assert first["late_counties"] == {}
    # the empty registry was seeded from the pipeline catalog, every county registering every entry
    assert {r.key for r in scan_registry(data_dir)} == {
        f"{county}/{ds}" for county in city.county_codes for ds in load_catalog(small_catalog)
    }
    published = json.loads((public_dir(data_dir) / "v0001" / JSON_NAME).read_text("utf-8"))
    assert [e["dataset_id"] for e in published["条目"]] == ["medical_institutions"]

    # the data-mounting figures (第三十一条) are in the catalog asset's metadata
    metadata = _catalog_metadata(settings)
    assert metadata["mounting/registered_county_entries"] == 6
    assert metadata["mounting/county_entries_with_data"] == 6
    assert metadata["mounting/county_entries_fresh"] == 6
    assert metadata["mounting/late_counties"] == {}
    assert "petition_records" in metadata["mounting"]

    # a rerun without a registry change publishes nothing new
    again = run_pipeline(settings).summary()["catalog"]
    assert again["version"] == 1 and again["new_version"] is False
    platform = get_engine(settings.platform_url)
    assert len(list_versions(platform)) == 1
    assert [e["version"] for e in catalog_events_of(platform) if e["kind"] == "published"] == [1]

    # the department changes its entry (in every county): exactly one new version, with its diff
    for county in city.county_codes:
        path = registry_dir(data_dir) / county / "medical_institutions.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document["数据摘要"] = "辖区医疗机构名录，含床位数和联系电话，按季度更新。"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    changed = run_pipeline(settings).summary()["catalog"]
    assert changed["version"] == 2 and changed["new_version"] is True
    assert changed["diff"] == {
        "entries_added": 0,
        "entries_modified": 1,
        "entries_retired": 0,
        "items_added": 0,
        "items_modified": 0,
        "items_retired": 0,
    }
    diff = get_version(platform, 2).diff
    assert list(diff["modified"]) == ["medical_institutions"]
    assert diff["modified"]["medical_institutions"]["fields"]["数据摘要"]["to"].startswith("辖区")
    assert len(list_versions(platform)) == 2
    assert [e["version"] for e in catalog_events_of(platform) if e["kind"] == "published"] == [1, 2]


# --- freshness ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_late_county_fails_freshness_and_its_department_gets_a_ticket(
    tmp_path, db_url, city, small_catalog
):
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir, db_url, catalog_dir=small_catalog)
    _generate(data_dir, small_catalog, city)
    # 中宁县's petition delivery is an old one: its newest period is a year and more behind
    [on_time] = (data_dir / "landing" / LATE_COUNTY / "petition_records").iterdir()
    old = on_time.with_name(f"{china_today().year - 1}-06{on_time.suffix}")
    on_time.rename(old)

    report = run_pipeline(settings)
    assert _failures(report) == []
    summary = report.summary()
    assert summary["catalog"]["late_counties"] == {"petition_records": [LATE_COUNTY]}

    late = _latest_check(settings, "petition_records")
    assert not late.passed
    assert late.severity is dg.AssetCheckSeverity.WARN
    assert f"中宁县（{LATE_COUNTY}）最新报送期 {old.stem}" in late.description
    assert "沙坡头区" not in late.description and "海原县" not in late.description
    assert late.metadata["late_counties"].value == [LATE_COUNTY]
    assert late.metadata["tickets_scope"].value == "all"
    assert _latest_check(settings, "medical_institutions").passed

    # one 时效性 ticket, to 中宁县's 信访 department; no other county was ever ticketed
    platform = get_engine(settings.platform_url)
    freshness_tickets = [t for t in list_tickets(platform) if t.rule_id.startswith("freshness.")]
    assert len(freshness_tickets) == 1
    [ticket] = freshness_tickets
    assert ticket.county_code == LATE_COUNTY
    assert ticket.department_id == "petition_bureau"
    assert ticket.dataset_id == "petition_records"
    assert ticket.rule_id == freshness_rule_id("petition_records")
    assert ticket.dimension is Dimension.TIMELINESS
    assert ticket.is_open
    assert late.metadata["open_tickets"].value == {LATE_COUNTY: ticket.id}
    assert ticket.id in summary["quality"]["opened"]  # the run summary lists it with the others

    # the UI lists the check on the exchange asset with its latest (failed, WARN) evaluation
    ui = _ui_checks(settings, tmp_path, "petition_records")["freshness"]
    assert ui["blocking"] is False
    assert {FRESHNESS_JOB_NAME, "ingest_petition_records"} <= set(ui["jobNames"])
    execution = ui["executionForLatestMaterialization"]
    assert execution["status"] == "FAILED"
    assert execution["evaluation"]["severity"] == "WARN"
    assert LATE_COUNTY in execution["evaluation"]["description"]

    # the on-time delivery arrives: the check passes and the ticket closes as verified
    shutil.copyfile(old, on_time)
    summary = run_pipeline(settings).summary()
    assert summary["catalog"]["late_counties"] == {}
    assert _latest_check(settings, "petition_records").passed
    assert get_ticket(platform, ticket.id).status is Status.CLOSED
    assert ticket.id in summary["quality"]["closed"]
    assert len([t for t in list_tickets(platform) if t.rule_id.startswith("freshness.")]) == 1


# --- a new dataset is a new file ----------------------------------------------------------------


@pytest.mark.slow
def test_a_new_catalog_entry_file_is_a_new_dataset_without_code(tmp_path, db_url, city):
    catalog_dir = _catalog_dir(tmp_path, "petition_records")
    _add_pharmacies(catalog_dir)
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir, db_url, catalog_dir=catalog_dir)

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert {
        dg.AssetKey(["landing", "pharmacies"]),
        dg.AssetKey(["aggregation", "pharmacies"]),
        dg.AssetKey(["exchange", "pharmacies"]),
    } <= keys
    assert freshness_check_key("pharmacies") in graph.asset_check_keys
    assert defs.resolve_job_def("ingest_pharmacies") is not None

    entry = load_catalog(catalog_dir)["pharmacies"]
    [period] = recent_periods(entry.frequency, china_today(), 1)
    for county in city.county_codes:
        write_delivery(data_dir, entry, county, period.key, medical_rows(4, prefix=f"药店{county}"))

    report = run_pipeline(settings)
    # no suite file for the new entry: its quality suite is generated from the entry's item rules
    assert _failures(report) == []
    with get_engine(settings.exchange_url).connect() as connection:
        rows = connection.execute(
            sa.text(
                f"SELECT county_code, count(*) FROM {exchange_table_name('pharmacies')} "
                "GROUP BY county_code ORDER BY county_code"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(county, 4) for county in city.county_codes]

    # its freshness check ran and passed; the petition entry, never delivered, is late everywhere
    assert _latest_check(settings, "pharmacies").passed
    summary = report.summary()["catalog"]
    assert summary["late_counties"] == {"petition_records": list(city.county_codes)}
    # and it is in the published catalog
    published = json.loads((public_dir(data_dir) / JSON_NAME).read_text("utf-8"))
    assert {e["dataset_id"]: e["数据目录名称"] for e in published["条目"]} == {
        "pharmacies": "零售药店名录"
    }
    assert os.path.exists(public_dir(data_dir) / "v0001" / "catalog.jsonld")
