"""Security incidents and risk assessments (issue 10): a severe incident suspends supply at once and the
suspension resumes only after the incident's fix; the CLI with accounts; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assets.audit import log as audit
from assets.operation.suspension import (
    SuspensionError,
    active_suspensions,
    resume_supply,
    suspend_supply,
)
from assets.security.incidents import (
    IncidentError,
    close_incident,
    list_incidents,
    open_incident,
    record_fix,
)
from assets.security.risk import RiskError, list_assessments, record_assessment
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli import main
from tests.helpers import add_account


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def _open(engine, level, datasets=("household_registration", "market_entities"), **kw):
    return open_incident(
        engine,
        engine,
        level=level,
        title=kw.pop("title", "疑似数据泄露"),
        description=kw.pop("description", "运营平台查询日志异常"),
        datasets=datasets,
        merchants=("m0001",),
        actor="bureau_duty",
        role="bureau",
        **kw,
    )


def test_a_severe_incident_suspends_supply_and_holds_it_until_fixed(engine):
    incident = _open(engine, "major")
    assert incident.id.startswith("SI-") and incident.level.label == "重大"
    suspended = {s.dataset_id: s for s in active_suspensions(engine)}
    assert set(suspended) == {"household_registration", "market_entities"}
    assert sorted(incident.suspension_ids) == sorted(s.id for s in suspended.values())
    assert all(incident.id in s.reason for s in suspended.values())
    with pytest.raises(SuspensionError, match=f"安全事件 {incident.id}.*尚未登记整改情况"):
        resume_supply(
            engine, dataset_id="market_entities", reason="已整改", actor="b", actor_role="bureau"
        )
    assert len(active_suspensions(engine)) == 2
    with pytest.raises(IncidentError, match="先登记整改情况"):
        close_incident(engine, incident.id, actor="ops", role="operator_review")

    fixed = record_fix(
        engine, incident.id, fix="已封堵接口并复核日志", actor="ops", role="operator_review"
    )
    assert fixed.status == "fixed"
    resume_supply(
        engine, dataset_id="market_entities", reason="已整改", actor="b", actor_role="bureau"
    )
    assert [s.dataset_id for s in active_suspensions(engine)] == ["household_registration"]
    closed = close_incident(engine, incident.id, actor="ops", role="operator_review")
    assert closed.status == "closed"
    assert [a["kind"] for a in closed.actions] == [
        "opened",
        "suspended",
        "suspended",
        "fixed",
        "closed",
    ]

    trail = [
        (e.action, e.actor, e.role)
        for e in audit.entries(engine)
        if e.target.startswith(("incidents/", "operation/"))
    ]
    assert trail == [
        ("incident_open", "bureau_duty", "bureau"),
        ("supply_suspend", "bureau_duty", "bureau"),
        ("supply_suspend", "bureau_duty", "bureau"),
        ("incident_fix", "ops", "operator_review"),
        ("supply_resume", "b", "bureau"),
        ("incident_close", "ops", "operator_review"),
    ]


def test_minor_incidents_do_not_suspend_and_severe_ones_need_datasets(engine):
    general = _open(engine, "一般")
    significant = _open(engine, "significant")
    assert general.suspension_ids == () and significant.suspension_ids == ()
    assert active_suspensions(engine) == []
    with pytest.raises(IncidentError, match="必须写明受影响的数据集"):
        _open(engine, "critical", datasets=())
    with pytest.raises(IncidentError, match="未知的事件级别"):
        _open(engine, "huge")
    assert [i.id[-4:] for i in list_incidents(engine)] == ["0001", "0002"]


def test_an_existing_suspension_is_held_by_the_incident(engine):
    earlier, _ = suspend_supply(
        engine,
        engine,
        dataset_id="market_entities",
        reason="先前风险",
        actor="b",
        actor_role="bureau",
    )
    incident = _open(engine, "critical", datasets=("market_entities",))
    assert incident.suspension_ids == (earlier.id,)
    with pytest.raises(SuspensionError, match=incident.id):
        resume_supply(engine, dataset_id="market_entities", reason="x", actor="b")


def test_personal_data_typed_into_the_register_is_masked(engine):
    incident = _open(
        engine,
        "general",
        title="手机号13912345678的用户投诉",
        description="涉及身份证640502199001011234和卡号6222021234567890123",
    )
    text = json.dumps(incident.as_record(), ensure_ascii=False)
    for raw in ("13912345678", "640502199001011234", "6222021234567890123"):
        assert raw not in text
    entry = audit.entries(engine, actions=("incident_open",))[0]
    assert "13912345678" not in (entry.reason or "")


def test_risk_assessments(engine):
    first = record_assessment(
        engine,
        subject_kind="dataset",
        subject_id="household_registration",
        risk_level="high",
        conclusion="conditional",
        findings="准标识符组合 k 值偏低",
        measures="提高泛化粒度",
        actor="compliance",
        role="operator_compliance",
    )
    record_assessment(
        engine,
        subject_kind="product",
        subject_id="P-001",
        risk_level="low",
        conclusion="风险可接受",
        findings="仅输出统计值",
        actor="compliance",
        role="operator_compliance",
    )
    assert first.as_record()["conclusion_label"] == "有条件接受"
    assert [a.subject_id for a in list_assessments(engine, subject_kind="product")] == ["P-001"]
    assert len(list_assessments(engine)) == 2
    with pytest.raises(RiskError, match="未知的评估结论"):
        record_assessment(
            engine, subject_kind="dataset", subject_id="x", risk_level="low", conclusion="fine",
            findings="f", actor="c", role=None,
        )  # fmt: skip
    assert [e.target for e in audit.entries(engine, actions=("risk_assessment",))] == [
        "risk/dataset/household_registration",
        "risk/product/P-001",
    ]


def test_incident_and_risk_commands(tmp_path, db_url, monkeypatch):
    for name in ("PUBLICDATA_HOME", "PUBLICDATA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for zone in ("PLATFORM", "OPERATION"):
        monkeypatch.setenv(f"PUBLICDATA_{zone}_URL", db_url)
    for name, role, scope in (
        ("chief", "bureau", {}),
        ("reviewer", "operator_review", {}),
        ("compliance", "operator_compliance", {}),
        ("shop", "merchant_user", {"merchant_id": "m0001"}),
    ):
        add_account(db_url, name, role, **scope)

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == code, result.output
        return result.output

    opened = json.loads(
        cli(
            "incidents", "open", "--level", "major", "--title", "接口越权", "--description", "越权查询",
            "--dataset", "household_registration", "--merchant", "m0001", "--as", "reviewer", "--json",
        )
    )  # fmt: skip
    assert opened["severe"] and len(opened["suspension_ids"]) == 1
    refused = cli(
        "incidents", "open", "--level", "general", "--title", "t", "--description", "d",
        "--as", "shop", code=1,
    )  # fmt: skip
    assert "拒绝" in refused and "incidents.open" in refused
    resume = ["supply", "resume", "--dataset", "household_registration", "--reason", "已整改"]
    assert "尚未登记整改情况" in cli(*resume, "--as", "chief", code=1)
    assert "先登记整改情况" in cli("incidents", "close", opened["id"], "--as", "reviewer", code=1)
    cli("incidents", "fix", opened["id"], "--fix", "已收回权限", "--as", "reviewer")
    assert "无此权限" in cli(*resume, "--as", "reviewer", code=1)  # only the bureau resumes
    assert "已恢复供给" in cli(*resume, "--as", "chief")
    cli("incidents", "close", opened["id"], "--as", "chief")
    listed = json.loads(cli("incidents", "list", "--json"))
    assert [(i["id"], i["status"]) for i in listed] == [(opened["id"], "closed")]

    cli(
        "risk", "record", "--kind", "dataset", "--subject", "household_registration",
        "--level", "medium", "--conclusion", "acceptable", "--findings", "已脱敏",
        "--as", "compliance",
    )  # fmt: skip
    assert "无此权限" in cli(
        "risk", "record", "--kind", "product", "--subject", "p", "--level", "low",
        "--conclusion", "acceptable", "--findings", "f", "--as", "reviewer", code=1,
    )  # fmt: skip
    assert len(json.loads(cli("risk", "list", "--json"))) == 1
