"""Quality tickets in the platform records (SQLAlchemy Core on ``quality_tickets``): the store core.

The store loads tickets, applies the pure rules of :mod:`assets.tickets.rules` and writes them back,
one transaction per call. There is one ticket per (county, department, dataset, rule) for all time: a
unique constraint enforces it, and two checks racing to open the same ticket end with one ticket (the
loser retries and finds the winner's row). Tickets come in through :mod:`assets.tickets.intake` (findings
of checks, rejected files); notices to departments are recorded by :mod:`assets.tickets.deliveries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from assets.audit import log as audit
from assets.common.city import City
from assets.common.quality import Dimension
from assets.storage.tables import quality_ticket_counters, quality_tickets
from assets.tickets import rules
from assets.tickets.rules import HistoryEntry, Status, Ticket, TicketError

log = logging.getLogger(__name__)
T = TypeVar("T")

# audit actions of the people's steps on a ticket
AUDIT_ACKNOWLEDGE = "ticket_acknowledge"
AUDIT_CLAIM_FIXED = "ticket_claim_fixed"


class TicketNotFound(TicketError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"没有编号为 {ticket_id} 的质量工单")
        self.ticket_id = ticket_id


# --- rows ⇄ tickets ------------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """Stored as UTC; SQLite hands back naive datetimes, which are UTC here."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def to_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "county_code": ticket.county_code,
        "department_id": ticket.department_id,
        "dataset_id": ticket.dataset_id,
        "rule_id": ticket.rule_id,
        "origin": ticket.origin,
        "period": ticket.period,
        "checked_period": ticket.checked_period,
        "expectation": ticket.expectation,
        "columns": list(ticket.columns),
        "dimension": ticket.dimension.value,
        "severity": ticket.severity,
        "failed_count": ticket.failed_count,
        "total": ticket.total,
        "examples": [dict(e) for e in ticket.examples],
        "fix": ticket.fix,
        "first_seen": utc(ticket.first_seen),
        "last_seen": utc(ticket.last_seen),
        "status": ticket.status.value,
        "due_date": ticket.due_date,
        "escalated_at": utc_or_none(ticket.escalated_at),
        "closed_at": utc_or_none(ticket.closed_at),
        "notice_pending": ticket.notice_pending,
        "history": [entry.as_dict() for entry in ticket.history],
    }


def from_row(row: sa.Row[Any]) -> Ticket:
    m = row._mapping
    return Ticket(
        id=m["id"],
        county_code=m["county_code"],
        department_id=m["department_id"],
        dataset_id=m["dataset_id"],
        period=m["period"],
        checked_period=m["checked_period"],
        rule_id=m["rule_id"],
        origin=m["origin"],
        expectation=m["expectation"],
        columns=tuple(m["columns"]),
        dimension=Dimension(m["dimension"]),
        severity=m["severity"],
        failed_count=m["failed_count"],
        total=m["total"],
        examples=tuple(m["examples"]),
        fix=m["fix"],
        first_seen=utc(m["first_seen"]),
        last_seen=utc(m["last_seen"]),
        status=Status(m["status"]),
        due_date=m["due_date"],
        escalated_at=utc_or_none(m["escalated_at"]),
        closed_at=utc_or_none(m["closed_at"]),
        notice_pending=m["notice_pending"],
        history=tuple(HistoryEntry.from_dict(h) for h in m["history"]),
    )


# --- plumbing ------------------------------------------------------------------------------------


def next_ticket_id(connection: Connection, county_code: str) -> str:
    """The county's next running number; the upsert serializes concurrent writers on the row."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table = quality_ticket_counters
    statement = (
        dialect_insert(table)
        .values(county_code=county_code, last_number=1)
        .on_conflict_do_update(
            index_elements=[table.c.county_code],
            set_={"last_number": table.c.last_number + 1},
        )
        .returning(table.c.last_number)
    )
    number = connection.execute(statement).scalar_one()
    return rules.format_ticket_id(county_code, number)


def save(connection: Connection, before: Ticket | None, after: Ticket) -> None:
    if before is None:
        connection.execute(sa.insert(quality_tickets).values(**to_row(after)))
    elif after != before:
        row = to_row(after)
        del row["id"]
        connection.execute(
            sa.update(quality_tickets).where(quality_tickets.c.id == after.id).values(**row)
        )


def in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction; retry once when a concurrent writer opened the same ticket."""
    try:
        with engine.begin() as connection:
            return work(connection)
    except IntegrityError:
        log.info("a concurrent check opened the same quality ticket; retrying against its row")
        with engine.begin() as connection:
            return work(connection)


def select_for_update(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(quality_tickets).where(*conditions).with_for_update()


# --- what people call (CLI, reports, notifications) ----------------------------------------------


def get_ticket(engine: Engine, ticket_id: str) -> Ticket:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(quality_tickets).where(quality_tickets.c.id == ticket_id)
        ).first()
    if row is None:
        raise TicketNotFound(ticket_id)
    return from_row(row)


def list_tickets(
    engine: Engine,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    dataset_id: str | None = None,
    status: str | Status | None = None,
) -> list[Ticket]:
    """Tickets by due date; ``status`` is a status code or ``"open"`` for every open status."""
    t = quality_tickets
    conditions: list[sa.ColumnElement[bool]] = []
    if county_code:
        conditions.append(t.c.county_code == county_code)
    if department_id:
        conditions.append(t.c.department_id == department_id)
    if dataset_id:
        conditions.append(t.c.dataset_id == dataset_id)
    if status == "open":
        conditions.append(t.c.status != Status.CLOSED.value)
    elif status:
        try:
            conditions.append(t.c.status == Status(status).value)
        except ValueError:
            known = ", ".join(["open", *(s.value for s in Status)])
            raise TicketError(f"未知的工单状态 {status}（可选：{known}）") from None
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(t).where(*conditions).order_by(t.c.due_date, t.c.id)
        ).all()
    return [from_row(row) for row in rows]


def _change(
    engine: Engine,
    ticket_id: str,
    change: Callable[[Ticket], Ticket],
    *,
    action: str,
    by: str,
    role: str | None,
    comment: str,
    at: datetime,
) -> Ticket:
    """Apply a person's step to a ticket and audit it (who, which role) in the same transaction."""
    with engine.begin() as connection:
        row = connection.execute(select_for_update(quality_tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        before = from_row(row)
        after = change(before)
        save(connection, before, after)
        audit.record(
            connection,
            actor=by,
            role=role,
            action=action,
            target=f"tickets/{ticket_id}",
            reason=comment or None,
            detail={
                "county_code": after.county_code,
                "department_id": after.department_id,
                "dataset_id": after.dataset_id,
                "from": before.status.value,
                "to": after.status.value,
            },
            at=at,
        )
    return after


def acknowledge_ticket(
    engine: Engine,
    ticket_id: str,
    *,
    by: str,
    comment: str = "",
    at: datetime | None = None,
    role: str | None = None,
) -> Ticket:
    """The department has seen the ticket (new/reopened → acknowledged). ``by`` is the acting
    account's name and ``role`` its role (checked by the caller with ``assets.accounts``)."""
    moment = utc(at or datetime.now(UTC))
    return _change(
        engine,
        ticket_id,
        lambda t: rules.acknowledge(t, at=moment, by=by, comment=comment),
        action=AUDIT_ACKNOWLEDGE,
        by=by,
        role=role,
        comment=comment,
        at=moment,
    )


def claim_fixed(
    engine: Engine,
    ticket_id: str,
    *,
    by: str,
    comment: str,
    at: datetime | None = None,
    role: str | None = None,
) -> Ticket:
    """The department says it fixed the data; the next passing check closes the ticket."""
    moment = utc(at or datetime.now(UTC))
    return _change(
        engine,
        ticket_id,
        lambda t: rules.claim_fix(t, at=moment, by=by, comment=comment),
        action=AUDIT_CLAIM_FIXED,
        by=by,
        role=role,
        comment=comment,
        at=moment,
    )


def escalate_overdue(
    engine: Engine, today: date, *, city: City | None = None, at: datetime | None = None
) -> list[Ticket]:
    """Escalate every overdue open ticket (past its due date, still owed by the department) to its
    county data bureau, once; returns the tickets escalated now."""
    moment = utc(at or datetime.now(UTC))
    t = quality_tickets
    owed = [s.value for s in (Status.NEW, Status.ACKNOWLEDGED, Status.REOPENED)]

    def bureau(county_code: str) -> str:
        if city is not None:
            try:
                return city.county(county_code).data_bureau
            except KeyError:
                pass
        return f"县（区）数据局（{county_code}）"

    with engine.begin() as connection:
        rows = connection.execute(
            select_for_update(
                t.c.status.in_(owed), t.c.due_date < today, t.c.escalated_at.is_(None)
            ).order_by(t.c.id)
        ).all()
        escalated: list[Ticket] = []
        for before in map(from_row, rows):
            after = rules.escalate(before, at=moment, to=bureau(before.county_code))
            save(connection, before, after)
            escalated.append(after)
    if escalated:
        log.info("escalated %d overdue quality tickets", len(escalated))
    return escalated
