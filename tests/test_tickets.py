"""The ticket lifecycle as pure functions: transitions, repeats, passes, escalation, scrubbing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from assets.common.quality import Dimension
from assets.tickets import rules
from assets.tickets.rules import (
    MAX_EXAMPLES,
    TRANSITIONS,
    Action,
    Finding,
    IllegalTransition,
    Status,
    TicketError,
    next_status,
    scrub,
)

T0 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)


def finding(failed: int = 3, total: int = 100, **overrides) -> Finding:
    values = {
        "rule_id": "household_registration.format.id_number",
        "expectation": "公民身份号码符合 GB 11643",
        "columns": ("id_number",),
        "dimension": "规范性",
        "severity": "高",
        "failed_count": failed,
        "total": total,
        "examples": ({"source_row": 7, "value": "6405**********0018"},),
        "fix": "请对照居民身份证原件核对号码。",
    }
    values.update(overrides)
    return Finding(**values)


def opened(period: str = "2026-09", at: datetime = T0):
    return rules.open_ticket(
        finding(),
        ticket_id="QT-640521-000001",
        county_code="640521",
        department_id="public_security",
        dataset_id="household_registration",
        period=period,
        at=at,
        due_date=date(2026, 10, 19),
    )


def test_open_ticket_starts_new_with_history_and_pending_notice():
    ticket = opened()
    assert ticket.status is Status.NEW
    assert ticket.dimension is Dimension.CONFORMITY
    assert ticket.first_seen == ticket.last_seen == T0
    assert ticket.notice_pending == "new"
    assert [h.action for h in ticket.history] == [Action.OPEN]
    assert "3/100" in ticket.history[0].comment


LEGAL = sorted((s.value, a.value, after.value) for (s, a), after in TRANSITIONS.items())


@pytest.mark.parametrize(("status", "action", "after"), LEGAL)
def test_legal_transitions(status, action, after):
    assert next_status(Status(status), Action(action)) is Status(after)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.CLOSED, Action.ACKNOWLEDGE),
        (Status.CLOSED, Action.CLAIM_FIX),
        (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE),
        (Status.FIX_CLAIMED, Action.ACKNOWLEDGE),
        (Status.FIX_CLAIMED, Action.CLAIM_FIX),
        (Status.NEW, Action.REOPEN),
        (Status.CLOSED, Action.VERIFY),
        (Status.CLOSED, Action.ESCALATE),
        (Status.FIX_CLAIMED, Action.PASS),
    ],
)
def test_illegal_transitions_raise_a_clear_error(status, action):
    with pytest.raises(IllegalTransition) as caught:
        next_status(status, action, ticket_id="QT-640521-000009")
    message = str(caught.value)
    assert "QT-640521-000009" in message
    assert status.label in message and action.label in message


def test_acknowledge_then_claim_fix_then_passing_check_closes_verified():
    ticket = opened()
    ticket = rules.acknowledge(ticket, at=T0 + timedelta(hours=1), by="张科长")
    assert ticket.status is Status.ACKNOWLEDGED
    ticket = rules.claim_fix(ticket, at=T0 + timedelta(days=1), by="张科长", comment="已更正7行")
    assert ticket.status is Status.FIX_CLAIMED
    ticket = rules.record_pass(ticket, period="2026-10", at=T0 + timedelta(days=3))
    assert ticket.status is Status.CLOSED
    assert ticket.closed_at == T0 + timedelta(days=3)
    assert ticket.checked_period == "2026-10"
    assert [h.action for h in ticket.history][-1] is Action.VERIFY
    assert Action.PASS not in [h.action for h in ticket.history]


@pytest.mark.parametrize("status", [Status.NEW, Status.ACKNOWLEDGED])
def test_passing_check_on_unclaimed_ticket_notes_the_pass_then_closes(status):
    ticket = opened()
    if status is Status.ACKNOWLEDGED:
        ticket = rules.acknowledge(ticket, at=T0, by="x")
    ticket = rules.record_pass(ticket, period="2026-10", at=T0 + timedelta(days=2))
    assert ticket.status is Status.CLOSED
    assert [h.action for h in ticket.history][-2:] == [Action.PASS, Action.VERIFY]
    assert "本期检查通过" in ticket.history[-1].comment
    assert ticket.notice_pending is None


def test_claim_fix_needs_a_comment():
    with pytest.raises(TicketError, match="--comment"):
        rules.claim_fix(opened(), at=T0, by="x", comment="  ")


def test_repeat_finding_updates_counts_but_keeps_due_date():
    ticket = opened()
    later = T0 + timedelta(days=30)
    again = rules.record_finding(
        ticket, finding(failed=5), period="2026-10", at=later, due_date=date(2026, 11, 20)
    )
    assert again.status is Status.NEW
    assert (again.failed_count, again.period, again.last_seen) == (5, "2026-10", later)
    assert again.first_seen == T0
    assert again.due_date == ticket.due_date
    assert again.history[-1].action is Action.UPDATE


def test_exact_repeat_is_idempotent():
    ticket = opened()
    again = rules.record_finding(
        ticket, finding(), period="2026-09", at=T0 + timedelta(minutes=5), due_date=date(2027, 1, 1)
    )
    assert again.history == ticket.history
    assert again.status is Status.NEW
    assert again.last_seen == T0 + timedelta(minutes=5)


def test_failing_again_after_close_reopens_with_a_new_due_date():
    closed = rules.record_pass(opened(), period="2026-10", at=T0 + timedelta(days=1))
    assert closed.status is Status.CLOSED
    assert rules.record_pass(closed, period="2026-10", at=T0 + timedelta(days=2)) is closed

    reopened = rules.record_finding(
        closed, finding(), period="2026-11", at=T0 + timedelta(days=31), due_date=date(2026, 11, 19)
    )
    assert reopened.status is Status.REOPENED
    assert reopened.id == closed.id
    assert reopened.due_date == date(2026, 11, 19)
    assert reopened.closed_at is None
    assert reopened.notice_pending == "reopened"
    assert "关闭后再次发现" in reopened.history[-1].comment

    escalated = rules.escalate(reopened, at=T0 + timedelta(days=45), to="中宁县数据局")
    closed_again = rules.record_pass(escalated, period="2026-12", at=T0 + timedelta(days=60))
    relapse = rules.record_finding(
        closed_again,
        finding(),
        period="2027-01",
        at=T0 + timedelta(days=90),
        due_date=date(2027, 1, 20),
    )
    assert relapse.status is Status.REOPENED
    assert relapse.escalated_at is None  # a relapse can be escalated again
    assert [h.action for h in relapse.history].count(Action.REOPEN) == 2


def test_failing_after_a_claimed_fix_reopens():
    ticket = rules.claim_fix(opened(), at=T0 + timedelta(days=1), by="x", comment="已改")
    again = rules.record_finding(
        ticket, finding(), period="2026-10", at=T0 + timedelta(days=5), due_date=date(2026, 10, 26)
    )
    assert again.status is Status.REOPENED
    assert "申报整改后复核仍不符合" in again.history[-1].comment


def test_stale_period_changes_nothing():
    ticket = rules.record_finding(
        opened(), finding(failed=9), period="2026-11", at=T0, due_date=date(2026, 12, 1)
    )
    assert rules.record_pass(ticket, period="2026-10", at=T0 + timedelta(days=1)) is ticket
    stale = rules.record_finding(
        ticket, finding(failed=1), period="2026-08", at=T0, due_date=date(2026, 12, 1)
    )
    assert stale is ticket


def test_escalate_once_and_overdue_rules():
    ticket = opened()
    assert not ticket.is_overdue(ticket.due_date)
    assert ticket.is_overdue(ticket.due_date + timedelta(days=1))
    escalated = rules.escalate(ticket, at=T0 + timedelta(days=10), to="中宁县数据局")
    assert escalated.status is Status.NEW
    assert escalated.notice_pending == "escalated"
    assert "中宁县数据局" in escalated.history[-1].comment
    with pytest.raises(TicketError, match="已于"):
        rules.escalate(escalated, at=T0 + timedelta(days=11), to="中宁县数据局")
    claimed = rules.claim_fix(ticket, at=T0, by="x", comment="已改")
    assert not claimed.is_overdue(ticket.due_date + timedelta(days=30))


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("640521199001011234", "6405**********1234"),
        ("身份证64052119900101123X有误", "身份证6405**********123X有误"),
        ("电话13812345678", "电话138****5678"),
        ("卡号6222021234567890123", "卡号6222***********0123"),
        ("6405**********0018", "6405**********0018"),
        ("2026-10-12 第7行", "2026-10-12 第7行"),
        ("20261012", "20261012"),
    ],
)
def test_scrub_masks_identifiers_in_free_text(raw, masked):
    assert scrub(raw) == masked


def test_finding_scrubs_and_caps_examples():
    raw = [{"source_row": i + 2, "value": f"64052119900101{i:04d}"} for i in range(25)]
    f = finding(examples=raw)
    assert len(f.examples) == MAX_EXAMPLES
    assert f.examples[0] == {"source_row": 2, "value": "6405**********0000"}
    assert all("19900101" not in e["value"] for e in f.examples)


def test_finding_refuses_unknown_dimension():
    with pytest.raises(ValueError):
        finding(dimension="好看性")


def test_history_round_trips_through_dicts():
    ticket = rules.acknowledge(opened(), at=T0, by="李四", comment="收到")
    restored = tuple(rules.HistoryEntry.from_dict(h.as_dict()) for h in ticket.history)
    assert restored == ticket.history
