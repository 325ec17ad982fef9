"""The authorization commands on a data directory: --json with English codes, refusals with a Chinese
message and exit status 1, --as checked, PUBLICDATA_TODAY for every deadline, the calendar loaded."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assets.common.workdays import use_calendar_dir
from orchestration.cli import main
from orchestration.settings import Settings
from tests.authorization_helpers import BUREAU, COMPLIANCE, HEALTH_OFFICE, MERCHANT, setup_world


@pytest.fixture(autouse=True)
def shipped_calendar_afterwards():
    """Settings.load makes its calendar directory the process's; put the shipped one back."""
    yield
    use_calendar_dir(None)


@pytest.fixture
def data_dir(tmp_path, catalog):
    home = tmp_path / "data"
    setup_world(Settings.load(home).platform_resource().platform_engine(), catalog)
    return home


def _run(data_dir, *args, today="2026-04-01", calendar_dir=None):
    env = {"PUBLICDATA_TODAY": today}
    if calendar_dir:
        env["PUBLICDATA_CALENDAR_DIR"] = str(calendar_dir)
    return CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)], env=env)


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


SUBMIT = (
    "applications",
    "submit",
    "--merchant",
    "yunshu",
    "--scenario",
    "医疗资源分布分析",
    "--purpose",
    "床位分布",
    "--method",
    "sandbox",
    "--from",
    "2026-04-01",
    "--to",
    "2026-12-31",
    "--safeguards",
    "沙箱内查询",
    "--json",
    "--as",
    MERCHANT,
)


def test_an_application_through_the_commands(data_dir):
    submitted = _json(_run(data_dir, *SUBMIT, "--items", "medical_institutions:机构名称,床位数"))
    app_id = submitted["application_id"]
    assert submitted["status"] == "submitted"
    assert (submitted["due_date"], submitted["due_date_provisional"]) == ("2026-04-09", False)

    denied = _run(data_dir, "applications", "comply", app_id, "--pass", "--as", MERCHANT)
    assert denied.exit_code == 1 and "无此权限" in denied.output

    passed = _json(
        _run(data_dir, "applications", "comply", app_id, "--pass", "--json", "--as", COMPLIANCE)
    )
    assert passed["status"] == "compliance_passed" and passed["due_date"] == "2026-04-16"

    refused = _run(data_dir, "applications", "review", app_id, "--reject", "--as", BUREAU)
    assert refused.exit_code == 1 and "理由" in refused.output
    _json(_run(data_dir, "applications", "review", app_id, "--approve", "--json", "--as", BUREAU))
    approved = _json(
        _run(
            data_dir,
            "applications",
            "review",
            app_id,
            "--department",
            "health",
            "--approve",
            "--json",
            "--as",
            HEALTH_OFFICE,
        )
    )
    assert approved["status"] == "approved" and approved["due_date"] is None
    (grant,) = approved["grants"]
    assert set(grant["columns"]) == {"institution_name", "beds"}

    listed = _json(_run(data_dir, "applications", "list", "--json"))
    assert [a["status"] for a in listed["applications"]] == ["approved"]
    people = _run(data_dir, "applications", "list")
    assert "审核通过" in people.output

    deemed = _json(_run(data_dir, "applications", "deem", "--json", today="2027-01-04"))
    assert deemed["expired"] == [app_id]


def test_a_prohibited_dataset_is_refused_by_the_command(data_dir):
    result = _run(data_dir, *SUBMIT, "--items", "petition_records:姓名")
    assert result.exit_code == 1
    assert "禁止开放" in result.output


def test_merchants_list_masks_the_phone(data_dir):
    listed = _json(_run(data_dir, "merchants", "list", "--json"))
    (merchant,) = listed["merchants"]
    assert merchant["status"] == "approved" and merchant["signed_current"] is True
    assert merchant["contact_phone"] == "139****1111"


def test_loading_a_year_makes_its_due_dates_official(data_dir, tmp_path):
    calendar_dir = tmp_path / "calendar"
    before = _json(
        _run(
            data_dir,
            "calendar",
            "due",
            "--from",
            "2026-12-24",
            "--days",
            "10",
            "--json",
            calendar_dir=calendar_dir,
        )
    )
    assert before["due_date_provisional"] is True
    source = tmp_path / "2027.yaml"
    source.write_text(
        "year: 2027\nsource: 国务院办公厅关于2027年部分节假日安排的通知（测试用）\n"
        "holidays:\n  元旦: [2027-01-01]\n",
        encoding="utf-8",
    )
    denied = _run(
        data_dir, "calendar", "load", str(source), "--as", MERCHANT, calendar_dir=calendar_dir
    )
    assert denied.exit_code == 1
    _json(
        _run(
            data_dir,
            "calendar",
            "load",
            str(source),
            "--json",
            "--as",
            BUREAU,
            calendar_dir=calendar_dir,
        )
    )
    after = _json(
        _run(
            data_dir,
            "calendar",
            "due",
            "--from",
            "2026-12-24",
            "--days",
            "10",
            "--json",
            calendar_dir=calendar_dir,
        )
    )
    assert after == {**before, "due_date_provisional": False}


def test_exit_revokes_grants_and_records_the_workspace_deletion(data_dir):
    from assets.audit.log import entries

    app_id = _json(_run(data_dir, *SUBMIT, "--items", "medical_institutions:机构名称"))[
        "application_id"
    ]
    _json(_run(data_dir, "applications", "comply", app_id, "--pass", "--json", "--as", COMPLIANCE))
    deemed = _json(_run(data_dir, "applications", "deem", "--json", today="2026-04-20"))
    assert deemed["decided"] == {app_id: "deemed_approved"}
    exited = _json(
        _run(
            data_dir,
            "merchants",
            "exit",
            "yunshu",
            "--reason",
            "主动退出",
            "--json",
            "--as",
            BUREAU,
        )
    )
    assert exited["status"] == "exited" and len(exited["grants_revoked"]) == 1
    assert "workspace_deleted" in exited
    engine = Settings.load(data_dir).platform_resource().platform_engine()
    actions = [e.action for e in entries(engine, target_prefix="authorization/merchant/yunshu")]
    assert actions[-3:] == ["merchant_exit", "merchant_exit_report", "merchant_exit_workspace"]
