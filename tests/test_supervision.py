"""Supervision reports (issue 10): monthly and yearly Dagster assets writing HTML and XLSX whose figures
equal counts taken directly from the platform records, with the audit head, no personal data and every
cell neutralized; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa

from assets.audit import log as audit
from assets.common.workdays import DuePolicy
from assets.exchange.load import load_exchange_slice
from assets.operation.suspension import suspend_supply
from assets.security.incidents import open_incident
from assets.security.risk import record_assessment
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import (
    application_reviews,
    applications,
    catalog_registrations,
    export_requests,
    merchants,
    operation_publications,
    quality_tickets,
    release_register,
)
from assets.supervision.assets import supervision_assets
from assets.supervision.periods import parse_period
from assets.supervision.render import neutral_text
from assets.tickets import intake
from assets.tickets.rules import Finding
from tests.helpers import settings_for, slice_frame

OCT = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 China time
SEP = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
RAW_ID = "640502199001011234"
RAW_MOBILE = "13912345678"
RAW_CARD = "6222021234567890123"
PII = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9}|\d{16,19})(?!\d)")


def _ticket(engine, county, department, dataset, rule, at):
    intake.sync_findings(
        engine,
        dataset_id=dataset,
        county_code=county,
        department_id=department,
        period="2026-09",
        findings=[
            Finding(
                rule_id=rule,
                expectation="格式正确",
                columns=("id_number",),
                dimension="规范性",
                severity="高",
                failed_count=1,
                total=10,
                examples=({"source_row": 2, "value": "6405**********1234"},),
                fix="更正",
            )
        ],
        passed_rule_ids=(),
        checked_at=at,
        due_policy=DuePolicy(),
    )


def _seed(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as c:
        for county, dataset, dept, at in (
            ("640502", "medical_institutions", "health", SEP),
            ("640521", "medical_institutions", "health", SEP),
            ("640502", "household_registration", "public_security", SEP),
            (
                "640522",
                "household_registration",
                "public_security",
                datetime(2026, 11, 5, tzinfo=UTC),
            ),
        ):
            c.execute(
                catalog_registrations.insert().values(
                    county_code=county, dataset_id=dataset, department_id=dept,
                    content_hash="0" * 64, document={}, source=f"registry/{county}/{dataset}.yaml",
                    accepted_at=at,
                )
            )  # fmt: skip
        c.execute(
            merchants.insert(),
            [
                {
                    "merchant_id": mid, "name": name, "uscc": f"91640500MA{mid[-4:]}XXXX"[:18],
                    "contact_name": "张三", "contact_phone": RAW_MOBILE, "qualifications": [],
                    "status": status, "registered_by": "x", "registered_at": SEP,
                    "accepted_on": date(2026, 9, 10), "decided_by": "r", "decided_at": OCT,
                }
                for mid, name, status in (
                    ("M0001", "=HYPERLINK(\"http://x\")数据公司", "approved"),
                    ("M0002", "<script>alert(1)</script>科技", "approved"),
                    ("M0003", "未通过公司", "rejected"),
                )
            ],
        )  # fmt: skip

        def app(aid, status, submitted, compliance_at=None, decided_at=None):
            return {
                "application_id": aid, "merchant_id": "M0001",
                "scenario": f"联系 {RAW_MOBILE} 身份证 {RAW_ID}", "purpose": "p", "method": "sandbox",
                "period_start": date(2026, 10, 1), "period_end": date(2027, 9, 30),
                "safeguards": "s", "status": status, "submitted_by": "shop",
                "submitted_at": submitted, "submitted_on": submitted.date(),
                "compliance_by": "c" if compliance_at else None, "compliance_at": compliance_at,
                "compliance_on": compliance_at.date() if compliance_at else None,
                "decided_at": decided_at,
            }  # fmt: skip

        c.execute(
            applications.insert(),
            [
                app("A1", "approved", datetime(2026, 9, 28, 2, tzinfo=UTC), datetime(2026, 10, 9, 2, tzinfo=UTC), OCT),
                app("A2", "deemed_approved", datetime(2026, 10, 8, 2, tzinfo=UTC), datetime(2026, 10, 10, 2, tzinfo=UTC), datetime(2026, 10, 28, 2, tzinfo=UTC)),
                app("A3", "rejected", datetime(2026, 10, 9, 2, tzinfo=UTC), datetime(2026, 10, 27, 2, tzinfo=UTC), datetime(2026, 10, 30, 2, tzinfo=UTC)),
                app("A4", "submitted", datetime(2026, 10, 20, 2, tzinfo=UTC)),
                app("A5", "compliance_failed", datetime(2026, 8, 3, 2, tzinfo=UTC), datetime(2026, 8, 5, 2, tzinfo=UTC)),
            ],
        )  # fmt: skip

        def review(aid, dept, started, decision, decided_at):
            return {
                "application_id": aid, "reviewer": "department", "department_id": dept,
                "started_on": started, "working_days": 10, "extension_days": 0,
                "decision": decision, "decided_by": "d", "decided_at": decided_at,
            }  # fmt: skip

        c.execute(
            application_reviews.insert(),
            [
                review("A1", "health", date(2026, 10, 9), "approved", OCT),  # on time
                review("A2", "health", date(2026, 10, 10), "deemed_approved", datetime(2026, 10, 28, 2, tzinfo=UTC)),
                review("A3", "public_security", date(2026, 9, 1), "rejected", datetime(2026, 10, 30, 2, tzinfo=UTC)),  # late
            ],
        )  # fmt: skip
        c.execute(
            operation_publications.insert(),
            [
                {
                    "dataset_id": d, "table_name": f"op_{d}", "status": s, "rows": 5, "rows_in": 5,
                    "k": 5, "k_threshold": 5, "suppressed": 0, "key_id": None,
                    "quasi_identifiers": [], "transformations": [], "run_id": "r",
                    "updated_at": OCT,
                }
                for d, s in (("medical_institutions", "published"), ("market_entities", "resumed"),
                             ("household_registration", "prohibited"),
                             ("agricultural_subsidies", "published"))
            ],
        )  # fmt: skip
    with engine.begin() as c:  # two filings (one in September), one release in October
        for n, filed in ((1, OCT), (2, SEP)):
            c.execute(
                export_requests.insert().values(
                    export_id=f"E{n}", merchant_id="M0001", product_id="P1", application_id="A1",
                    recipient="r", source_kind="query", suppress=False, status="released",
                    checks=[], report={}, datasets={}, requested_by="shop", requested_at=SEP,
                    requested_on=SEP.date(), filed_by="chief", filed_at=filed, filing_no=f"BA-{n}",
                )
            )  # fmt: skip
        c.execute(
            release_register.insert().values(
                release_id="R1", export_id="E1", product_id="P1", application_id="A1",
                merchant_id="M0001", recipient="r", file_path="f", sm3="0" * 64, rows=3,
                datasets={}, approved_by="rev", filing_no="BA-1", filed_by="chief",
                use="public_good", price_fen=0, released_at=OCT,
            )
        )  # fmt: skip
    # tickets: two opened in October, one in September (closed in October, in time)
    _ticket(engine, "640502", "health", "medical_institutions", "r1", OCT)
    _ticket(engine, "640502", "health", "medical_institutions", "r2", OCT)
    _ticket(engine, "640521", "health", "medical_institutions", "r3", SEP)
    with engine.begin() as c:
        c.execute(
            quality_tickets.update()
            .where(quality_tickets.c.rule_id == "r3")
            .values(status="closed", closed_at=datetime(2026, 9, 14, 2, tzinfo=UTC), due_date=date(2026, 9, 17))
        )  # fmt: skip
        c.execute(
            quality_tickets.update()
            .where(quality_tickets.c.rule_id == "r1")
            .values(due_date=date(2026, 10, 19))  # open past its due date: overdue
        )
        c.execute(
            quality_tickets.update()
            .where(quality_tickets.c.rule_id == "r2")
            .values(status="closed", closed_at=datetime(2026, 10, 15, 2, tzinfo=UTC), due_date=date(2026, 10, 19))
        )  # fmt: skip
    # exchange data for medical institutions in 640502 (a quarter delivered on time)
    from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog

    entry = load_catalog(SHIPPED_CATALOG_DIR)["medical_institutions"]
    load_exchange_slice(
        engine, entry, slice_frame(entry, "640502", "2026-Q3", 3),
        county_code="640502", period="2026-Q3",
    )  # fmt: skip
    # incidents and risk
    open_incident(
        engine, engine, level="major", title=f"泄露 {RAW_CARD}", description="d",
        datasets=("market_entities",), actor="chief", role="bureau", at=OCT,
    )  # fmt: skip
    open_incident(
        engine, engine, level="general", title="小事", description="d", actor="chief",
        role="bureau", at=datetime(2026, 10, 20, tzinfo=UTC),
    )  # fmt: skip
    suspend_supply(engine, engine, dataset_id="medical_institutions", reason="r", actor="b", at=SEP)
    record_assessment(
        engine, subject_kind="dataset", subject_id="medical_institutions", risk_level="low",
        conclusion="acceptable", findings="ok", actor="c", role=None, at=OCT,
    )  # fmt: skip


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text(sql), params).scalar())


@pytest.fixture
def platform(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("PUBLICDATA_TODAY", "2026-11-28")
    settings = settings_for(tmp_path, db_url)
    ensure_platform_schema(settings.platform_url)
    _seed(settings.platform_url)
    return settings


def _materialize(settings, name: str, key: str) -> dg.MaterializeResult:
    asset = next(a for a in supervision_assets if a.key.path[-1] == name)
    result = dg.materialize(
        [asset], partition_key=key, resources={"platform": settings.platform_resource()}
    )
    assert result.success
    return result.asset_materializations_for_node(asset.node_def.name)[0]


def _sheet(path, name) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))


def _no_personal_data(*paths) -> None:
    for path in paths:
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            text = " ".join(str(v) for s in book for r in s.iter_rows(values_only=True) for v in r)
        else:
            text = path.read_text(encoding="utf-8")
        for raw in (RAW_ID, RAW_MOBILE, RAW_CARD, "张三"):
            assert raw not in text, (path, raw)
        assert not PII.search(text), (path, PII.search(text))


def test_department_notice_figures_equal_the_records(platform):
    engine = get_engine(platform.platform_url)
    event = _materialize(platform, "department_notice_monthly", "2026-10")
    target = platform.data_dir / "reports" / "supervision" / "department" / "2026-10"
    xlsx, html = target / "department_notice.xlsx", target / "department_notice.html"
    rows = {r[0]: r for r in _sheet(xlsx, "各数源部门")[1:]}
    health, police = rows["卫生健康委员会"], rows["公安局"]
    period = parse_period("2026-10")
    span = {"s": period.start_at, "e": period.end_at}
    # registrations accepted before the end of October
    assert (
        health[1]
        == _count(
            engine,
            "SELECT count(*) FROM catalog_registrations WHERE department_id='health' AND accepted_at < :e",
            **span,
        )
        == 2
    )
    assert police[1] == 1  # the November registration is not counted
    # mounted: only 640502 has medical data; on time: 2026-Q3 is the period due on 31 October
    assert (health[2], health[3]) == (1, 1)
    assert (
        health[4]
        == _count(
            engine,
            "SELECT count(*) FROM quality_tickets WHERE department_id='health' AND first_seen >= :s AND first_seen < :e",
            **span,
        )
        == 2
    )
    assert health[5] == 1  # r1: due 19 October, still open
    assert (health[6], health[7]) == (1, 1)  # r2 closed 15 October, in time
    assert health[8:] == (1, 1, 1)  # A1 decided on time; A2 deemed approved
    assert police[8:] == (1, 0, 0)  # A3 decided late
    detail = {(r[0], r[1]): r for r in _sheet(xlsx, "分县区")[1:]}
    assert detail[("沙坡头区卫生健康局", "沙坡头区")][2:5] == (1, 1, 1)
    assert detail[("中宁县卫生健康局", "中宁县")][2:5] == (1, 0, 0)
    head_seq, head_hash = audit.head(engine)
    notes = dict((r[0], r[1]) for r in _sheet(xlsx, "说明")[1:])
    assert notes["审计日志链头 SM3"] in html.read_text(encoding="utf-8")
    assert event.metadata["audit_head_hash"].value == notes["审计日志链头 SM3"]
    assert head_seq == notes["审计日志链头序号"] + 1  # the report itself is audited after
    assert audit.entries(engine, actions=("supervision_report",))[-1].detail["files_sm3"]
    _no_personal_data(xlsx, html)


def test_operator_report_and_disclosure(platform):
    engine = get_engine(platform.platform_url)
    _materialize(platform, "operator_report_monthly", "2026-10")
    target = platform.data_dir / "reports" / "supervision" / "operator" / "2026-10"
    xlsx = target / "operator_report.xlsx"
    values = dict((r[0], r[1]) for r in _sheet(xlsx, "运营情况")[1:])
    span = {"s": parse_period("2026-10").start_at, "e": parse_period("2026-10").end_at}
    assert (
        values["本期受理的数据使用申请"]
        == _count(
            engine,
            "SELECT count(*) FROM applications WHERE submitted_at >= :s AND submitted_at < :e",
            **span,
        )
        == 3
    )
    assert (
        values["本期审核通过"] == 1
        and values["本期视为同意"] == 1
        and values["本期审核未通过"] == 1
    )
    assert (
        values["本期完成合规核查的申请"] == 3 and values["其中在5个工作日内完成"] == 2
    )  # A3: 18 days
    # the two suspended ones are no longer supplied
    assert (
        values["向运营平台供给的数据集（当前）"]
        == _count(
            engine,
            "SELECT count(*) FROM operation_publications WHERE status IN ('published', 'resumed')",
        )
        == 1
    )
    assert (
        values["本期登记的安全事件"]
        == _count(
            engine,
            "SELECT count(*) FROM security_incidents WHERE opened_at >= :s AND opened_at < :e",
            **span,
        )
        == 2
    )
    assert values["其中重大"] == 1 and values["其中一般"] == 1
    assert values["本期暂停供给次数"] == 1  # the incident's; the September one is not in October
    assert values["暂停供给中的数据集（当前）"] == 2
    assert (
        values["本期备案的产品出域"]
        == _count(
            engine,
            "SELECT count(*) FROM export_requests WHERE filed_at >= :s AND filed_at < :e",
            **span,
        )
        == 1
    )
    assert values["本期出域发布"] == 1 and values["本期登记的数据产品"] == 0
    assert values["本期风险评估"] == 1
    disclosure = (target / "public_disclosure.html").read_text(encoding="utf-8")
    assert "授权运营情况" in disclosure and "本期出域发布" in disclosure
    _no_personal_data(xlsx, target / "operator_report.html", target / "public_disclosure.html")


def test_annual_evaluation_is_neutralized_and_ready_for_ratings(platform):
    with get_engine(platform.platform_url).begin() as c:  # move everything into 2025
        c.execute(sa.text("UPDATE applications SET submitted_at = submitted_at - interval '1 year'")
                  if platform.platform_url.startswith("postgresql") else
                  sa.text("UPDATE applications SET submitted_at = datetime(submitted_at, '-1 year')"))  # fmt: skip
    event = _materialize(platform, "annual_evaluation", "2025")
    target = platform.data_dir / "reports" / "supervision" / "annual" / "2025"
    xlsx, html = target / "annual_evaluation.xlsx", target / "annual_evaluation.html"
    indicators = {r[0]: r[2] for r in _sheet(xlsx, "评估指标")[1:]}
    assert indicators["applications_received"] == 5
    assert indicators["audit_log_intact"] == "是"
    ratings = _sheet(xlsx, "评价表")
    names = [r[2] for r in ratings[1:]]
    assert "卫生健康委员会" in names and "海原县数据局" in str(names) and "未通过公司" not in names
    cell = next(c for r in openpyxl.load_workbook(xlsx)["评价表"].iter_rows() for c in r
                if isinstance(c.value, str) and "HYPERLINK" in c.value)  # fmt: skip
    assert cell.data_type == "s" and cell.value.startswith("'=")
    page = html.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert event.metadata["figures"].value["applications_received"] == 5
    _no_personal_data(xlsx, html)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tA", "'\tA"),
        ("中", "中"),
    ],
)
def test_neutral_text(value, written):
    assert neutral_text(value) == written


def test_the_definitions_carry_the_reports_their_jobs_and_schedules():
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "supervision"}
    assert keys == {
        "supervision/department_notice_monthly",
        "supervision/department_notice_yearly",
        "supervision/operator_report_monthly",
        "supervision/operator_report_yearly",
        "supervision/annual_evaluation",
    }
    monthly = graph.get(dg.AssetKey(["supervision", "operator_report_monthly"])).partitions_def
    yearly = graph.get(dg.AssetKey(["supervision", "annual_evaluation"])).partitions_def
    assert "2025-12" in monthly.get_partition_keys() and "2025" in yearly.get_partition_keys()
    assert {s.name for s in defs.schedules if s.name.startswith("supervision")} == {
        "supervision_monthly_schedule",
        "supervision_yearly_schedule",
    }
