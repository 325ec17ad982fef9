"""Issue 3 end to end, on SQLite and PostgreSQL: generated deliveries → exchange → governance →
classification & grading → desensitization → the operation platform, through real Dagster runs.

Checks what the issue's "done when" says: every non-prohibited dataset is in the operation zone, no
cleartext identifier of any detected kind, k ≥ the threshold, counts that reconcile in ``--json``;
pseudonyms stable across runs and different under another key; supply suspension (with withdrawal) and
resumption, audited; the blocking reconciliation check."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.audit import log as audit
from assets.common.identifiers import id_number_valid, luhn_valid, mobile_valid, uscc_valid
from assets.desensitization.kanonymity import measure_k
from assets.desensitization.policy import load_policy
from assets.governance.assets import governance_reconciled_check
from assets.landing.generator import generate
from assets.operation.guards import emptied_columns, scan_for_leaks
from assets.operation.records import publications
from assets.operation.writer import read_published
from assets.storage.engine import get_engine
from assets.storage.tables import classification_register, governance_quarantine
from orchestration.cli import main
from orchestration.definitions import build_definitions
from orchestration.runner import dagster_instance, run_pipeline
from orchestration.stages.operation import OPERATION_JOB
from orchestration.summaries import operation_report
from tests.helpers import add_account, settings_for

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
KEY_A = "first-pseudonym-key-for-the-test-run"
KEY_B = "second-pseudonym-key-after-rotation!"


def _cleartext(frame: pd.DataFrame) -> dict[str, int]:
    """An independent look for personal identifiers: every cell and every digit run inside a cell,
    through the plain validators (a legal entity's credit code that happens to pass Luhn excepted)."""
    found = {}
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        text = frame[column].dropna().astype(str)
        runs = text.str.replace(r"[\s\-]", "", regex=True).str.extractall(
            r"(?<![0-9A-Za-z])(\d{10,18}[\dX])(?![0-9A-Za-z])"  # a run inside a code is not one
        )[0]
        candidates = pd.concat([text, runs], ignore_index=True)
        hits = int(
            (
                id_number_valid(candidates)
                | mobile_valid(candidates)
                | (luhn_valid(candidates) & ~uscc_valid(candidates))
            ).sum()
        )
        if hits:
            found[column] = hits
    return found


def _publish(settings) -> dict:
    """Run the post-ingest job alone (governance → classification → operation) in the data
    directory's instance, as ``publicdata run`` does after ingest; the ``operation`` summary."""
    result = (
        build_definitions(settings)
        .resolve_job_def(OPERATION_JOB)
        .execute_in_process(instance=dagster_instance(settings), raise_on_error=False)
    )
    assert result.success
    return operation_report(settings)["datasets"]


def _cli(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_operation_zone_end_to_end(tmp_path, db_url, catalog, city, monkeypatch):
    monkeypatch.setenv("PUBLICDATA_PSEUDONYM_KEY", KEY_A)
    monkeypatch.setenv("PUBLICDATA_DATABASE_URL", db_url)  # the CLI commands find the same zones
    generate(tmp_path, rows=700, seed=11, city=city, catalog=catalog, as_of=AS_OF)
    settings = settings_for(tmp_path, db_url)
    threshold = load_policy().k_threshold

    report = run_pipeline(settings)
    assert not report.failed_partitions, report.failed_partitions
    summary = report.summary()
    operation = summary["operation"]
    assert operation["zone"] == summary["zones"]["operation"]
    operation_engine = get_engine(settings.operation_url)
    platform_engine = get_engine(settings.platform_url)
    published_state = publications(platform_engine)

    open_datasets = [d for d, e in catalog.items() if not e.is_prohibited]
    assert "petition_records" not in open_datasets and len(open_datasets) == 6
    for dataset_id, entry in catalog.items():
        item = operation["datasets"][dataset_id]
        loaded = summary["totals"]["by_dataset"][dataset_id]["rows_loaded"]
        assert item["rows_in"] == loaded > 0
        assert item["rows_in"] == item["governed"] + item["quarantined"] + item["duplicates"]
        assert item["balanced"]
        frame = read_published(operation_engine, dataset_id)
        if entry.is_prohibited:
            assert frame is None and item["status"] == "prohibited" and item["published"] == 0
            continue
        assert item["status"] == "published"
        assert len(frame) == item["published"] == item["governed"] - item["suppressed"]
        assert scan_for_leaks(frame) == {}
        assert _cleartext(frame) == {}, dataset_id
        assert not {"source_row", "source_file", "file_checksum"} & set(frame.columns)
        quasi = list(published_state[dataset_id]["quasi_identifiers"])
        k = measure_k(frame, quasi)
        assert item["k"] == k and item["k_threshold"] == threshold
        assert (k is None and not quasi) or k >= threshold, dataset_id
    assert operation["datasets"]["household_registration"]["k"] is not None
    assert sum(operation["datasets"][d]["quarantined"] for d in catalog) > 0
    assert sum(operation["datasets"][d]["duplicates"] for d in catalog) > 0

    with platform_engine.connect() as connection:
        quarantine_records = connection.execute(
            sa.select(governance_quarantine.c.dataset_id, sa.func.count()).group_by(
                governance_quarantine.c.dataset_id
            )
        ).all()
        register = pd.read_sql(sa.select(classification_register), connection)
    assert {d: n for d, n in quarantine_records} == {
        d: v["quarantined"] for d, v in operation["datasets"].items() if v["quarantined"]
    }
    assert set(register["dataset_id"]) == set(catalog)  # the prohibited one is graded too
    ids = register.set_index(["dataset_id", "column_name"])
    assert ids.loc[("household_registration", "id_number"), "level"] == "L4"
    assert (ids.loc[("petition_records", slice(None)), "level"] >= "L3").all()

    # column lineage exchange → governance → operation, each published column's transformation
    instance = dagster_instance(settings)

    def metadata(*key: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(list(key)))
        return event.asset_materialization.metadata

    published_meta = metadata("operation", "household_registration")
    households_out = read_published(operation_engine, "household_registration")
    lineage = published_meta["dagster/column_lineage"].value.deps_by_column
    assert set(lineage) == set(households_out.columns)
    assert lineage["id_number"][0].asset_key == dg.AssetKey(
        ["governance", "household_registration"]
    )
    governance_lineage = metadata("governance", "household_registration")[
        "dagster/column_lineage"
    ].value.deps_by_column
    assert governance_lineage["id_number"][0].asset_key == dg.AssetKey(
        ["exchange", "household_registration"]
    )
    schema = {c.name: c.tags for c in published_meta["dagster/column_schema"].value.columns}
    assert schema["id_number"]["脱敏方式"].startswith("假名化")
    assert schema["name"]["脱敏方式"] == "掩码" and schema["birth_date"]["脱敏方式"] == "泛化"
    assert schema["id_number"]["分级"] and schema["id_number"]["敏感级别"] == "L4"
    table = published_meta["column_lineage_table"].value
    lineage_rows = {r.data["信息项"]: r.data for r in table.records}
    assert set(lineage_rows) == {i.name for i in catalog["household_registration"].items}
    id_row = lineage_rows["公民身份号码"]
    assert id_row["交换表列"] == "exchange_household_registration.id_number"
    assert id_row["治理后列"] == "governance/household_registration.id_number"
    assert id_row["发布列"] == "operation_household_registration.id_number"
    assert id_row["脱敏方式"].startswith("假名化") and id_row["分级"] and id_row["分类"]

    # the checks the run reported with each publish: measured over the whole new table
    def check(dataset_id: str, name: str) -> dg.AssetCheckEvaluation:
        key = dg.AssetCheckKey(dg.AssetKey(["operation", dataset_id]), name)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        return record.event.dagster_event.event_specific_data

    for dataset_id in open_datasets:
        item = operation["datasets"][dataset_id]
        leak = check(dataset_id, "no_cleartext_identifiers")
        assert leak.passed and leak.metadata["findings"].value == {}
        assert leak.metadata["rows"].value == item["published"]
        assert leak.metadata["rows_scanned_in_zone"].value == 0  # nothing carried: no read back
        k_check = check(dataset_id, "k_anonymity")
        assert k_check.passed and k_check.metadata["k"].value == item["k"]
        assert k_check.metadata["k_threshold"].value == threshold
    # the WARN check names the columns desensitization emptied (or passes when there are none)
    emptied = check("household_registration", "no_emptied_columns")
    assert emptied.severity == dg.AssetCheckSeverity.WARN
    assert emptied.metadata["emptied_columns"].value == emptied_columns(households_out)
    assert emptied.passed == (not emptied_columns(households_out))
    graded = metadata("classification", "household_registration")["dagster/column_schema"]
    tags = {c.name: c.tags for c in graded.value.columns}
    assert tags["id_number"]["分类"].endswith("个人身份信息") and tags["phone"]["敏感级别"] in (
        "L3",
        "L4",
    )

    publishes = audit.entries(platform_engine, actions=(audit.PUBLISH,))
    assert sorted(e.target for e in publishes) == sorted(f"operation/{d}" for d in open_datasets)
    assert all(
        e.rows == operation["datasets"][e.target.split("/")[1]]["published"] for e in publishes
    )

    # the blocking reconciliation check passes, and fails once a record goes missing
    resource = settings.platform_resource()
    check = governance_reconciled_check(catalog["household_registration"])
    assert check(platform=resource).passed
    with platform_engine.begin() as connection:
        victim = connection.execute(
            sa.select(sa.func.min(governance_quarantine.c.id)).where(
                governance_quarantine.c.dataset_id == "household_registration"
            )
        ).scalar_one()
        connection.execute(
            sa.delete(governance_quarantine).where(governance_quarantine.c.id == victim)
        )
    failed = check(platform=resource)
    assert not failed.passed and "隔离" in failed.description

    # same key, next run: the same pseudonyms (the check's record is restored by governance too)
    households = read_published(operation_engine, "household_registration")
    subsidies = read_published(operation_engine, "agricultural_subsidies")
    _publish(settings)
    again = read_published(operation_engine, "household_registration")
    assert sorted(again["id_number"]) == sorted(households["id_number"])
    assert check(platform=resource).passed

    # suspend households (whole dataset) and one county of market entities with withdrawal
    add_account(settings.platform_url, "bureau_duty", "bureau")
    data = ["--data-dir", str(tmp_path), "--as", "bureau_duty"]
    _cli(
        "supply",
        "suspend",
        *data,
        "--dataset",
        "household_registration",
        "--reason",
        "疑似重识别风险",
    )
    entities_before = read_published(operation_engine, "market_entities")
    withdrawn = _cli(
        "supply", "suspend", *data, "--dataset", "market_entities", "--county", "640521",
        "--reason", "中宁县数据待核", "--withdraw",
    )  # fmt: skip
    removed = int((entities_before["county_code"] == "640521").sum())
    assert withdrawn["withdrawn"]["removed"] == removed > 0
    entities_withdrawn = read_published(operation_engine, "market_entities")
    assert "640521" not in set(entities_withdrawn["county_code"])

    # another key: what is not suspended changes, what is suspended stays as it was
    # another key: the settings are read once, when the Definitions are built (never during a run)
    monkeypatch.setenv("PUBLICDATA_PSEUDONYM_KEY", KEY_B)
    settings = settings_for(tmp_path, db_url)
    held = _publish(settings)
    assert held["household_registration"]["status"] == "suspended"
    assert held["market_entities"]["suspended_counties"] == ["640521"]
    still = read_published(operation_engine, "household_registration")
    assert sorted(still["id_number"]) == sorted(households["id_number"])
    pd.testing.assert_frame_equal(
        read_published(operation_engine, "market_entities"), entities_withdrawn
    )
    rotated = read_published(operation_engine, "agricultural_subsidies")
    assert len(rotated) == len(subsidies)
    assert not set(rotated["id_number"]) & set(subsidies["id_number"])
    withheld = audit.entries(platform_engine, actions=(audit.PUBLISH_WITHHELD,))
    assert sorted(e.target for e in withheld) == [
        "operation/household_registration",
        "operation/market_entities",
    ]

    # resume both: the next run publishes them again, under the new key
    _cli("supply", "resume", *data, "--dataset", "household_registration", "--reason", "已整改")
    _cli(
        "supply", "resume", *data, "--dataset", "market_entities", "--county", "640521",
        "--reason", "已核实",
    )  # fmt: skip
    assert operation_report(settings)["datasets"]["household_registration"]["status"] == "resumed"
    assert _publish(settings)["household_registration"]["status"] == "published"
    resumed = read_published(operation_engine, "household_registration")
    assert len(resumed) == len(households)
    assert not set(resumed["id_number"]) & set(households["id_number"])
    assert "640521" in set(read_published(operation_engine, "market_entities")["county_code"])

    trail = [
        (e.action, e.target)
        for e in audit.entries(platform_engine)
        if e.action in (audit.SUSPEND, audit.WITHDRAW, audit.RESUME)
    ]
    assert trail == [
        (audit.SUSPEND, "operation/household_registration"),
        (audit.SUSPEND, "operation/market_entities/640521"),
        (audit.WITHDRAW, "operation/market_entities/640521"),
        (audit.RESUME, "operation/household_registration"),
        (audit.RESUME, "operation/market_entities/640521"),
    ]
    acted = {
        (e.actor, e.role)
        for e in audit.entries(platform_engine)
        if e.action in (audit.SUSPEND, audit.WITHDRAW, audit.RESUME)
    }
    assert acted == {("bureau_duty", "bureau")}
    withdraw_entry = audit.entries(platform_engine, actions=(audit.WITHDRAW,))[0]
    assert withdraw_entry.rows == removed + withdraw_entry.detail["suppressed_for_k"]
