"""``publicdata tickets`` through click's CliRunner against a temporary data directory, on SQLite and
PostgreSQL; the department report (XLSX and HTML) it writes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import openpyxl
import pytest
from click.testing import CliRunner

from assets.audit import log as audit
from assets.common.workdays import DuePolicy
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import intake
from assets.tickets import store as store
from assets.tickets.rules import Finding
from orchestration.cli_tickets import tickets
from orchestration.settings import Settings
from tests.helpers import add_account

T0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
RAW_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
LIST_FIELDS = {
    "id",
    "county_code",
    "department",
    "dataset_id",
    "columns",
    "expectation",
    "dimension",
    "severity",
    "failed_count",
    "status",
    "due_date",
}


@pytest.fixture
def data_dir(tmp_path, db_url, monkeypatch):
    """A data directory whose platform records live in ``db_url``, with three tickets in it."""
    for name in ("PUBLICDATA_DATABASE_URL", "PUBLICDATA_CITY_CONFIG", "PUBLICDATA_CATALOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUBLICDATA_PLATFORM_URL", db_url)
    home = tmp_path / "data"
    url = Settings.load(home).platform_url
    ensure_platform_schema(url)
    engine = get_engine(url)

    def sync(county, department, dataset, period, rule, columns, examples, expectation):
        intake.sync_findings(
            engine,
            dataset_id=dataset,
            county_code=county,
            department_id=department,
            period=period,
            findings=[
                Finding(
                    rule_id=rule,
                    expectation=expectation,
                    columns=columns,
                    dimension="规范性",
                    severity="高",
                    failed_count=len(examples),
                    total=50,
                    examples=examples,
                    fix="请对照原始档案逐条核对后更正，并在下一期重新报送。",
                )
            ],
            passed_rule_ids=(),
            checked_at=T0,
            due_policy=DuePolicy(),
        )

    sync(
        "640521",
        "public_security",
        "household_registration",
        "2026-09",
        "household_registration.format.id_number",
        ("id_number",),
        ({"source_row": 5, "value": "6405**********0018"}, {"source_row": 9, "value": None}),
        "公民身份号码符合 GB 11643 <校验码>",
    )
    sync(
        "640522",
        "public_security",
        "household_registration",
        "2026-09",
        "household_registration.id_gender.id_number+gender",
        ("id_number", "gender"),
        ({"source_row": 3, "value": "6405**********0021 / 女"},),
        "性别与公民身份号码第17位一致",
    )
    sync(
        "640502",
        "health",
        "medical_institutions",
        "2026-Q3",
        "medical_institutions.format.uscc",
        ("uscc",),
        ({"source_row": 4, "value": "9**************X"},),
        "统一社会信用代码符合 GB 32100",
    )
    return home


def run(*args: str):
    return CliRunner().invoke(tickets, list(args), catch_exceptions=False)


def listed(data_dir, *options: str) -> list[dict]:
    result = run("list", "--data-dir", str(data_dir), "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_json_has_the_promised_fields_and_filters(data_dir):
    everything = listed(data_dir)
    assert len(everything) == 3
    assert all(LIST_FIELDS.issubset(row) for row in everything)
    first = next(r for r in everything if r["county_code"] == "640521")
    assert first["id"] == "QT-640521-000001"
    assert first["department"] == "public_security"
    assert first["department_name"] == "中宁县公安局"
    assert first["columns"] == ["id_number"]
    assert first["dimension"] == "规范性"
    assert first["failed_count"] == 2
    assert first["status"] == "new"
    assert first["due_date"] == "2026-10-19"

    assert [r["id"] for r in listed(data_dir, "--county", "640522")] == ["QT-640522-000001"]
    assert [r["dataset_id"] for r in listed(data_dir, "--department", "health")] == [
        "medical_institutions"
    ]
    assert listed(data_dir, "--status", "acknowledged") == []
    assert len(listed(data_dir, "--status", "open")) == 3


def test_list_text(data_dir):
    result = run("list", "--data-dir", str(data_dir), "--county", "640502")
    assert result.exit_code == 0
    assert "QT-640502-000001" in result.output
    assert "沙坡头区卫生健康局" in result.output
    assert "共 1 个工单" in result.output


def test_ack_then_claim_fixed_then_illegal_ack(data_dir):
    d = str(data_dir)
    url = Settings.load(data_dir).platform_url
    add_account(
        url,
        "zhang_ke",
        "department_office",
        display_name="张科长",
        department_id="public_security",
        county_code="640521",
    )
    result = run("ack", "--data-dir", d, "QT-640521-000001", "--as", "zhang_ke")
    assert result.exit_code == 0, result.output
    assert "已确认" in result.output
    assert [r["status"] for r in listed(data_dir, "--county", "640521")] == ["acknowledged"]

    result = run(
        "claim-fixed", "--data-dir", d, "QT-640521-000001", "--comment", "已更正两条",
        "--as", "zhang_ke",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert listed(data_dir, "--county", "640521")[0]["status"] == "fix_claimed"

    result = run("ack", "--data-dir", d, "QT-640521-000001", "--as", "zhang_ke")
    assert result.exit_code == 1
    assert "当前状态为「已申报整改」，不能执行「确认」" in result.output

    shown = run("show", "--data-dir", d, "QT-640521-000001", "--json")
    history = json.loads(shown.output)["history"]
    assert [h["action"] for h in history] == ["opened", "acknowledged", "fix_claimed"]
    assert history[1]["by"] == "zhang_ke"
    assert history[2]["comment"] == "已更正两条"
    audited = [
        (e.actor, e.role, e.action)
        for e in audit.entries(get_engine(url), target_prefix="tickets/QT-640521-000001")
    ]
    assert audited == [
        ("zhang_ke", "department_office", "ticket_acknowledge"),
        ("zhang_ke", "department_office", "ticket_claim_fixed"),
    ]


def test_ticket_steps_refuse_other_offices_and_unknown_accounts(data_dir):
    d = str(data_dir)
    url = Settings.load(data_dir).platform_url
    # the same department in another county, and another department in the same county
    add_account(url, "gaj_640502", "department_office", department_id="public_security",
                county_code="640502")  # fmt: skip
    add_account(url, "wjw_640521", "department_office", department_id="health",
                county_code="640521")  # fmt: skip
    add_account(url, "merchant", "merchant_user", merchant_id="m1")
    for name in ("gaj_640502", "wjw_640521", "merchant", "nobody"):
        result = run("ack", "--data-dir", d, "QT-640521-000001", "--as", name)
        assert result.exit_code == 1, (name, result.output)
        assert "拒绝" in result.output and name in result.output
    assert listed(data_dir, "--county", "640521")[0]["status"] == "new"
    # the county office of 640521 may act on it
    add_account(url, "zn_office", "county_office", county_code="640521")
    result = run("ack", "--data-dir", d, "QT-640521-000001", "--as", "zn_office")
    assert result.exit_code == 0, result.output


def test_claim_fixed_requires_a_comment(data_dir):
    result = run("claim-fixed", "--data-dir", str(data_dir), "QT-640521-000001")
    assert result.exit_code == 2
    assert "--comment" in result.output


def test_unknown_ticket_and_bad_status_fail_clearly(data_dir):
    d = str(data_dir)
    for command in (["show", "QT-640521-999999"], ["ack", "QT-640521-999999"]):
        result = run(command[0], "--data-dir", d, *command[1:])
        assert result.exit_code == 1
        assert "没有编号为 QT-640521-999999 的质量工单" in result.output
    result = run("list", "--data-dir", d, "--status", "finished")
    assert result.exit_code == 2


def test_show_text(data_dir):
    result = run("show", "--data-dir", str(data_dir), "QT-640522-000001")
    assert result.exit_code == 0
    assert "海原县公安局" in result.output
    assert "第3行  6405**********0021 / 女" in result.output
    assert "新建工单" in result.output


def test_report_writes_xlsx_and_html_for_each_county_office(data_dir):
    result = run("report", "--data-dir", str(data_dir), "--department", "公安局")
    assert result.exit_code == 0, result.output
    root = data_dir / "reports" / "tickets"
    target = root / "中宁县" / "公安局"
    xlsx, html = target / "质量工单.xlsx", target / "质量工单.html"
    assert str(xlsx) in result.output and str(html) in result.output
    assert (root / "海原县" / "公安局" / "质量工单.xlsx").is_file()
    assert not (root / "沙坡头区" / "卫生健康委员会").exists()  # only the department asked for

    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["未关闭工单", "问题示例", "说明"]
    rows = list(book["未关闭工单"].iter_rows(values_only=True))
    title, header, body = rows[0], rows[1], rows[2:]
    assert title[0].startswith("中宁县公安局数据质量工单")
    assert header[0] == "工单编号" and "整改期限" in header and "整改方法" in header
    assert [r[0] for r in body] == ["QT-640521-000001"]  # 中宁县's only
    due = header.index("整改期限")
    assert body[0][due].date().isoformat() == "2026-10-19"  # an Excel date, not text
    examples = list(book["问题示例"].iter_rows(values_only=True))[2:]
    assert ("QT-640521-000001", 5, "6405**********0018") in examples

    page = html.read_text(encoding="utf-8")
    assert "中宁县公安局数据质量工单" in page
    assert "QT-640521-000001" in page and "QT-640522-000001" not in page
    assert "海原县" not in page
    assert "第5行：6405**********0018" in page
    assert "请对照原始档案逐条核对后更正" in page
    assert "&lt;校验码&gt;" in page and "<校验码>" not in page  # escaped
    assert "publicdata" not in page  # words for a clerk, not commands
    head_seq, head_hash = audit.head(get_engine(Settings.load(data_dir).platform_url))
    assert f"审计日志链头：第 {head_seq} 条，SM3 {head_hash}" in page
    everything = page + " ".join(str(v) for r in rows + examples for v in r)
    assert not RAW_ID.search(everything)


def test_report_after_close_lists_only_open_tickets(data_dir):
    url = Settings.load(data_dir).platform_url
    intake.sync_findings(
        get_engine(url),
        dataset_id="household_registration",
        county_code="640521",
        department_id="public_security",
        period="2026-10",
        findings=[],
        passed_rule_ids=["household_registration.format.id_number"],
        checked_at=T0,
        due_policy=DuePolicy(),
    )
    run("report", "--data-dir", str(data_dir), "--department", "public_security")
    xlsx = data_dir / "reports" / "tickets" / "中宁县" / "公安局" / "质量工单.xlsx"
    rows = list(openpyxl.load_workbook(xlsx)["未关闭工单"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["工单编号", "本期无待处理问题"]


def test_report_for_unknown_department(data_dir):
    result = run("report", "--data-dir", str(data_dir), "--department", "tax_bureau")
    assert result.exit_code == 2
    assert "没有数源部门“tax_bureau”" in result.output and "public_security" in result.output
