"""The operation asset's checks run alone (the Dagster UI's "execute checks", no publish), on SQLite
and PostgreSQL: they measure the published table as it stands in the zone. A publish reports the
writer's measurements with its materialization; without one, a cleartext ID number written into the
published table behind the writer's back fails the blocking leak check, and nothing is published."""

from __future__ import annotations

from datetime import date

import dagster as dg
import sqlalchemy as sa

from assets.audit import log as audit
from assets.common.check_chars import id_check_char
from assets.landing.generator import generate
from assets.operation.checks import EMPTIED_CHECK, K_CHECK, LEAK_CHECK
from assets.operation.keys import operation_key
from assets.operation.writer import read_published
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name
from orchestration.definitions import build_definitions
from orchestration.runner import dagster_instance, run_pipeline
from orchestration.summaries import operation_report
from tests.helpers import settings_for

AS_OF = date(2026, 11, 20)
DATASET = "household_registration"
ID_NUMBER = "64050219900101011" + id_check_char("64050219900101011")


def _checks_alone(
    settings, *, success: bool = True, names=(LEAK_CHECK, K_CHECK, EMPTIED_CHECK)
) -> dict[str, dg.AssetCheckEvaluation]:
    key = operation_key(DATASET)
    checks = {dg.AssetCheckKey(key, name) for name in names}
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    result = job.get_subset(asset_selection=set(), asset_check_selection=checks).execute_in_process(
        instance=dagster_instance(settings), raise_on_error=False
    )
    assert result.success is success  # a failed blocking check fails its step
    assert not result.get_asset_materialization_events()  # measured, not published
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_the_checks_alone_measure_the_table_in_the_zone(
    tmp_path, db_url, catalog, city, monkeypatch
):
    monkeypatch.setenv("PUBLICDATA_PSEUDONYM_KEY", "checks-alone-test-key-0123456789")
    generate(tmp_path, rows=500, seed=5, city=city, catalog=catalog, as_of=AS_OF)
    settings = settings_for(tmp_path, db_url)
    report = run_pipeline(settings)
    assert not report.failed_partitions, report.failed_partitions
    published = operation_report(settings)["datasets"][DATASET]
    operation_engine = get_engine(settings.operation_url)
    platform_engine = get_engine(settings.platform_url)
    publishes = len(audit.entries(platform_engine, actions=(audit.PUBLISH,)))

    measured = _checks_alone(settings)
    assert set(measured) == {LEAK_CHECK, K_CHECK, EMPTIED_CHECK}
    leak = measured[LEAK_CHECK]
    assert leak.passed
    assert leak.metadata["rows"].value == published["published"]
    assert leak.metadata["rows_scanned_in_zone"].value == published["published"]
    assert measured[K_CHECK].passed
    assert measured[K_CHECK].metadata["k"].value == published["k"]

    # one check asked for: only it runs
    assert set(_checks_alone(settings, names=(EMPTIED_CHECK,))) == {EMPTIED_CHECK}

    name = operation_table_name(DATASET)
    with operation_engine.begin() as connection:  # one row, behind the writer's back
        changed = connection.execute(
            sa.text(
                f'UPDATE "{name}" SET "name" = :value '
                f'WHERE "id_number" = (SELECT min("id_number") FROM "{name}")'
            ),
            {"value": f"户主身份证 {ID_NUMBER}"},
        ).rowcount
    assert changed == 1
    leak = _checks_alone(settings, success=False)[LEAK_CHECK]
    assert not leak.passed
    assert leak.metadata["findings"].value == {"name": {"cn_id_number": 1}}
    assert ID_NUMBER not in str(leak.metadata) and ID_NUMBER not in (leak.description or "")
    # the checks wrote nothing: the tampered table is still there, no publish was recorded
    assert (
        read_published(operation_engine, DATASET)["name"] == f"户主身份证 {ID_NUMBER}"
    ).sum() == 1
    assert len(audit.entries(platform_engine, actions=(audit.PUBLISH,))) == publishes
