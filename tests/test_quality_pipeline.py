"""Issue 4 end to end: generated deliveries with injected defects → real Dagster runs (the ingest jobs
run the quality-suite checks) → tickets for the right county and department, counted like the
manifest; re-runs, corrected deliveries, relapses, rejected files, notices on a loopback receiver, the
tickets CLI, and a scan for raw personal data in everything the runs left behind."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import dagster as dg
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from dagster._serdes import serialize_value

from assets.aggregation.keys import ingest_job_name
from assets.aggregation.partitions import partition_key
from assets.common.quality import Dimension
from assets.landing.generator import DEFECT_KINDS, Manifest, ManifestFile, generate
from assets.landing.reader import read_landing_file
from assets.quality.checks import BUILD_DOCS, CHECK_NAME, DATA_DOCS_TAG
from assets.quality.suites import load_suite
from assets.storage.engine import get_engine
from assets.storage.tables import quality_ticket_deliveries, quality_tickets
from assets.tickets import store as store
from assets.tickets.rules import Action, Status, Ticket
from orchestration.cli import main as cli
from orchestration.definitions import build_definitions
from orchestration.runner import QUIET_RUN_CONFIG, dagster_instance, run_pipeline
from orchestration.settings import Settings
from orchestration.stages.quality import FOLLOWUP_JOB
from tests.helpers import add_account
from tests.test_notify import Receiver
from tests.test_quality_checks import city_config_with_channel

AS_OF = date(2026, 11, 20)
SEED = 11
ROWS = 1500
DEFECT_RATE = 0.25
LIFECYCLE_DATASET = "household_registration"

pytestmark = pytest.mark.slow

# Each injected defect kind → the suite rule kinds that catch it (on the defect's column).
KIND_RULES: dict[str, set[str]] = {
    "missing_required": {"required"},
    "bad_check_digit": {"format"},
    "id_birth_mismatch": {"id_birth_date"},
    "id_gender_mismatch": {"id_gender"},
    "wrong_region_code": {"region_is_county"},
    "duplicate_key": {"unique", "business_key"},
    "out_of_range": {"range"},
    "unknown_enum": {"enum"},
    "future_date": {"not_future"},
    "date_order": {"date_order"},
    "bad_format": {"format"},
    "township_outside_county": {"township_in_county"},
    "employer_uscc_mismatch": {"empty_iff"},
    "nonstandard_date": {"format"},
    "fullwidth_chars": {"format"},
    "decorated_phone": {"format"},
    "lowercase_x": {"format"},
}
DUPLICATE_RULES = {"unique", "business_key"}  # the suites flag every copy, the source included


def suite_rules(catalog) -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """dataset → rule id → (rule kind, columns), from the suite files."""
    return {
        dataset_id: {
            e.meta["rule_id"]: (e.meta["kind"], tuple(e.meta["columns"]))
            for e in load_suite(dataset_id).expectations
        }
        for dataset_id in catalog
    }


def suite_tickets(engine, catalog) -> list[Ticket]:
    """Tickets the quality suites opened (other stages open tickets of their own too)."""
    rules = suite_rules(catalog)
    return [t for t in store.list_tickets(engine) if t.rule_id in rules.get(t.dataset_id, {})]


def file_tickets(engine) -> list[Ticket]:
    return [t for t in store.list_tickets(engine) if t.rule_id.startswith("ingest.file_rejected.")]


# --- running ------------------------------------------------------------------------------------


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def deployment(tmp_path, db_url, receiver, monkeypatch) -> Settings:
    """The data directory's settings, through the environment so that the CLI sees them too."""
    url = f"json://127.0.0.1:{receiver.port}/"
    monkeypatch.setenv("PUBLICDATA_DATABASE_URL", db_url)
    monkeypatch.setenv("PUBLICDATA_CITY_CONFIG", str(city_config_with_channel(tmp_path, url)))
    monkeypatch.setenv("PUBLICDATA_QUALITY_AS_OF", AS_OF.isoformat())
    monkeypatch.setenv("PUBLICDATA_PSEUDONYM_KEY", "quality-pipeline-test-key-0123456789")
    return Settings.load(tmp_path / "data")


class Partitions:
    """Runs one partition's ingest job, as the landing sensor would after a new delivery."""

    def __init__(self, settings: Settings) -> None:
        self.defs = build_definitions(settings)
        self.instance = dagster_instance(settings)

    def run(self, record: ManifestFile) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def(ingest_job_name(record.dataset_id))
        return job.execute_in_process(
            instance=self.instance,
            partition_key=partition_key(record.county_code, record.period),
            raise_on_error=False,
            run_config=QUIET_RUN_CONFIG,
        )


def failures_of_this_stage(report) -> list[dict]:
    """Failed ingest partitions and a failed ticket follow-up (later stages answer for their own)."""
    return [f for f in report.failed_partitions if "path" in f or f.get("job") == FOLLOWUP_JOB]


def check_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    return {key: value.value for key, value in evaluation.metadata.items()}


def cli_json(*args: str) -> list | dict:
    outcome = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.output)


def cli_ok(*args: str) -> None:
    outcome = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output


# --- recall against the manifest ----------------------------------------------------------------


def expected_failures(manifest: Manifest, catalog) -> dict[tuple[str, str, str], Counter]:
    """(dataset, county, rule id) → injected defects by kind that the rule must catch."""
    rules = suite_rules(catalog)
    files = {f.path: f for f in manifest.files}
    expected: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for defect in manifest.defects:
        record = files[defect.file]
        catching = [
            rule_id
            for rule_id, (kind, columns) in rules[record.dataset_id].items()
            if kind in KIND_RULES[defect.kind] and defect.column in columns
        ]
        assert len(catching) == 1, (defect, catching)
        expected[(record.dataset_id, record.county_code, catching[0])][defect.kind] += 1
    return expected


def recall_by_kind(
    tickets: list[Ticket], expected: dict[tuple[str, str, str], Counter], catalog
) -> dict[str, float]:
    rules = suite_rules(catalog)
    found = {(t.dataset_id, t.county_code, t.rule_id): t for t in tickets}
    caught: Counter = Counter()
    injected: Counter = Counter()
    for key, kinds in expected.items():
        rows = sum(kinds.values())
        ticket = found.get(key)
        failed = ticket.failed_count if ticket else 0
        if rules[key[0]][key[2]][0] in DUPLICATE_RULES:
            failed //= 2  # each injected copy fails with the row it copies
        share = min(1.0, failed / rows)
        for kind, n in kinds.items():
            caught[kind] += share * n
            injected[kind] += n
    return {kind: caught[kind] / injected[kind] for kind in injected}


# --- leak scan ----------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-()+（）]")
_RUNS = re.compile(r"[0-9X]{11,}")
RAW_PII = {"cn_id_number", "cn_mobile_phone", "bank_card"}


def _normalized(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def raw_personal_values(landing_dirs: list[Path], manifest: Manifest, catalog) -> set[str]:
    """ID numbers, mobile phones and bank cards as delivered (separators and full width undone)."""
    values: set[str] = set()
    for landing in landing_dirs:
        for record in manifest.files:
            path = landing / record.path
            columns = [
                c for c, kind in manifest.pii_columns[record.dataset_id].items() if kind in RAW_PII
            ]
            if not columns or not path.exists() or path.stat().st_size == 0:
                continue
            frame = read_landing_file(path, catalog[record.dataset_id]).frame
            for column in columns:
                for value in frame[column].dropna():
                    text = _normalized(str(value))
                    if _RUNS.fullmatch(text):
                        values.add(text)
    return values


def leaks(raw: set[str], text: str) -> set[str]:
    lengths = sorted({len(v) for v in raw})
    found = set()
    for run in _RUNS.findall(_normalized(text)):
        for n in lengths:
            found.update(run[i : i + n] for i in range(len(run) - n + 1) if run[i : i + n] in raw)
    return found


def everything_written(settings: Settings, received: list) -> dict[str, str]:
    """The Dagster event log, GE results and Data Docs, the ticket tables, reports and notices."""
    texts: dict[str, str] = {}
    instance = dagster_instance(settings)
    for record in instance.get_run_records():
        run_id = record.dagster_run.run_id
        texts[f"run {run_id}"] = "\n".join(serialize_value(e) for e in instance.all_logs(run_id))
    quality = settings.data_dir / "quality"
    for path in [*quality.rglob("*.json"), *quality.rglob("*.html")]:
        texts[str(path)] = path.read_text(encoding="utf-8")
    for path in settings.reports_dir.rglob("*.html"):
        texts[str(path)] = path.read_text(encoding="utf-8")
    for path in settings.reports_dir.rglob("*.xlsx"):
        book = openpyxl.load_workbook(path, read_only=True)
        texts[str(path)] = "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    engine = get_engine(settings.platform_url)
    with engine.connect() as connection:
        for table in (quality_tickets, quality_ticket_deliveries):
            rows = connection.execute(sa.select(table)).all()
            texts[table.name] = "\n".join(str(tuple(row)) for row in rows)
    texts["notices"] = json.dumps([body for _, body in received], ensure_ascii=False)
    return texts


# --- the tests ----------------------------------------------------------------------------------


def test_defects_become_tickets_that_follow_the_deliveries(
    tmp_path, db_url, receiver, monkeypatch, city, catalog
):
    settings = deployment(tmp_path, db_url, receiver, monkeypatch)
    manifest = generate(
        settings.data_dir,
        rows=ROWS,
        seed=SEED,
        city=city,
        catalog=catalog,
        as_of=AS_OF,
        defect_rate=DEFECT_RATE,
    )
    assert set(manifest.defect_counts()) == set(DEFECT_KINDS)  # every kind is in play
    raw = raw_personal_values([settings.data_dir], manifest, catalog)  # as delivered

    report = run_pipeline(settings)
    summary = report.summary()
    assert not failures_of_this_stage(report), report.failed_partitions
    engine = get_engine(settings.platform_url)
    tickets = suite_tickets(engine, catalog)

    # -- every kind is caught, for the right county and department, counted like the manifest
    expected = expected_failures(manifest, catalog)
    recall = recall_by_kind(tickets, expected, catalog)
    assert set(recall) == set(DEFECT_KINDS)
    assert all(r >= 0.95 for r in recall.values()), recall
    rules = suite_rules(catalog)
    periods = {(f.dataset_id, f.county_code): f.period for f in manifest.files}
    for ticket in tickets:
        key = (ticket.dataset_id, ticket.county_code, ticket.rule_id)
        assert key in expected, f"{ticket.rule_id} failed in {ticket.county_code} with no defect"
        bound = sum(expected[key].values())
        if rules[ticket.dataset_id][ticket.rule_id][0] in DUPLICATE_RULES:
            bound *= 2
        assert ticket.failed_count <= bound, (key, ticket.failed_count, expected[key])
        assert ticket.department_id == catalog[ticket.dataset_id].provider
        assert ticket.period == periods[(ticket.dataset_id, ticket.county_code)]
        assert ticket.status is Status.NEW and ticket.due_date > AS_OF

    # -- every ingest run of a delivery with failed rules carries the run tag, and only those
    instance = dagster_instance(settings)
    tagged = {
        tuple(r.dagster_run.tags["publicdata/source_file"].split("/")[2:0:-1])
        for r in instance.get_run_records()
        if r.dagster_run.tags.get("publicdata/quality_rules_failed") == "true"
    }
    assert tagged == {(t.dataset_id, t.county_code) for t in tickets}
    assert len({(t.county_code, t.dataset_id, t.rule_id) for t in tickets}) == len(tickets)
    assert set(summary["quality"]["opened"]) >= {t.id for t in tickets}
    assert summary["quality"]["open"] >= len(tickets)

    # -- the tickets CLI lists them per county and department
    sample = tickets[0]
    listed = cli_json(
        "tickets",
        "list",
        "--data-dir",
        str(settings.data_dir),
        "--county",
        sample.county_code,
        "--department",
        sample.department_id,
    )
    mine = {
        t.id
        for t in tickets
        if (t.county_code, t.department_id) == (sample.county_code, sample.department_id)
    }
    assert mine <= {row["id"] for row in listed}
    row = next(r for r in listed if r["id"] == sample.id)
    assert row["columns"] == list(sample.columns) and row["dimension"] == sample.dimension.value
    assert row["failed_count"] == sample.failed_count and row["status"] == "new"

    # -- each department with tickets was told, on its channel, once per ticket
    told = {t.department_id for t in tickets}
    assert told <= set(summary["quality"]["departments_notified"])
    messages = [body for _, body in receiver.received]
    assert len(messages) >= len(told)
    assert all("数据质量工单" in m["title"] for m in messages)
    assert any(sample.id in m["message"] for m in messages)

    # -- re-running everything opens nothing new and tells nobody twice
    again = run_pipeline(settings).summary()["quality"]
    assert again["opened"] == again["reopened"] == again["updated"] == []
    after = suite_tickets(engine, catalog)
    assert {t.id for t in after} == {t.id for t in tickets}
    assert all(t.status is Status.NEW for t in after)
    for ticket in after:
        assert sum(h.action is Action.NOTIFY for h in ticket.history) <= 1

    # -- a corrected delivery closes its tickets as verified, claimed fixed or not
    partitions = Partitions(settings)
    record = next(
        f
        for f in manifest.files
        if f.dataset_id == LIFECYCLE_DATASET
        and len({(d.kind) for d in manifest.defects_in(f.path)}) >= 5
    )
    own = [
        t for t in after if (t.dataset_id, t.county_code) == (record.dataset_id, record.county_code)
    ]
    assert len(own) >= 3
    claimed, acknowledged = own[0], own[1]
    # the county office of the supplying department acts on its own tickets, as a named account
    add_account(
        settings.platform_url,
        "clerk",
        "department_office",
        county_code=record.county_code,
        department_id=acknowledged.department_id,
    )
    cli_ok("tickets", "ack", acknowledged.id, "--data-dir", str(settings.data_dir), "--as", "clerk")
    cli_ok(
        "tickets",
        "claim-fixed",
        claimed.id,
        "--comment",
        "已按身份证原件更正",
        "--data-dir",
        str(settings.data_dir),
        "--as",
        "clerk",
    )
    clean_dir = tmp_path / "clean"
    generate(
        clean_dir, rows=ROWS, seed=SEED, city=city, catalog=catalog, as_of=AS_OF, defect_rate=0
    )
    delivered = settings.data_dir / record.path
    defective = delivered.read_bytes()
    shutil.copyfile(clean_dir / record.path, delivered)
    fixed = partitions.run(record)
    assert fixed.success
    metadata = check_metadata(fixed)
    assert set(metadata["tickets_closed"]) == {t.id for t in own}
    assert metadata["failed_expectations"] == [] and metadata["tickets_opened"] == []
    for ticket in own:
        closed = store.get_ticket(engine, ticket.id)
        assert closed.status is Status.CLOSED and closed.closed_at is not None
        actions = [h.action for h in closed.history]
        assert actions[-1] is Action.VERIFY
        assert actions[-2] is (Action.CLAIM_FIX if ticket.id == claimed.id else Action.PASS)
    assert Path(metadata["data_docs_index"]).exists()

    # -- a relapse reopens the same tickets
    delivered.write_bytes(defective)
    relapse = check_metadata(partitions.run(record))
    assert set(relapse["tickets_reopened"]) == {t.id for t in own}
    assert relapse["tickets_opened"] == []
    reopened = [store.get_ticket(engine, t.id) for t in own]
    assert all(t.status is Status.REOPENED and t.notice_pending == "reopened" for t in reopened)
    assert {t.id for t in suite_tickets(engine, catalog)} == {t.id for t in tickets}

    # -- a file rejected whole becomes a ticket to its department (可访问性), closed by a load
    delivered.write_bytes(b"")
    rejected = partitions.run(record)
    assert not rejected.success
    (file_ticket,) = file_tickets(engine)
    assert file_ticket.dimension is Dimension.ACCESSIBILITY
    assert (file_ticket.county_code, file_ticket.department_id, file_ticket.period) == (
        record.county_code,
        catalog[record.dataset_id].provider,
        record.period,
    )
    delivered.write_bytes(defective)
    assert partitions.run(record).success
    assert store.get_ticket(engine, file_ticket.id).status is Status.CLOSED

    # -- … and one without a required column is a 规范性 ticket
    header_case = next(
        f for f in manifest.files if f.format == "csv" and f.dataset_id != record.dataset_id
    )
    required = next(i for i in catalog[header_case.dataset_id].items if i.required)
    path = settings.data_dir / header_case.path
    frame = pd.read_csv(path, dtype=str, encoding=header_case.encoding, keep_default_na=False)
    frame.drop(columns=[required.name]).to_csv(path, index=False, encoding="utf-8")
    assert not partitions.run(header_case).success
    conformity = [t for t in file_tickets(engine) if t.dataset_id == header_case.dataset_id]
    assert [t.dimension for t in conformity] == [Dimension.CONFORMITY]
    assert conformity[0].department_id == catalog[header_case.dataset_id].provider

    # -- and no raw ID number, phone or bank card anywhere the runs wrote
    raw |= raw_personal_values([clean_dir], manifest, catalog)
    assert len(raw) > 500
    # the shortest value holds no other raw value (a phone can sit inside its own +86 form)
    planted = min(raw, key=lambda v: (len(v), v))
    assert leaks(raw, f"示例：{planted[:4]} {planted[4:]}。") == {planted}  # the scan can fail
    written = everything_written(settings, receiver.received)
    assert any(k.startswith("run ") for k in written) and "quality_tickets" in written
    found = {source: leaks(raw, text) for source, text in written.items()}
    assert {source: values for source, values in found.items() if values} == {}


def test_clean_deliveries_open_no_ticket(tmp_path, receiver, monkeypatch, city, catalog):
    settings = deployment(tmp_path, f"sqlite:///{tmp_path / 'zone.sqlite'}", receiver, monkeypatch)
    generate(
        settings.data_dir,
        rows=700,
        seed=SEED,
        city=city,
        catalog=catalog,
        as_of=AS_OF,
        defect_rate=0,
    )
    report = run_pipeline(settings)
    assert not failures_of_this_stage(report), report.failed_partitions
    engine = get_engine(settings.platform_url)
    assert suite_tickets(engine, catalog) == [] and file_tickets(engine) == []

    instance = dagster_instance(settings)
    evaluations = [
        e
        for run_id in report.batch_ids
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.dagster_event.event_specific_data.check_name == CHECK_NAME
    ]
    assert len(evaluations) == len(report.batch_ids)
    assert all(e.dagster_event.event_specific_data.passed for e in evaluations)

    # each dataset's last ingest run built its Data Docs, so the follow-up rebuilt none of them
    runs = [instance.get_run_by_id(run_id) for run_id in report.batch_ids]
    created = {r.run_id: instance.get_run_record_by_id(r.run_id).create_timestamp for r in runs}
    last = {r.tags["dataset"]: r.run_id for r in sorted(runs, key=lambda r: created[r.run_id])}
    building = {
        r.tags["dataset"]: r.run_id for r in runs if r.tags.get(DATA_DOCS_TAG) == BUILD_DOCS
    }
    assert building == last and sorted(last) == sorted(catalog)
    docs = settings.data_dir / "quality" / "data_docs"
    assert all((docs / dataset_id / "index.html").is_file() for dataset_id in catalog)
    [follow_up] = [
        r
        for r in map(instance.get_run_by_id, report.post_ingest_runs)
        if r.job_name == FOLLOWUP_JOB
    ]
    [output] = instance.all_logs(follow_up.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
    assert output.dagster_event.event_specific_data.metadata["data_docs_rebuilt"].value == []
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert all(f"{dataset_id}/index.html" in index for dataset_id in catalog)
