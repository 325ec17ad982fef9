"""Tickets coming in: the findings of a check (quality suites, freshness, catalog registration) and
landing files rejected at ingest, each brought up to date against the store in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.engine import Connection, Engine

from assets.common.quality import Dimension, Severity
from assets.common.workdays import DuePolicy
from assets.storage.tables import quality_tickets
from assets.tickets import rules
from assets.tickets.rules import (
    ORIGIN_INGEST,
    ORIGIN_VALIDATION,
    Finding,
    Status,
    Ticket,
)
from assets.tickets.store import (
    from_row,
    in_transaction,
    next_ticket_id,
    save,
    select_for_update,
    utc,
)

log = logging.getLogger(__name__)

FILE_REJECTION_RULE_PREFIX = "ingest.file_rejected."

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
    "too_large": Dimension.ACCESSIBILITY,
    "unbalanced_quote": Dimension.ACCESSIBILITY,
    "shrink": Dimension.COMPLETENESS,  # a redelivery held: it would lose most of the partition
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
    Dimension.COMPLETENESS: (
        "本期重新报送的文件比平台现有数据少很多，已暂缓替换，原有数据保留。如文件不完整，请重新导出"
        "完整文件报送；如数据确实减少（如清理重复），请由本部门或县（区）数据管理机构确认："
        "publicdata ingest confirm --dataset 数据集 --county 县区代码 --period 期次 --reason 原因。"
    ),
}


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
    same_period: bool = False,
) -> SyncResult:
    """Bring the tickets of one (dataset, county) up to date with one validation of ``period``.

    Each finding opens a ticket, updates the open one, or reopens the closed one; each rule in
    ``passed_rule_ids`` closes its open ticket as verified — with ``same_period`` only a ticket
    raised for ``period`` itself. Rules in neither are left alone.
    """
    failing = [f.rule_id for f in findings]
    if len(set(failing)) != len(failing):
        raise ValueError(f"duplicate rule ids in findings: {sorted(failing)}")
    both = set(failing) & set(passed_rule_ids)
    if both:
        raise ValueError(f"rules both failing and passing: {sorted(both)}")
    checked_at = utc(checked_at)

    def work(connection: Connection) -> SyncResult:
        rule_ids = set(failing) | set(passed_rule_ids)
        existing: dict[str, Ticket] = {}
        if rule_ids:
            rows = connection.execute(
                select_for_update(
                    quality_tickets.c.county_code == county_code,
                    quality_tickets.c.department_id == department_id,
                    quality_tickets.c.dataset_id == dataset_id,
                    quality_tickets.c.rule_id.in_(sorted(rule_ids)),
                )
            ).all()
            existing = {t.rule_id: t for t in map(from_row, rows)}
        outcome: dict[str, list[str]] = {k: [] for k in ("opened", "updated", "reopened", "closed")}
        unchanged: list[str] = []
        touched: list[Ticket] = []
        # one due date per severity: each reads the official calendar's files again
        dues = {f.severity: due_policy.due_date(checked_at, f.severity) for f in findings}
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
                due=dues[finding.severity],
                origin=ORIGIN_VALIDATION,
            )
            save(connection, before, after)
            _classify(before, after, outcome, unchanged)
            touched.append(after)
        for rule_id in sorted(set(passed_rule_ids)):
            before = existing.get(rule_id)
            if before is None:
                continue
            after = rules.record_pass(before, period=period, at=checked_at, same_period=same_period)
            save(connection, before, after)
            _classify(before, after, outcome, unchanged)
            touched.append(after)
        return SyncResult(
            **{k: tuple(v) for k, v in outcome.items()},
            unchanged=tuple(unchanged),
            tickets=tuple(touched),
        )

    result = in_transaction(engine, work)
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
    due: date,
    origin: str,
) -> Ticket:
    if before is None:
        return rules.open_ticket(
            finding,
            ticket_id=next_ticket_id(connection, county_code),
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
    severity: str = Severity.HIGH,
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
    checked_at = utc(checked_at)

    def work(connection: Connection) -> Ticket:
        row = connection.execute(
            select_for_update(
                quality_tickets.c.county_code == county_code,
                quality_tickets.c.department_id == department_id,
                quality_tickets.c.dataset_id == dataset_id,
                quality_tickets.c.rule_id == finding.rule_id,
            )
        ).first()
        before = None if row is None else from_row(row)
        after = _apply_finding(
            connection,
            before,
            finding,
            county_code=county_code,
            department_id=department_id,
            dataset_id=dataset_id,
            period=period,
            at=checked_at,
            due=due_policy.due_date(checked_at, finding.severity),
            origin=ORIGIN_INGEST,
        )
        save(connection, before, after)
        return after

    return in_transaction(engine, work)


def close_file_rejection_tickets(
    engine: Engine,
    *,
    dataset_id: str,
    county_code: str,
    period: str,
    loaded_at: datetime,
) -> list[Ticket]:
    """A delivery of the partition loaded: close its open file-rejection ticket as verified."""
    loaded_at = utc(loaded_at)

    def work(connection: Connection) -> list[Ticket]:
        rows = connection.execute(
            select_for_update(
                quality_tickets.c.county_code == county_code,
                quality_tickets.c.dataset_id == dataset_id,
                quality_tickets.c.rule_id == file_rejection_rule_id(period),
                quality_tickets.c.status != Status.CLOSED.value,
            )
        ).all()
        closed: list[Ticket] = []
        for before in map(from_row, rows):
            if loaded_at < before.last_seen:
                continue  # a load older than the rejection proves nothing
            after = rules.record_pass(
                before, period=period, at=loaded_at, comment=f"{period} 期数据已重新报送并成功入库"
            )
            save(connection, before, after)
            closed.append(after)
        return closed

    return in_transaction(engine, work)
