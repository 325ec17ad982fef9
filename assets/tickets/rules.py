"""Quality tickets (第十一条): the problems found in a county's delivery, addressed to the source
department that supplied it and followed until a later delivery proves them fixed.

Pure rules, no database and no Dagster: :mod:`assets.tickets.store` loads a :class:`Ticket`,
applies these functions and writes the result back.

Lifecycle (``TRANSITIONS``)::

    new ──acknowledge──▶ acknowledged ──claim_fix──▶ fix_claimed ──verify──▶ closed
     │                        │                          │                     │
     └──claim_fix / verify────┴──────── verify ──────────┤◀─────── reopen ─────┘
                                                         └──reopen──▶ reopened

- A claimed fix (``fix_claimed``) closes only when a later check of the rule passes (``verify``).
- A passing check also closes a ``new``/``acknowledged``/``reopened`` ticket as verified: the check
  proves the data the department delivered is now right, whether or not anyone claimed a fix. History
  records "本期检查通过" first, then the closing, so the record shows why it closed.
- A rule failing again on a ``closed`` ticket reopens that ticket (never a second ticket); failing again
  on a ``fix_claimed`` ticket reopens it too — the claim was checked and did not hold.
- A rule failing again on a ``new``/``acknowledged``/``reopened`` ticket only updates counts, period and
  last seen; the due date stays, so repeating a problem never buys more time.
- Escalation (to the county data bureau) is not a status: ``escalated_at`` is set once per opening.
  Reopening gives a new due date and clears it, so a relapse can be escalated again.
- Check results for a period older than the latest one checked are stale (a backfill running late) and
  change nothing.
- A data-quality ticket closes only on a passing delivery of its own county and period
  (``record_pass(same_period=True)``); timeliness and registration tickets, whose "period" is the
  day or period of the check, close on the next check that passes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from assets.common.quality import Dimension

SYSTEM_ACTOR = "质量检查"
MAX_EXAMPLES = 10


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    FIX_CLAIMED = "fix_claimed"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self is not Status.CLOSED


STATUS_LABELS: Mapping[Status, str] = {
    Status.NEW: "新建",
    Status.ACKNOWLEDGED: "已确认",
    Status.FIX_CLAIMED: "已申报整改",
    Status.CLOSED: "已关闭（复核通过）",
    Status.REOPENED: "重新打开",
}
OPEN_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s.is_open)


class Action(StrEnum):
    """What can happen to a ticket; the history records one of these per entry."""

    OPEN = "opened"
    UPDATE = "updated"
    ACKNOWLEDGE = "acknowledged"
    CLAIM_FIX = "fix_claimed"
    PASS = "passed"
    VERIFY = "verified"
    REOPEN = "reopened"
    ESCALATE = "escalated"
    NOTIFY = "notified"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: Mapping[Action, str] = {
    Action.OPEN: "新建工单",
    Action.UPDATE: "再次发现",
    Action.ACKNOWLEDGE: "确认",
    Action.CLAIM_FIX: "申报已整改",
    Action.PASS: "本期检查通过",
    Action.VERIFY: "复核通过，关闭",
    Action.REOPEN: "重新打开",
    Action.ESCALATE: "逾期升级",
    Action.NOTIFY: "已通知",
}

# (status, action) → status after. Actions absent for a status are illegal there.
TRANSITIONS: Mapping[tuple[Status, Action], Status] = {
    (Status.NEW, Action.ACKNOWLEDGE): Status.ACKNOWLEDGED,
    (Status.REOPENED, Action.ACKNOWLEDGE): Status.ACKNOWLEDGED,
    (Status.NEW, Action.CLAIM_FIX): Status.FIX_CLAIMED,
    (Status.ACKNOWLEDGED, Action.CLAIM_FIX): Status.FIX_CLAIMED,
    (Status.REOPENED, Action.CLAIM_FIX): Status.FIX_CLAIMED,
    (Status.NEW, Action.VERIFY): Status.CLOSED,
    (Status.ACKNOWLEDGED, Action.VERIFY): Status.CLOSED,
    (Status.REOPENED, Action.VERIFY): Status.CLOSED,
    (Status.FIX_CLAIMED, Action.VERIFY): Status.CLOSED,
    (Status.CLOSED, Action.REOPEN): Status.REOPENED,
    (Status.FIX_CLAIMED, Action.REOPEN): Status.REOPENED,
}
# Actions that record something without changing the status, and where they are allowed.
NOTES: Mapping[Action, frozenset[Status]] = {
    Action.UPDATE: frozenset(OPEN_STATUSES),
    Action.PASS: frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.REOPENED}),
    Action.ESCALATE: frozenset(OPEN_STATUSES),
    Action.NOTIFY: frozenset(Status),
}


class TicketError(ValueError):
    """A ticket operation that cannot be done; the message is for the person who asked."""


class IllegalTransition(TicketError):
    def __init__(self, ticket_id: str, status: Status, action: Action) -> None:
        allowed = "、".join(a.label for (s, a) in TRANSITIONS if s is status) or "无"
        super().__init__(
            f"工单 {ticket_id} 当前状态为「{status.label}」，不能执行「{action.label}」"
            f"（此状态下可执行：{allowed}）"
        )
        self.ticket_id = ticket_id
        self.status = status
        self.action = action


def next_status(status: Status, action: Action, *, ticket_id: str = "?") -> Status:
    """The status after ``action``; raises :class:`IllegalTransition` when not allowed."""
    if (status, action) in TRANSITIONS:
        return TRANSITIONS[(status, action)]
    if status in NOTES.get(action, ()):
        return status
    raise IllegalTransition(ticket_id, status, action)


# --- personal data never stored in the clear ------------------------------------------------------

_ID_LIKE = re.compile(r"(?<![0-9])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_LIKE = re.compile(r"(?<![0-9])1[3-9]\d{9}(?![0-9])")
_LONG_DIGITS = re.compile(r"(?<![0-9])\d{12,}(?![0-9])")


def _keep_ends(match: re.Match[str], head: int = 4, tail: int = 4) -> str:
    text = match[0]
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]


def scrub(text: str) -> str:
    """Mask anything in free text that looks like an ID number, a mobile phone or a card number.

    Examples arrive masked already; this is the second lock, for reasons, comments and values that
    were not (an ID number with a wrong check digit is still somebody's ID number).
    """
    text = _ID_LIKE.sub(_keep_ends, text)
    text = _MOBILE_LIKE.sub(lambda m: _keep_ends(m, 3, 4), text)
    return _LONG_DIGITS.sub(_keep_ends, text)


# --- findings and tickets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failing rule (expectation) in the validation of a (dataset, county, period) partition.

    ``columns`` are canonical catalog column names; ``examples`` are ``{"source_row": int | None,
    "value": str | None}`` with values already masked; ``fix`` tells the department how to fix it.
    """

    rule_id: str
    expectation: str
    columns: tuple[str, ...]
    dimension: Dimension
    severity: str
    failed_count: int
    total: int
    examples: tuple[Mapping[str, Any], ...] = ()
    fix: str = ""

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError("Finding.rule_id is empty")
        object.__setattr__(self, "dimension", Dimension(self.dimension))
        object.__setattr__(self, "columns", tuple(self.columns))
        if self.failed_count < 0 or self.total < 0:
            raise ValueError(f"negative counts in finding {self.rule_id}")
        object.__setattr__(self, "examples", tuple(clean_examples(self.examples)))
        object.__setattr__(self, "expectation", scrub(self.expectation))
        object.__setattr__(self, "fix", scrub(self.fix))


def clean_examples(examples: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """At most ``MAX_EXAMPLES`` examples as plain dicts, with values scrubbed."""
    cleaned: list[dict[str, Any]] = []
    for example in list(examples)[:MAX_EXAMPLES]:
        row = example.get("source_row")
        value = example.get("value")
        item: dict[str, Any] = {
            "source_row": None if row is None else int(row),
            "value": None if value is None else scrub(str(value)),
        }
        if example.get("column"):
            item["column"] = str(example["column"])
        cleaned.append(item)
    return cleaned


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: Action
    by: str
    comment: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "action": self.action.value,
            "by": self.by,
            "comment": self.comment,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            at=datetime.fromisoformat(raw["at"]),
            action=Action(raw["action"]),
            by=raw.get("by", ""),
            comment=raw.get("comment", ""),
        )


@dataclass(frozen=True)
class Ticket:
    id: str
    county_code: str
    department_id: str
    dataset_id: str
    period: str  # the latest period the problem was seen in
    checked_period: str  # the latest period the rule was checked in (pass or fail)
    rule_id: str
    origin: str  # "validation" | "ingest"
    expectation: str
    columns: tuple[str, ...]
    dimension: Dimension
    severity: str
    failed_count: int
    total: int
    examples: tuple[Mapping[str, Any], ...]
    fix: str
    first_seen: datetime
    last_seen: datetime
    status: Status
    due_date: date
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    notice_pending: str | None = None  # "new" | "reopened" | "escalated" until delivered
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def failed_ratio(self) -> float:
        return self.failed_count / self.total if self.total else 0.0

    def is_overdue(self, today: date) -> bool:
        """Past its due date while the department still owes a fix (a claimed fix awaits the next
        delivery's check, so it does not count as overdue)."""
        return self.status in (Status.NEW, Status.ACKNOWLEDGED, Status.REOPENED) and (
            today > self.due_date
        )

    def last(self, action: Action) -> HistoryEntry | None:
        for entry in reversed(self.history):
            if entry.action is action:
                return entry
        return None


ORIGIN_VALIDATION = "validation"
ORIGIN_INGEST = "ingest"


def format_ticket_id(county_code: str, number: int) -> str:
    """QT-640521-000123: county, then the county's running number."""
    return f"QT-{county_code}-{number:06d}"


def _record(
    ticket: Ticket,
    action: Action,
    *,
    at: datetime,
    by: str,
    comment: str = "",
    **changes: Any,
) -> Ticket:
    status = next_status(ticket.status, action, ticket_id=ticket.id)
    entry = HistoryEntry(at=at, action=action, by=scrub(by), comment=scrub(comment))
    return replace(ticket, status=status, history=(*ticket.history, entry), **changes)


def open_ticket(
    finding: Finding,
    *,
    ticket_id: str,
    county_code: str,
    department_id: str,
    dataset_id: str,
    period: str,
    at: datetime,
    due_date: date,
    origin: str = ORIGIN_VALIDATION,
) -> Ticket:
    return Ticket(
        id=ticket_id,
        county_code=county_code,
        department_id=department_id,
        dataset_id=dataset_id,
        period=period,
        checked_period=period,
        rule_id=finding.rule_id,
        origin=origin,
        expectation=finding.expectation,
        columns=finding.columns,
        dimension=finding.dimension,
        severity=finding.severity,
        failed_count=finding.failed_count,
        total=finding.total,
        examples=finding.examples,
        fix=finding.fix,
        first_seen=at,
        last_seen=at,
        status=Status.NEW,
        due_date=due_date,
        notice_pending="new",
        history=(
            HistoryEntry(
                at=at,
                action=Action.OPEN,
                by=SYSTEM_ACTOR,
                comment=f"{period} 期 {finding.failed_count}/{finding.total} 条不符合",
            ),
        ),
    )


def is_stale(ticket: Ticket, period: str) -> bool:
    """A result for a period older than the latest one checked (periods of one dataset sort as text)."""
    return period < ticket.checked_period


def record_finding(
    ticket: Ticket, finding: Finding, *, period: str, at: datetime, due_date: date
) -> Ticket:
    """The rule failed again. Reopens a closed or claimed-fixed ticket (new ``due_date``), otherwise
    updates counts, period and last seen. Returns ``ticket`` unchanged for a stale period or an exact
    repeat (same period, same counts), so re-running a check is idempotent."""
    if is_stale(ticket, period):
        return ticket
    facts = {
        "period": period,
        "checked_period": period,
        "expectation": finding.expectation,
        "columns": finding.columns,
        "dimension": finding.dimension,
        "severity": finding.severity,
        "failed_count": finding.failed_count,
        "total": finding.total,
        "examples": finding.examples,
        "fix": finding.fix or ticket.fix,
        "last_seen": at,
    }
    counts = f"{period} 期 {finding.failed_count}/{finding.total} 条不符合"
    claim = ticket.last(Action.CLAIM_FIX)
    claim_checked = ticket.status is Status.FIX_CLAIMED and claim is not None and at >= claim.at
    if ticket.status is Status.CLOSED or claim_checked:
        reason = "关闭后再次发现" if ticket.status is Status.CLOSED else "申报整改后复核仍不符合"
        return _record(
            ticket,
            Action.REOPEN,
            at=at,
            by=SYSTEM_ACTOR,
            comment=f"{reason}：{counts}",
            due_date=due_date,
            escalated_at=None,
            closed_at=None,
            notice_pending="reopened",
            **facts,
        )
    if (
        period == ticket.period
        and finding.failed_count == ticket.failed_count
        and finding.total == ticket.total
        and finding.expectation == ticket.expectation
    ):
        return replace(ticket, **{**facts, "last_seen": max(at, ticket.last_seen)})
    return _record(ticket, Action.UPDATE, at=at, by=SYSTEM_ACTOR, comment=counts, **facts)


def record_pass(
    ticket: Ticket, *, period: str, at: datetime, comment: str = "", same_period: bool = False
) -> Ticket:
    """The rule passed for ``period``: close the ticket as verified (see the module notes).
    A closed ticket or a stale period is returned unchanged; with ``same_period`` so is a pass of
    another period than the one the problem was seen in — a clean delivery of one period proves
    nothing about the defective rows of another, which are still in the exchange table."""
    if not ticket.is_open or is_stale(ticket, period):
        return ticket
    if same_period and period != ticket.period:
        return ticket
    note = comment or f"{period} 期检查通过"
    if ticket.status is not Status.FIX_CLAIMED:
        ticket = _record(ticket, Action.PASS, at=at, by=SYSTEM_ACTOR, comment=note)
        note = "本期检查通过，问题已不再出现"
    return _record(
        ticket,
        Action.VERIFY,
        at=at,
        by=SYSTEM_ACTOR,
        comment=note,
        checked_period=period,
        closed_at=at,
        notice_pending=None,
    )


def acknowledge(ticket: Ticket, *, at: datetime, by: str, comment: str = "") -> Ticket:
    return _record(ticket, Action.ACKNOWLEDGE, at=at, by=by, comment=comment)


def claim_fix(ticket: Ticket, *, at: datetime, by: str, comment: str) -> Ticket:
    if not comment.strip():
        raise TicketError(f"工单 {ticket.id}：申报整改须说明整改内容（--comment）")
    return _record(ticket, Action.CLAIM_FIX, at=at, by=by, comment=comment)


def escalate(ticket: Ticket, *, at: datetime, to: str) -> Ticket:
    """Escalate once per opening; an already escalated ticket is illegal to escalate again."""
    if ticket.escalated_at is not None:
        raise TicketError(f"工单 {ticket.id} 已于 {ticket.escalated_at:%Y-%m-%d} 升级")
    return _record(
        ticket,
        Action.ESCALATE,
        at=at,
        by=SYSTEM_ACTOR,
        comment=f"超过整改期限 {ticket.due_date.isoformat()}，已升级至{to}",
        escalated_at=at,
        notice_pending="escalated",
    )


def record_notified(ticket: Ticket, *, at: datetime, comment: str) -> Ticket:
    return _record(
        ticket, Action.NOTIFY, at=at, by=SYSTEM_ACTOR, comment=comment, notice_pending=None
    )
