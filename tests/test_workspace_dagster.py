"""The workspace wired end to end: grants made by the authorization domain (operator authorization,
merchant, signed agreement, grant) become access through the Dagster asset ``workspace/grants`` on
``PUBLICDATA_TODAY``; supply suspension, the grant's expiry and the merchant's exit take it away; the asset check
``privileges_match_grants`` fails with severity ERROR on a privilege granted by hand; the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.accounts.store import create_account
from assets.authorization import agreements, merchants, operator
from assets.authorization.grants import create_grant
from assets.authorization.records import Actor, utc_now
from assets.operation.suspension import resume_supply, suspend_supply
from assets.storage.engine import get_engine, is_postgres
from assets.workspace.checks import PRIVILEGES_CHECK, PRIVILEGES_JOB
from assets.workspace.keys import WORKSPACE_JOB, WORKSPACE_KEY
from assets.workspace.naming import role_name, role_prefix
from assets.workspace.postgres import database_name
from orchestration.cli import main
from orchestration.definitions import build_definitions, build_stages, post_ingest_jobs
from tests.authorization_helpers import AGREEMENT_BODY, valid_uscc
from tests.helpers import settings_for
from tests.workspace_fixtures import GRANTED, MEDICAL, MEDICAL_TABLE, UNGRANTED, publish_zone

MERCHANT_ID = "yunshu"
BUREAU, REVIEW, USER = "ws_bureau", "ws_review", "ws_user"
IN_PERIOD, EXPIRED = date(2026, 5, 1), date(2026, 10, 1)


def _world(engine: sa.Engine) -> str:
    """Accounts, an operator authorization, a merchant with the signed agreement, one grant of
    medical institutions for April–September 2026."""
    for name, role, merchant in (
        (BUREAU, "bureau", None),
        (REVIEW, "operator_review", None),
        (USER, "merchant_user", MERCHANT_ID),
    ):
        create_account(
            engine, name=name, display_name=name, role=role, by="test", by_role=None,
            merchant_id=merchant,
        )  # fmt: skip
    operator.create_authorization(
        engine,
        BUREAU,
        unit_name="中卫市数据运营有限公司",
        agreement_no="ZW-SQYY-2026-001",
        mode="whole",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    merchants.register_merchant(
        engine,
        REVIEW,
        name="宁夏云数科技有限公司",
        uscc=valid_uscc("91640500MA76"),
        contact_name="王经理",
        contact_phone="13900001111",
        qualifications=["营业执照"],
        today=date(2026, 3, 2),
        merchant_id=MERCHANT_ID,
    )
    merchants.decide_merchant(engine, REVIEW, MERCHANT_ID, approve=True)
    version = agreements.draft_version(engine, REVIEW, AGREEMENT_BODY)
    agreements.decide_version(engine, BUREAU, version.id, approve=True)
    agreements.sign(engine, USER, MERCHANT_ID, version.id)
    with engine.begin() as connection:
        return create_grant(
            connection,
            Actor(REVIEW),
            application_id="a0001",
            merchant_id=MERCHANT_ID,
            dataset_id=MEDICAL,
            columns=GRANTED,
            domains=("医疗卫生",),
            scenario="医疗资源分布分析",
            valid_from=date(2026, 4, 1),
            valid_to=date(2026, 9, 30),
            at=utc_now(),
        )


def _privileges(engine: sa.Engine, role: str, grant_id: str) -> tuple[bool, bool]:
    """(SELECT on the grant's view — False when it is gone, any privilege on the table)."""
    with engine.connect() as connection:
        view = connection.exec_driver_sql(
            f"SELECT to_regclass('grant_{grant_id}.{MEDICAL}') IS NOT NULL AND "
            f"has_table_privilege('{role}', 'grant_{grant_id}.{MEDICAL}', 'SELECT')"
        ).scalar_one()
        table = connection.exec_driver_sql(
            f"SELECT has_any_column_privilege('{role}', 'public.{MEDICAL_TABLE}', 'SELECT')"
        ).scalar_one()
    return bool(view), bool(table)


def _run(settings, job: str) -> dg.ExecuteInProcessResult:
    return (
        build_definitions(settings)
        .resolve_job_def(job)
        .execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    )


def _materialized(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == PRIVILEGES_CHECK
    return evaluation


def test_the_workspace_stage_is_wired_after_publication(tmp_path: Path):
    settings = settings_for(tmp_path / "data")
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    node = graph.get(WORKSPACE_KEY)
    assert node.group_name == "workspace"
    assert dg.AssetKey(["operation", MEDICAL]) in node.parent_keys
    assert dg.AssetCheckKey(WORKSPACE_KEY, PRIVILEGES_CHECK) in node.check_keys
    jobs = post_ingest_jobs(build_stages(settings))
    assert jobs.index(WORKSPACE_JOB) > jobs.index("govern_and_publish")
    assert {s.name for s in defs.schedules} >= {
        "workspace_reconcile_daily",
        "workspace_privileges_hourly",
    }
    assert "workspace_grants_changed" in {s.name for s in defs.sensors}


@pytest.mark.slow
def test_grants_become_access_and_expire_with_the_day(db_url: str, tmp_path: Path):
    settings = settings_for(tmp_path / "data", db_url, today=IN_PERIOD)
    engine = get_engine(db_url)
    publish_zone(engine, db_url)
    grant_id = _world(engine)

    result = _run(settings, WORKSPACE_JOB)
    assert result.success
    metadata = _materialized(result)
    assert metadata["today"] == "2026-05-01"
    assert metadata["grants_live"] == 1 and metadata["grants_applied"] == 1
    assert metadata["objects_created"] >= 1
    assert _check(result).passed

    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "data")]
    env = {"PUBLICDATA_TODAY": IN_PERIOD.isoformat()}
    if is_postgres(db_url):
        env |= {"PUBLICDATA_DATABASE_URL": db_url}
        role = role_name(role_prefix(database_name(engine)), MERCHANT_ID)
        issued = runner.invoke(
            main,
            ["workspace", "credentials", *base, "--merchant", MERCHANT_ID, "--as", USER],
            env=env,
        )
        assert issued.exit_code == 0, issued.output
        assert f"postgresql://{role}:" in issued.stdout
        assert _privileges(engine, role, grant_id) == (True, False)
    else:
        env |= {f"PUBLICDATA_{z}_URL": db_url for z in ("EXCHANGE", "OPERATION", "PLATFORM")}
        query = ["workspace", "sql", *base, "--merchant", MERCHANT_ID, "--as", USER, "--json"]
        ok = runner.invoke(main, [*query, "SELECT * FROM medical_institutions"], env=env)
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.stdout)["columns"] == list(GRANTED)
        denied = runner.invoke(main, [*query, f"SELECT {UNGRANTED} FROM {MEDICAL_TABLE}"], env=env)
        assert denied.exit_code == 1 and "不能直接查询" in denied.output
        other = runner.invoke(
            main,
            ["workspace", "sql", *base, "--merchant", "other", "--as", USER, "SELECT 1"],
            env=env,
        )
        assert other.exit_code == 1 and "拒绝" in other.output
    checked = runner.invoke(main, ["workspace", "check", *base, "--json"], env=env)
    assert checked.exit_code == 0 and json.loads(checked.stdout)["passed"], checked.output

    # supply suspension of the dataset (第二十七条, nothing withdrawn): the grant is no longer live
    suspend_supply(engine, engine, dataset_id=MEDICAL, reason="发现风险", actor=BUREAU)
    held = _run(settings, WORKSPACE_JOB)
    assert _materialized(held)["grants_live"] == 0 and _check(held).passed
    if is_postgres(db_url):
        assert _privileges(engine, role, grant_id) == (False, False)
    else:
        refused = runner.invoke(main, [*query, "SELECT * FROM medical_institutions"], env=env)
        assert refused.exit_code == 1 and "没有生效中的数据使用授权" in refused.output
    resume_supply(engine, dataset_id=MEDICAL, reason="已整改", actor=BUREAU)
    assert _materialized(_run(settings, WORKSPACE_JOB))["grants_applied"] == 1
    if is_postgres(db_url):
        assert _privileges(engine, role, grant_id) == (True, False)

    # the grant's period ends: the next day's reconcile takes the access away
    expired = _run(settings_for(tmp_path / "data", db_url, today=EXPIRED), WORKSPACE_JOB)
    assert _materialized(expired)["grants_live"] == 0 and _check(expired).passed
    if is_postgres(db_url):
        with engine.connect() as connection:
            assert (
                connection.exec_driver_sql(
                    "SELECT rolcanlogin FROM pg_roles WHERE rolname = %(r)s", {"r": role}
                ).scalar_one()
                is False
            )
    else:
        env["PUBLICDATA_TODAY"] = EXPIRED.isoformat()
        gone = runner.invoke(main, [*query, "SELECT * FROM medical_institutions"], env=env)
        assert gone.exit_code == 1 and "没有生效中的数据使用授权" in gone.output

    # exit: the merchant's role (PostgreSQL) and every record of its access are gone
    merchants.exit_merchant(engine, REVIEW, MERCHANT_ID, reason="主动申请退出")
    left = _run(settings, WORKSPACE_JOB)
    assert _materialized(left)["merchants"] == 0 and _check(left).passed
    if is_postgres(db_url):
        with engine.connect() as connection:
            assert (
                connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_roles WHERE rolname = %(r)s", {"r": role}
                ).scalar_one()
                == 0
            )


@pytest.mark.postgres
def test_the_check_fails_with_error_on_a_privilege_granted_by_hand(pg_url: str, tmp_path: Path):
    settings = settings_for(tmp_path / "data", pg_url, today=IN_PERIOD)
    engine = get_engine(pg_url)
    publish_zone(engine, pg_url)
    _world(engine)
    assert _run(settings, WORKSPACE_JOB).success
    role = role_name(role_prefix(database_name(engine)), MERCHANT_ID)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'GRANT SELECT ON public."{MEDICAL_TABLE}" TO "{role}"')

    checked = _run(settings, PRIVILEGES_JOB)
    evaluation = _check(checked)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    violations = evaluation.metadata["violations"].value
    assert violations == [f"{role} 对表 public.{MEDICAL_TABLE} 有 SELECT 权限"]
    assert f"public.{MEDICAL_TABLE}" in evaluation.description

    repaired = _run(settings, WORKSPACE_JOB)  # the reconciler takes it back, audited
    changes = _materialized(repaired)["changes"]
    assert any(c["action"] == "privilege_revoked" for c in changes)
    assert _check(repaired).passed
