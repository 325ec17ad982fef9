"""Quality tickets in the platform records (SQLAlchemy Core on ``quality_tickets``).

The store loads tickets, applies the pure rules of :mod:`assets.tickets.rules` and writes them back,
one transaction per call. There is one ticket per (county, department, dataset, rule) for all time: a
unique constraint enforces it, and two checks racing to open the same ticket end with one ticket (the
loser retries and finds the winner's row).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from assets.audit import log as audit
from assets.common.city import City
from assets.common.workdays import DuePolicy
from assets.storage.tables import (
    quality_ticket_counters,
    quality_ticket_deliveries,
    quality_tickets,
)
from assets.tickets import rules
from assets.tickets.rules import (
    ORIGIN_INGEST,
    ORIGIN_VALIDATION,
    Dimension,
    Finding,
    HistoryEntry,
    Status,
    Ticket,
    TicketError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

FILE_REJECTION_RULE_PREFIX = "ingest.file_rejected."

# audit actions of the people's steps on a ticket
AUDIT_ACKNOWLEDGE = "ticket_acknowledge"
AUDIT_CLAIM_FIXED = "ticket_claim_fixed"

# Reason codes of a rejected landing file (FileRejected in assets.landing.rejections) → GB/T 36344
# dimension: a file nobody can read fails 可访问性; one that reads but does not match the catalog's
# header fails 规范性.
REJECTION_DIMENSIONS: dict[str, Dimension] = {
    "empty_file": Dimension.ACCESSIBILITY,
    "encoding": Dimension.ACCESSIBILITY,
    "truncated": Dimension.ACCESSIBILITY,
    "corrupt": Dimension.ACCESSIBILITY,
    "unreadable": Dimension.ACCESSIBILITY,
    "header": Dimension.CONFORMITY,
    "missing_column": Dimension.CONFORMITY,
    "duplicate_column": Dimension.CONFORMITY,
}
REJECTION_FIXES: dict[Dimension, str] = {
    Dimension.ACCESSIBILITY: (
        "文件无法被完整读取。请从业务系统重新导出完整文件（CSV 请使用 UTF-8 或 GB18030 编码，"
        "Excel 请另存为 .xlsx），确认能正常打开后重新报送本期数据。"
    ),
    Dimension.CONFORMITY: (
        "文件表头与资源目录不一致。请按目录中的信息项名称填写表头（第 1 行），"
        "补齐全部必填信息项后重新报送本期数据。"
    ),
}


class TicketNotFound(TicketError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"没有编号为 {ticket_id} 的质量工单")
        self.ticket_id = ticket_id


@dataclass(frozen=True)
class SyncResult:
    """Ticket ids by what one check did to them."""

    opened: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    tickets: tuple[Ticket, ...] = field(default=(), repr=False)

    @property
    def open_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tickets if t.is_open)


# --- rows ⇄ tickets ------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """Stored as UTC; SQLite hands back naive datetimes, which are UTC here."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _to_row(ticket: Ticket) -> dict[str, Any]:
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
        "first_seen": _utc(ticket.first_seen),
        "last_seen": _utc(ticket.last_seen),
        "status": ticket.status.value,
        "due_date": ticket.due_date,
        "escalated_at": _utc_or_none(ticket.escalated_at),
        "closed_at": _utc_or_none(ticket.closed_at),
        "notice_pending": ticket.notice_pending,
        "history": [entry.as_dict() for entry in ticket.history],
    }


def _from_row(row: sa.Row[Any]) -> Ticket:
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
        first_seen=_utc(m["first_seen"]),
        last_seen=_utc(m["last_seen"]),
        status=Status(m["status"]),
        due_date=m["due_date"],
        escalated_at=_utc_or_none(m["escalated_at"]),
        closed_at=_utc_or_none(m["closed_at"]),
        notice_pending=m["notice_pending"],
        history=tuple(HistoryEntry.from_dict(h) for h in m["history"]),
    )


# --- plumbing ------------------------------------------------------------------------------------


def _next_ticket_id(connection: Connection, county_code: str) -> str:
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


def _save(connection: Connection, before: Ticket | None, after: Ticket) -> None:
    if before is None:
        connection.execute(sa.insert(quality_tickets).values(**_to_row(after)))
    elif after != before:
        row = _to_row(after)
        del row["id"]
        connection.execute(
            sa.update(quality_tickets).where(quality_tickets.c.id == after.id).values(**row)
        )


def _in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction; retry once when a concurrent writer opened the same ticket."""
    try:
        with engine.begin() as connection:
            return work(connection)
    except IntegrityError:
        log.info("a concurrent check opened the same quality ticket; retrying against its row")
        with engine.begin() as connection:
            return work(connection)


def _select_for_update(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(quality_tickets).where(*conditions).with_for_update()


# --- what the checks call ------------------------------------------------------------------------


def sync_findings(
    engine: Engine,
    *,
    dataset_id: str,
    county_code: str,
    department_id: str,
    period: str,
    findings: Sequence[Finding],
    passed_rule_ids: Collection[str],
    checked_at: datetime,
    due_policy: DuePolicy,
) -> SyncResult:
    """Bring the tickets of one (dataset, county) up to date with one validation of ``period``.

    Each finding opens a ticket, updates the open one, or reopens the closed one; each rule in
    ``passed_rule_ids`` closes its open ticket as verified. Rules in neither are left alone.
    """
    failing = [f.rule_id for f in findings]
    if len(set(failing)) != len(failing):
        raise ValueError(f"duplicate rule ids in findings: {sorted(failing)}")
    both = set(failing) & set(passed_rule_ids)
    if both:
        raise ValueError(f"rules both failing and passing: {sorted(both)}")
    checked_at = _utc(checked_at)

    def work(connection: Connection) -> SyncResult:
        rule_ids = set(failing) | set(passed_rule_ids)
        existing: dict[str, Ticket] = {}
        if rule_ids:
            rows = connection.execute(
                _select_for_update(
                    quality_tickets.c.county_code == county_code,
                    quality_tickets.c.department_id == department_id,
                    quality_tickets.c.dataset_id == dataset_id,
                    quality_tickets.c.rule_id.in_(sorted(rule_ids)),
                )
            ).all()
            existing = {t.rule_id: t for t in map(_from_row, rows)}
        outcome: dict[str, list[str]] = {k: [] for k in ("opened", "updated", "reopened", "closed")}
        unchanged: list[str] = []
        touched: list[Ticket] = []
        for finding in findings:
            before = existing.get(finding.rule_id)
            after = _apply_finding(
                connection,
                before,
                finding,
                county_code=county_code,
                department_id=department_id,
                dataset_id=dataset_id,
                period=period,
                at=checked_at,
                due_policy=due_policy,
                origin=ORIGIN_VALIDATION,
            )
            _save(connection, before, after)
            _classify(before, after, outcome, unchanged)
            touched.append(after)
        for rule_id in sorted(set(passed_rule_ids)):
            before = existing.get(rule_id)
            if before is None:
                continue
            after = rules.record_pass(before, period=period, at=checked_at)
            _save(connection, before, after)
            _classify(before, after, outcome, unchanged)
            touched.append(after)
        return SyncResult(
            **{k: tuple(v) for k, v in outcome.items()},
            unchanged=tuple(unchanged),
            tickets=tuple(touched),
        )

    result = _in_transaction(engine, work)
    if result.opened or result.reopened or result.closed:
        log.info(
            "quality tickets %s %s %s: opened %d, reopened %d, updated %d, closed %d",
            dataset_id,
            county_code,
            period,
            len(result.opened),
            len(result.reopened),
            len(result.updated),
            len(result.closed),
        )
    return result


def _apply_finding(
    connection: Connection,
    before: Ticket | None,
    finding: Finding,
    *,
    county_code: str,
    department_id: str,
    dataset_id: str,
    period: str,
    at: datetime,
    due_policy: DuePolicy,
    origin: str,
) -> Ticket:
    due = due_policy.due_date(at, finding.severity)
    if before is None:
        return rules.open_ticket(
            finding,
            ticket_id=_next_ticket_id(connection, county_code),
            county_code=county_code,
            department_id=department_id,
            dataset_id=dataset_id,
            period=period,
            at=at,
            due_date=due,
            origin=origin,
        )
    return rules.record_finding(before, finding, period=period, at=at, due_date=due)


def _classify(
    before: Ticket | None, after: Ticket, outcome: dict[str, list[str]], unchanged: list[str]
) -> None:
    if before is None:
        outcome["opened"].append(after.id)
    elif after.status is Status.REOPENED and before.status is not Status.REOPENED:
        outcome["reopened"].append(after.id)
    elif before.is_open and not after.is_open:
        outcome["closed"].append(after.id)
    elif after.history != before.history:
        outcome["updated"].append(after.id)
    else:
        unchanged.append(after.id)


def rejection_dimension(reason_code: str) -> Dimension:
    """可访问性 for files that cannot be read, 规范性 for header problems (unknown codes: by name)."""
    if reason_code in REJECTION_DIMENSIONS:
        return REJECTION_DIMENSIONS[reason_code]
    if "header" in reason_code or "column" in reason_code:
        return Dimension.CONFORMITY
    return Dimension.ACCESSIBILITY


def file_rejection_rule_id(period: str) -> str:
    return f"{FILE_REJECTION_RULE_PREFIX}{period}"


def open_file_rejection_ticket(
    engine: Engine,
    *,
    dataset_id: str,
    county_code: str,
    department_id: str,
    period: str,
    reason_code: str,
    reason: str,
    checked_at: datetime,
    due_policy: DuePolicy,
    relative_path: str | None = None,
    severity: str = rules.SEVERITY_HIGH,
) -> Ticket:
    """A landing file rejected at ingest: one ticket per rejected (dataset, county, period) delivery.

    A second rejection of the same partition updates that ticket (with the new reason); once a later
    delivery of the partition loads, :func:`close_file_rejection_tickets` closes it as verified.
    """
    dimension = rejection_dimension(reason_code)
    reason = rules.scrub(reason)
    finding = Finding(
        rule_id=file_rejection_rule_id(period),
        expectation=f"文件可读取且表头符合资源目录（拒收原因 {reason_code}：{reason}）",
        columns=(),
        dimension=dimension,
        severity=severity,
        failed_count=1,
        total=1,
        examples=(
            ({"source_row": None, "value": relative_path},) if relative_path is not None else ()
        ),
        fix=REJECTION_FIXES[dimension],
    )
    checked_at = _utc(checked_at)

    def work(connection: Connection) -> Ticket:
        row = connection.execute(
            _select_for_update(
                quality_tickets.c.county_code == county_code,
                quality_tickets.c.department_id == department_id,
                quality_tickets.c.dataset_id == dataset_id,
                quality_tickets.c.rule_id == finding.rule_id,
            )
        ).first()
        before = None if row is None else _from_row(row)
        after = _apply_finding(
            connection,
            before,
            finding,
            county_code=county_code,
            department_id=department_id,
            dataset_id=dataset_id,
            period=period,
            at=checked_at,
            due_policy=due_policy,
            origin=ORIGIN_INGEST,
        )
        _save(connection, before, after)
        return after

    return _in_transaction(engine, work)


def close_file_rejection_tickets(
    engine: Engine,
    *,
    dataset_id: str,
    county_code: str,
    period: str,
    loaded_at: datetime,
) -> list[Ticket]:
    """A delivery of the partition loaded: close its open file-rejection ticket as verified."""
    loaded_at = _utc(loaded_at)

    def work(connection: Connection) -> list[Ticket]:
        rows = connection.execute(
            _select_for_update(
                quality_tickets.c.county_code == county_code,
                quality_tickets.c.dataset_id == dataset_id,
                quality_tickets.c.rule_id == file_rejection_rule_id(period),
                quality_tickets.c.status != Status.CLOSED.value,
            )
        ).all()
        closed: list[Ticket] = []
        for before in map(_from_row, rows):
            if loaded_at < before.last_seen:
                continue  # a load older than the rejection proves nothing
            after = rules.record_pass(
                before, period=period, at=loaded_at, comment=f"{period} 期数据已重新报送并成功入库"
            )
            _save(connection, before, after)
            closed.append(after)
        return closed

    return _in_transaction(engine, work)


# --- what people call (CLI, reports, notifications) ----------------------------------------------


def get_ticket(engine: Engine, ticket_id: str) -> Ticket:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(quality_tickets).where(quality_tickets.c.id == ticket_id)
        ).first()
    if row is None:
        raise TicketNotFound(ticket_id)
    return _from_row(row)


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
    return [_from_row(row) for row in rows]


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
        row = connection.execute(_select_for_update(quality_tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        before = _from_row(row)
        after = change(before)
        _save(connection, before, after)
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
    moment = _utc(at or datetime.now(UTC))
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
    moment = _utc(at or datetime.now(UTC))
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
    moment = _utc(at or datetime.now(UTC))
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
            _select_for_update(
                t.c.status.in_(owed), t.c.due_date < today, t.c.escalated_at.is_(None)
            ).order_by(t.c.id)
        ).all()
        escalated: list[Ticket] = []
        for before in map(_from_row, rows):
            after = rules.escalate(before, at=moment, to=bureau(before.county_code))
            _save(connection, before, after)
            escalated.append(after)
    if escalated:
        log.info("escalated %d overdue quality tickets", len(escalated))
    return escalated


def tickets_pending_notice(engine: Engine, *, department_id: str | None = None) -> list[Ticket]:
    """Tickets with an event (new, reopened, escalated) the department has not been told about."""
    t = quality_tickets
    conditions = [t.c.notice_pending.is_not(None)]
    if department_id:
        conditions.append(t.c.department_id == department_id)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(t).where(*conditions).order_by(t.c.department_id, t.c.county_code, t.c.id)
        ).all()
    return [_from_row(row) for row in rows]


@dataclass(frozen=True)
class Delivery:
    channel: str  # with secrets hidden
    ok: bool
    error: str | None = None


def record_deliveries(
    engine: Engine,
    *,
    department_id: str,
    ticket_ids: Sequence[str],
    deliveries: Sequence[Delivery],
    sent_at: datetime,
) -> None:
    """Log each channel's delivery; tickets delivered on at least one channel stop being pending."""
    sent_at = _utc(sent_at)
    ok = [d for d in deliveries if d.ok]
    with engine.begin() as connection:
        if deliveries:
            connection.execute(
                sa.insert(quality_ticket_deliveries),
                [
                    {
                        "sent_at": sent_at,
                        "department_id": department_id,
                        "channel": d.channel,
                        "ticket_ids": list(ticket_ids),
                        "ok": d.ok,
                        "error": d.error,
                    }
                    for d in deliveries
                ],
            )
        if not ok:
            return
        channels = "、".join(d.channel.split("://", 1)[0] for d in ok)
        rows = connection.execute(
            _select_for_update(quality_tickets.c.id.in_(list(ticket_ids)))
        ).all()
        for before in map(_from_row, rows):
            after = rules.record_notified(
                before, at=sent_at, comment=f"已通过 {channels} 通知数源部门"
            )
            _save(connection, before, after)


def delivery_log(engine: Engine, *, department_id: str | None = None) -> list[dict[str, Any]]:
    t = quality_ticket_deliveries
    query = sa.select(t).order_by(t.c.id)
    if department_id:
        query = query.where(t.c.department_id == department_id)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
