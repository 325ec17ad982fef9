"""The quality stage's parts: validation → findings → tickets, stored results and Data Docs, the
asset checks in the graph and the ingest jobs, file-rejection tickets, and the follow-up schedule and
job (escalation, notices to a receiver on loopback, department reports)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from assets.aggregation.ingest import IngestOutcome
from assets.aggregation.tickets import delivery_tickets
from assets.common.catalog import SHIPPED_CATALOG_DIR
from assets.common.check_chars import id_check_char
from assets.common.city import DEFAULT_CITY_CONFIG
from assets.common.quality import Dimension
from assets.common.workdays import DuePolicy
from assets.exchange.assets import exchange_key
from assets.exchange.load import load_exchange_slice
from assets.landing.paths import LandingPath
from assets.quality.checks import CHECK_NAME
from assets.quality.data_docs import validation_page
from assets.quality.findings import (
    check_partition,
    findings_from_outcome,
    validator_for,
)
from assets.quality.results import (
    docs_root,
    docs_site,
    latest_outcomes,
    rebuild_stale_docs,
    results_dir,
    stale_docs,
)
from assets.quality.suites import load_suite
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import intake
from assets.tickets import store as store
from assets.tickets.rules import Action, Finding, Status
from bench.quality import plain_failures
from orchestration.definitions import build_definitions
from orchestration.stages.quality import FOLLOWUP_JOB, quality_ticket_schedule
from tests.helpers import settings_for, staged_deliveries
from tests.quality_frames import CATALOG, CITY, clean_frame
from tests.test_notify import Receiver

DATASET = "household_registration"
COUNTY, OTHER = "640521", "640522"
PERIOD = "2025-05"
AS_OF = date(2025, 6, 30)
ENTRY = CATALOG[DATASET]


def exchange_slice(county: str = COUNTY, *, bad_rows: int = 0) -> pd.DataFrame:
    """A clean slice of the exchange table; the first ``bad_rows`` rows get a wrong check char."""
    frame = clean_frame(DATASET, county=county, rows=8)
    frame["ingested_at"] = pd.Timestamp(datetime(2025, 6, 1, tzinfo=UTC))
    frame["file_checksum"] = str(bad_rows).ljust(64, "0")  # another delivery, another file
    for row in range(bad_rows):
        first17 = frame.at[row, "id_number"][:17]
        good = id_check_char(first17)
        frame.at[row, "id_number"] = first17 + ("0" if good != "0" else "1")
    return frame


def city_config_with_channel(tmp_path: Path, url: str) -> Path:
    """A copy of config/city.yaml in which every department has ``url`` as its channel."""
    raw = yaml.safe_load(DEFAULT_CITY_CONFIG.read_text(encoding="utf-8"))
    for department in raw["departments"]:
        department["channels"] = [url]
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# --- the graph ----------------------------------------------------------------------------------


def test_every_exchange_table_has_a_partitioned_check_that_its_ingest_job_runs(tmp_path, catalog):
    defs = build_definitions(settings_for(tmp_path))
    graph = defs.resolve_asset_graph()
    for dataset_id in catalog:
        key = dg.AssetCheckKey(exchange_key(dataset_id), CHECK_NAME)
        assert key in graph.asset_check_keys
        spec = graph.get_check_spec(key)
        assert not spec.blocking  # a department's defects never stop the county's data
        assert spec.description
        job = defs.resolve_job_def(f"ingest_{dataset_id}")
        assert key in job.asset_layer.asset_graph.asset_check_keys
        check_def = graph._assets_defs_by_check_key[key]  # noqa: SLF001
        assert check_def.partitions_def == graph.get(exchange_key(dataset_id)).partitions_def
    assert defs.resolve_job_def(FOLLOWUP_JOB) is not None
    assert defs.resolve_schedule_def("quality_ticket_schedule").job_name == FOLLOWUP_JOB


# --- validation → findings ----------------------------------------------------------------------


def test_findings_split_failures_passes_and_errors():
    frame = exchange_slice(bad_rows=2)
    raw = frame.at[0, "id_number"]
    outcome = validator_for(SHIPPED_CATALOG_DIR).validate(
        frame, DATASET, county_code=COUNTY, as_of=AS_OF
    )
    found = findings_from_outcome(outcome)
    assert [f.rule_id for f in found.findings] == [f"{DATASET}.format.id_number"]
    finding = found.findings[0]
    assert isinstance(finding, Finding)
    assert (finding.failed_count, finding.total) == (2, 8)
    assert finding.dimension is Dimension.CONFORMITY and finding.severity == "高"
    assert finding.columns == ("id_number",) and finding.fix
    assert [e["source_row"] for e in finding.examples] == [2, 3]
    assert raw not in str(finding.examples) and "*" in finding.examples[0]["value"]
    assert len(found.passed_rule_ids) == len(outcome.expectations) - 1
    assert not found.errors

    # a rule that could not run is the platform's problem: neither a finding nor a pass
    broken = dataclasses.replace(outcome.expectations[1], success=False, error="规则执行出错")
    errored = dataclasses.replace(
        outcome, expectations=(outcome.expectations[0], broken, *outcome.expectations[2:])
    )
    split = findings_from_outcome(errored)
    assert split.errors == (broken,)
    assert broken.rule_id not in split.passed_rule_ids
    assert broken.rule_id not in [f.rule_id for f in split.findings]


# --- check_partition: tickets, stored results, Data Docs ----------------------------------------


def _check(tmp_path, engine, county, at, *, build_docs=True):
    return check_partition(
        validator_for(SHIPPED_CATALOG_DIR),
        ENTRY,
        exchange_engine=engine,
        platform_engine=engine,
        county_code=county,
        period=PERIOD,
        townships=list(CITY.county(county).townships),
        as_of=AS_OF,
        checked_at=at,
        data_dir=tmp_path,
        build_docs=build_docs,
    )


def test_docs_left_by_the_checks_are_built_once_per_dataset_afterwards(tmp_path, db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    for county in (COUNTY, OTHER):
        frame = exchange_slice(county, bad_rows=2)
        load_exchange_slice(engine, ENTRY, frame, county_code=county, period=PERIOD)
    checks = [
        _check(tmp_path, engine, county, datetime(2025, 6, 2, 1, tzinfo=UTC), build_docs=False)
        for county in (COUNTY, OTHER)
    ]
    site = docs_site(tmp_path, DATASET)
    assert not site.exists()  # left to the follow-up
    assert stale_docs(results_dir(tmp_path), docs_root(tmp_path)) == [DATASET]
    validator = validator_for(SHIPPED_CATALOG_DIR)
    built, failed = rebuild_stale_docs(results_dir(tmp_path), docs_root(tmp_path), validator.suite)
    assert (built, failed) == ([DATASET], {})
    for check in checks:  # the pages the checks pointed to are there now
        assert check.docs_index == site / "index.html" and check.docs_index.exists()
        assert check.docs_page is not None and check.docs_page.exists()
    # nothing newer than the site: nothing to rebuild
    assert rebuild_stale_docs(results_dir(tmp_path), docs_root(tmp_path)) == ([], {})


def test_check_partition_follows_the_delivery(tmp_path, db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)

    def deliver(county: str, bad_rows: int) -> None:
        frame = exchange_slice(county, bad_rows=bad_rows)
        load_exchange_slice(engine, ENTRY, frame, county_code=county, period=PERIOD)

    deliver(COUNTY, bad_rows=3)
    deliver(OTHER, bad_rows=0)
    first = _check(tmp_path, engine, COUNTY, datetime(2025, 6, 2, 1, tzinfo=UTC))
    clean = _check(tmp_path, engine, OTHER, datetime(2025, 6, 2, 2, tzinfo=UTC))
    assert not first.passed and clean.passed
    assert len(first.tickets.opened) == 1 and not clean.tickets.opened
    ticket = store.get_ticket(engine, first.tickets.opened[0])
    assert (ticket.county_code, ticket.department_id, ticket.dataset_id) == (
        COUNTY,
        ENTRY.provider,
        DATASET,
    )
    assert ticket.failed_count == 3 and ticket.period == PERIOD
    assert [e["source_row"] for e in ticket.examples] == [2, 3, 4]

    # both partitions' latest validations are kept, and the dataset's site shows both
    site = docs_site(tmp_path, DATASET)
    stored = latest_outcomes(results_dir(tmp_path), DATASET)
    assert {o.county_code for o in stored} == {COUNTY, OTHER}
    assert first.docs_index == site / "index.html" and first.docs_index.exists()
    assert validation_page(first.outcome, site).exists()
    assert validation_page(clean.outcome, site).exists()
    assert stored[0].failures[0].failed_count == 3  # the summary round-trips

    # the same delivery checked again: nothing to learn, the tickets are left as they are (a claimed
    # fix is judged only against a later delivery)
    store.claim_fixed(
        engine,
        ticket.id,
        by="中宁县公安局",
        comment="已更正",
        at=datetime(2025, 6, 2, 9, tzinfo=UTC),
    )
    again = _check(tmp_path, engine, COUNTY, datetime(2025, 6, 3, 1, tzinfo=UTC))
    assert not again.passed
    assert again.tickets == intake.SyncResult()
    assert store.get_ticket(engine, ticket.id).status is Status.FIX_CLAIMED

    # a corrected delivery closes it as verified
    deliver(COUNTY, bad_rows=0)
    fixed = _check(tmp_path, engine, COUNTY, datetime(2025, 6, 4, 1, tzinfo=UTC))
    assert fixed.passed and fixed.tickets.closed == (ticket.id,)
    closed = store.get_ticket(engine, ticket.id)
    assert closed.status is Status.CLOSED
    # the department's claim, then the later delivery that proved it
    assert [h.action for h in closed.history][-2:] == [Action.CLAIM_FIX, Action.VERIFY]


def test_empty_exchange_table_is_an_empty_partition(tmp_path):
    url = f"sqlite:///{tmp_path / 'zone.sqlite'}"
    ensure_platform_schema(url)
    check = _check(tmp_path, get_engine(url), COUNTY, datetime(2025, 6, 2, tzinfo=UTC))
    assert check.outcome.row_count == 0 and check.passed
    assert not check.tickets.opened


# --- file rejections ----------------------------------------------------------------------------


def _ingest(tmp_path, *, loaded: bool, at: datetime, reason_code: str = "empty_file"):
    relative = f"landing/{COUNTY}/{DATASET}/{PERIOD}.csv"
    landing = LandingPath(COUNTY, DATASET, PERIOD, tmp_path / relative, relative)
    return IngestOutcome(
        landing=landing,
        dataset_id=DATASET,
        department_id=ENTRY.provider,
        batch_id="run-1",
        ingested_at=at,
        status="loaded" if loaded else "rejected",
        checksum="0" * 64,
        reason_code=None if loaded else reason_code,
        reason=None if loaded else "文件为空：0 字节",
    )


@pytest.mark.parametrize(
    ("reason_code", "dimension"),
    [("empty_file", Dimension.ACCESSIBILITY), ("missing_column", Dimension.CONFORMITY)],
)
def test_rejected_file_ticket_opens_once_and_closes_on_a_load(tmp_path, reason_code, dimension):
    url = f"sqlite:///{tmp_path / 'zone.sqlite'}"
    ensure_platform_schema(url)
    engine = get_engine(url)
    at = datetime(2025, 6, 2, 1, tzinfo=UTC)
    opened = delivery_tickets(
        engine, _ingest(tmp_path, loaded=False, at=at, reason_code=reason_code)
    )
    assert len(opened["tickets_opened"]) == 1
    ticket = store.get_ticket(engine, opened["tickets_opened"][0])
    assert ticket.dimension is dimension and ticket.origin == "ingest"
    assert ticket.department_id == ENTRY.provider and ticket.county_code == COUNTY
    assert ticket.examples[0]["value"] == f"landing/{COUNTY}/{DATASET}/{PERIOD}.csv"

    same = delivery_tickets(
        engine, _ingest(tmp_path, loaded=False, at=at.replace(hour=2), reason_code=reason_code)
    )
    assert not any(same.values())  # the same rejection again changes nothing
    loaded = delivery_tickets(engine, _ingest(tmp_path, loaded=True, at=at.replace(hour=3)))
    assert loaded["tickets_closed"] == [ticket.id]
    assert store.get_ticket(engine, ticket.id).status is Status.CLOSED
    again = delivery_tickets(
        engine, _ingest(tmp_path, loaded=False, at=at.replace(hour=4), reason_code=reason_code)
    )
    assert again["tickets_reopened"] == [ticket.id]


# --- the follow-up: schedule and job ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "runs"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # still the Golden Week holiday, a Wednesday
        (date(2026, 10, 9), True),  # Friday
        (date(2026, 10, 10), True),  # a Saturday worked to make up for the holiday (调休)
        (date(2026, 10, 11), False),  # Sunday
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 14), True),  # a Saturday worked for Spring Festival
    ],
)
def test_schedule_follows_the_official_calendar(day, runs):
    moment = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 09:00 in China
    context = dg.build_schedule_context(scheduled_execution_time=moment)
    result = quality_ticket_schedule(context)
    if runs:
        assert isinstance(result, dg.RunRequest) and result.run_key == day.isoformat()
    else:
        assert isinstance(result, dg.SkipReason)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_followup_job_escalates_notifies_and_reports(tmp_path, db_url, receiver):
    city_config = city_config_with_channel(tmp_path, f"json://127.0.0.1:{receiver.port}/")
    settings = settings_for(tmp_path, db_url, city_config=city_config)
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    long_ago = datetime(2025, 3, 3, 2, tzinfo=UTC)
    synced = intake.sync_findings(
        engine,
        dataset_id=DATASET,
        county_code=COUNTY,
        department_id=ENTRY.provider,
        period=PERIOD,
        findings=[
            Finding(
                rule_id=f"{DATASET}.format.id_number",
                expectation="「公民身份号码」格式",
                columns=("id_number",),
                dimension=Dimension.CONFORMITY,
                severity="高",
                failed_count=3,
                total=8,
                examples=({"source_row": 2, "value": "6405**********1234"},),
            )
        ],
        passed_rule_ids=(),
        checked_at=long_ago,
        due_policy=DuePolicy(),
    )
    ticket_id = synced.opened[0]

    defs = build_definitions(settings)
    result = defs.resolve_job_def(FOLLOWUP_JOB).execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    ticket = store.get_ticket(engine, ticket_id)
    assert ticket.escalated_at is not None
    assert ticket.notice_pending is None  # delivered
    assert [h.action for h in ticket.history][-2:] == [Action.ESCALATE, Action.NOTIFY]
    assert len(receiver.received) == 1
    body = receiver.received[0][1]
    assert ticket_id in body["message"] and "中宁县数据局" in body["message"]

    output = next(
        e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"
    ).event_specific_data.metadata
    assert output["tickets_escalated"].value == [ticket_id]
    assert output["departments_notified"].value == [ENTRY.provider]
    # a report for every county office of every department; the ticket in its own office's only
    pages = [Path(p) for p in output["reports"].value]
    assert all(p.exists() for p in pages)
    holding = [p for p in pages if ticket_id in p.read_text(encoding="utf-8")]
    assert [p.parent.parent.name for p in holding] == ["中宁县"]

    # the next day's run has nothing new to say
    defs.resolve_job_def(FOLLOWUP_JOB).execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert len(receiver.received) == 1


# --- the benchmark's plain evaluation is the same rules -----------------------------------------


def test_plain_pandas_rules_count_what_the_suites_count(tmp_path, city, catalog):
    as_of = date(2026, 11, 20)
    deliveries = staged_deliveries(
        tmp_path, rows=400, seed=5, defect_rate=0.3, catalog=catalog, city=city, as_of=as_of
    )
    validator = validator_for(SHIPPED_CATALOG_DIR)
    failing = 0
    for landing, frame in deliveries:
        entry = catalog[landing.dataset_id]
        townships = list(city.county(landing.county_code).townships)
        checked = validator.validate(
            frame, entry.dataset_id, county_code=landing.county_code, as_of=as_of
        )
        plain = plain_failures(
            frame,
            load_suite(entry.dataset_id),
            county_code=landing.county_code,
            townships=townships,
            as_of=as_of,
        )
        assert plain == {e.rule_id: e.failed_count for e in checked.expectations}
        failing += len(checked.failures)
    assert failing > 50  # the comparison covered failing rules, not only clean ones


def test_failing_rules_are_shown_on_the_check_result_directly(tmp_path):
    from assets.quality.checks import check_result

    url = f"sqlite:///{tmp_path / 'zone.sqlite'}"
    ensure_platform_schema(url)
    engine = get_engine(url)
    frame = exchange_slice(COUNTY, bad_rows=3)
    load_exchange_slice(engine, ENTRY, frame, county_code=COUNTY, period=PERIOD)
    result = check_result(
        _check(tmp_path, engine, COUNTY, datetime(2025, 6, 2, 1, tzinfo=UTC)), ENTRY
    )
    line = result.metadata["不符合规则 1"].value
    assert line.startswith("公民身份号码：") and f"3/{len(frame)}" in line
    assert line in result.description
    assert "不符合规则 2" not in result.metadata
