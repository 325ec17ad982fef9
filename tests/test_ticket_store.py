"""The ticket store on SQLite and PostgreSQL: no duplicates, reopen, verify, file rejections,
escalation, racing writers, and no raw personal data in the table."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from assets.common.quality import Dimension
from assets.common.workdays import DuePolicy
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import quality_tickets
from assets.tickets import intake
from assets.tickets import store as store
from assets.tickets.rules import Action, Finding, IllegalTransition, Status

T0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in China, Monday
POLICY = DuePolicy()
PARTITION = {
    "dataset_id": "household_registration",
    "county_code": "640521",
    "department_id": "public_security",
}
ID_RULE = "household_registration.format.id_number"
PHONE_RULE = "household_registration.format.phone"
GENDER_RULE = "household_registration.id_gender.id_number+gender"


def finding(rule_id: str = ID_RULE, failed: int = 4, total: int = 200, **extra) -> Finding:
    values = {
        "rule_id": rule_id,
        "expectation": f"{rule_id} 校验",
        "columns": tuple(rule_id.split(".")[-1].split("+")),
        "dimension": "规范性",
        "severity": "高",
        "failed_count": failed,
        "total": total,
        "examples": ({"source_row": 12, "value": "6405**********0018"},),
        "fix": "请核对后更正。",
    }
    values.update(extra)
    return Finding(**values)


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def sync(engine, period, findings, passed=(), at=T0, **partition):
    return intake.sync_findings(
        engine,
        **{**PARTITION, **partition},
        period=period,
        findings=findings,
        passed_rule_ids=passed,
        checked_at=at,
        due_policy=POLICY,
    )


def row_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(quality_tickets)).scalar()


def test_findings_open_tickets_with_readable_ids_per_county(engine):
    result = sync(engine, "2026-09", [finding(ID_RULE), finding(PHONE_RULE, severity="低")])
    assert result.opened == ("QT-640521-000001", "QT-640521-000002")
    other = sync(engine, "2026-09", [finding(ID_RULE)], county_code="640522")
    assert other.opened == ("QT-640522-000001",)

    ticket = store.get_ticket(engine, "QT-640521-000001")
    assert ticket.status is Status.NEW
    assert ticket.columns == ("id_number",)
    assert ticket.dimension is Dimension.CONFORMITY
    assert (ticket.failed_count, ticket.total, ticket.period) == (4, 200, "2026-09")
    assert ticket.first_seen == T0
    assert ticket.due_date == date(2026, 10, 19)  # five working days after Monday 12 October
    assert ticket.examples == ({"source_row": 12, "value": "6405**********0018"},)
    assert ticket.notice_pending == "new"


def test_rerun_opens_no_duplicate_and_repeat_updates(engine):
    sync(engine, "2026-09", [finding()])
    rerun = sync(engine, "2026-09", [finding()], at=T0 + timedelta(minutes=3))
    assert rerun.opened == () and rerun.unchanged == ("QT-640521-000001",)
    later = T0 + timedelta(days=31)
    repeat = sync(engine, "2026-10", [finding(failed=9)], at=later)
    assert repeat.updated == ("QT-640521-000001",)
    assert row_count(engine) == 1
    ticket = store.get_ticket(engine, "QT-640521-000001")
    assert (ticket.failed_count, ticket.period, ticket.last_seen) == (9, "2026-10", later)
    assert ticket.due_date == date(2026, 10, 19)
    assert [h.action for h in ticket.history] == [Action.OPEN, Action.UPDATE]


def test_pass_closes_and_relapse_reopens_the_same_ticket(engine):
    sync(engine, "2026-09", [finding(ID_RULE), finding(PHONE_RULE)])
    result = sync(
        engine,
        "2026-10",
        [finding(PHONE_RULE)],
        passed=[ID_RULE, GENDER_RULE],
        at=T0 + timedelta(1),
    )
    assert result.closed == ("QT-640521-000001",)
    closed = store.get_ticket(engine, "QT-640521-000001")
    assert closed.status is Status.CLOSED
    assert any(h.comment == "2026-10 期检查通过" for h in closed.history)
    assert closed.history[-1].action is Action.VERIFY

    relapse = sync(engine, "2026-11", [finding(ID_RULE, failed=2)], at=T0 + timedelta(days=40))
    assert relapse.reopened == ("QT-640521-000001",) and relapse.opened == ()
    reopened = store.get_ticket(engine, "QT-640521-000001")
    assert reopened.status is Status.REOPENED
    assert reopened.due_date == date(2026, 11, 27)  # from the relapse's check date (21 November)
    assert reopened.history[-1].action is Action.REOPEN
    assert row_count(engine) == 2


def test_claimed_fix_closes_only_when_a_later_check_passes(engine):
    sync(engine, "2026-09", [finding()])
    store.acknowledge_ticket(engine, "QT-640521-000001", by="王科员", at=T0 + timedelta(hours=2))
    claimed = store.claim_fixed(
        engine, "QT-640521-000001", by="王科员", comment="已在户籍系统更正", at=T0 + timedelta(1)
    )
    assert claimed.status is Status.FIX_CLAIMED
    assert sync(engine, "2026-10", [], passed=[PHONE_RULE]).closed == ()
    assert store.get_ticket(engine, "QT-640521-000001").status is Status.FIX_CLAIMED
    sync(engine, "2026-10", [], passed=[ID_RULE], at=T0 + timedelta(days=20))
    verified = store.get_ticket(engine, "QT-640521-000001")
    assert verified.status is Status.CLOSED
    assert [h.action for h in verified.history] == [
        Action.OPEN,
        Action.ACKNOWLEDGE,
        Action.CLAIM_FIX,
        Action.VERIFY,
    ]
    assert verified.history[2].by == "王科员"


def test_illegal_transition_and_unknown_ticket(engine):
    sync(engine, "2026-09", [finding()])
    store.acknowledge_ticket(engine, "QT-640521-000001", by="x")
    with pytest.raises(IllegalTransition, match="已确认"):
        store.acknowledge_ticket(engine, "QT-640521-000001", by="x")
    with pytest.raises(store.TicketNotFound, match="QT-640521-999999"):
        store.claim_fixed(engine, "QT-640521-999999", by="x", comment="y")
    assert store.get_ticket(engine, "QT-640521-000001").status is Status.ACKNOWLEDGED


def test_list_filters(engine):
    sync(engine, "2026-09", [finding(ID_RULE), finding(PHONE_RULE)])
    sync(engine, "2026-09", [finding(ID_RULE)], county_code="640522")
    sync(
        engine,
        "2026-Q3",
        [finding("medical_institutions.format.uscc")],
        dataset_id="medical_institutions",
        department_id="health",
    )
    store.acknowledge_ticket(engine, "QT-640521-000002", by="x")
    assert len(store.list_tickets(engine)) == 4
    assert [t.id for t in store.list_tickets(engine, county_code="640522")] == ["QT-640522-000001"]
    assert len(store.list_tickets(engine, department_id="health")) == 1
    assert [t.id for t in store.list_tickets(engine, status="acknowledged")] == ["QT-640521-000002"]
    assert len(store.list_tickets(engine, status="open")) == 4
    with pytest.raises(store.TicketError, match="未知的工单状态"):
        store.list_tickets(engine, status="done")


@pytest.mark.parametrize(
    ("reason_code", "dimension"),
    [
        ("encoding", Dimension.ACCESSIBILITY),
        ("corrupt", Dimension.ACCESSIBILITY),
        ("truncated", Dimension.ACCESSIBILITY),
        ("empty_file", Dimension.ACCESSIBILITY),
        ("header", Dimension.CONFORMITY),
        ("missing_column", Dimension.CONFORMITY),
    ],
)
def test_rejection_dimensions(reason_code, dimension):
    assert intake.rejection_dimension(reason_code) is dimension


def test_file_rejection_ticket_lifecycle(engine):
    common = {**PARTITION, "period": "2026-10", "due_policy": POLICY}
    first = intake.open_file_rejection_ticket(
        engine,
        **common,
        reason_code="encoding",
        reason="无法按 UTF-8/GB18030 解码",
        checked_at=T0,
        relative_path="landing/640521/household_registration/2026-10.csv",
    )
    assert first.dimension is Dimension.ACCESSIBILITY
    assert first.origin == "ingest"
    assert "encoding" in first.expectation
    second = intake.open_file_rejection_ticket(
        engine,
        **common,
        reason_code="missing_column",
        reason="缺少必填信息项 公民身份号码（表头第3列附近: 640521199001011234）",
        checked_at=T0 + timedelta(days=1),
    )
    assert second.id == first.id
    assert second.dimension is Dimension.CONFORMITY
    assert "640521199001011234" not in second.expectation
    assert "6405**********1234" in second.expectation
    assert second.history[-1].action is Action.UPDATE

    assert (
        intake.close_file_rejection_tickets(
            engine,
            dataset_id="household_registration",
            county_code="640521",
            period="2026-09",
            loaded_at=T0 + timedelta(days=2),
        )
        == []
    )
    closed = intake.close_file_rejection_tickets(
        engine,
        dataset_id="household_registration",
        county_code="640521",
        period="2026-10",
        loaded_at=T0 + timedelta(days=2),
    )
    assert [t.id for t in closed] == [first.id]
    assert store.get_ticket(engine, first.id).status is Status.CLOSED


def test_escalate_overdue_once_to_the_county_bureau(engine, city):
    sync(engine, "2026-09", [finding(ID_RULE), finding(PHONE_RULE)])
    store.claim_fixed(engine, "QT-640521-000002", by="x", comment="已改", at=T0)
    assert store.escalate_overdue(engine, date(2026, 10, 19), city=city) == []  # due that day
    escalated = store.escalate_overdue(engine, date(2026, 10, 20), city=city, at=T0 + timedelta(8))
    assert [t.id for t in escalated] == ["QT-640521-000001"]  # the claimed fix is not owed
    ticket = store.get_ticket(engine, "QT-640521-000001")
    assert ticket.escalated_at == T0 + timedelta(8)
    assert ticket.notice_pending == "escalated"
    assert ticket.history[-1].action is Action.ESCALATE
    assert "中宁县数据局" in ticket.history[-1].comment
    assert store.escalate_overdue(engine, date(2026, 10, 30), city=city) == []


def test_racing_checks_open_one_ticket(engine):
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            sync(engine, "2026-09", [finding(failed=4 + i)], at=T0 + timedelta(seconds=i))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert row_count(engine) == 1
    assert store.get_ticket(engine, "QT-640521-000001").rule_id == ID_RULE


RAW_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
RAW_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def test_no_raw_identifiers_reach_the_table(engine):
    leaky = finding(
        examples=(
            {"source_row": 3, "value": "640521199001011234"},
            {"source_row": 4, "value": "13812345678"},
        ),
        expectation="公民身份号码 640521199001011235 与性别不一致",
    )
    sync(engine, "2026-09", [leaky])
    store.acknowledge_ticket(engine, "QT-640521-000001", by="x", comment="回电 13900001111")
    with engine.connect() as connection:
        dump = " ".join(
            str(v) for row in connection.execute(sa.select(quality_tickets)) for v in row
        )
    assert not RAW_ID.search(dump), dump
    assert not RAW_PHONE.search(dump), dump
    assert "138****5678" in dump
