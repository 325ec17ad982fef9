"""The security incident register (第二十七条 安全监管, 第二十九条 应急预案).

An incident has a level — 一般 general, 较大 significant, 重大 major, 特别重大 critical — the datasets and
merchants it touches, and the actions taken. Opening a severe incident (重大 and above) suspends the
supply of every affected dataset to the operation platform at once (第二十七条: the authority suspends
supply when a risk to data security is found); the suspensions are linked to the incident, and
``assets.operation.suspension.resume_supply`` refuses to resume them until the incident records its fix
(``record_fix``). Lifecycle: open → fixed → closed. Every step is audited with the acting account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assets.audit import log as audit
from assets.operation.suspension import SuspensionError, active_suspensions, suspend_supply
from assets.security.text import required, scrub
from assets.storage.tables import security_incidents

OPEN, FIXED, CLOSED = "open", "fixed", "closed"
STATUS_LABELS = {OPEN: "处置中", FIXED: "已整改", CLOSED: "已关闭"}

# audit actions
AUDIT_OPEN = "incident_open"
AUDIT_FIX = "incident_fix"
AUDIT_CLOSE = "incident_close"


class IncidentLevel(StrEnum):
    GENERAL = "general"
    SIGNIFICANT = "significant"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def severe(self) -> bool:
        """重大 and above: supply of the affected datasets is suspended at once."""
        return self in (IncidentLevel.MAJOR, IncidentLevel.CRITICAL)


LEVEL_LABELS = {
    IncidentLevel.GENERAL: "一般",
    IncidentLevel.SIGNIFICANT: "较大",
    IncidentLevel.MAJOR: "重大",
    IncidentLevel.CRITICAL: "特别重大",
}


def parse_level(value: str) -> IncidentLevel:
    for level in IncidentLevel:
        if value in (level.value, level.label):
            return level
    known = "、".join(f"{lv.value}（{lv.label}）" for lv in IncidentLevel)
    raise IncidentError(f"未知的事件级别 {value}（可选：{known}）")


class IncidentError(ValueError):
    """An incident step that cannot be taken (message in Chinese)."""


@dataclass(frozen=True)
class Incident:
    id: str
    level: IncidentLevel
    title: str
    description: str
    datasets: tuple[str, ...]
    merchants: tuple[str, ...]
    status: str
    suspension_ids: tuple[int, ...]
    actions: tuple[Mapping[str, Any], ...]
    opened_by: str
    opened_at: datetime
    fix: str | None = None
    fixed_by: str | None = None
    fixed_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None

    def as_record(self) -> dict[str, object]:
        def iso(moment: datetime | None) -> str | None:
            if moment is None:
                return None
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()

        return {
            "id": self.id,
            "level": self.level.value,
            "level_label": self.level.label,
            "severe": self.level.severe,
            "title": self.title,
            "description": self.description,
            "datasets": list(self.datasets),
            "merchants": list(self.merchants),
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "suspension_ids": list(self.suspension_ids),
            "actions": [dict(a) for a in self.actions],
            "opened_by": self.opened_by,
            "opened_at": iso(self.opened_at),
            "fix": self.fix,
            "fixed_by": self.fixed_by,
            "fixed_at": iso(self.fixed_at),
            "closed_by": self.closed_by,
            "closed_at": iso(self.closed_at),
        }


def _from_row(row: Mapping[str, Any]) -> Incident:
    return Incident(
        id=row["id"],
        level=IncidentLevel(row["level"]),
        title=row["title"],
        description=row["description"],
        datasets=tuple(row["datasets"] or ()),
        merchants=tuple(row["merchants"] or ()),
        status=row["status"],
        suspension_ids=tuple(int(i) for i in row["suspension_ids"] or ()),
        actions=tuple(row["actions"] or ()),
        opened_by=row["opened_by"],
        opened_at=row["opened_at"],
        fix=row["fix"],
        fixed_by=row["fixed_by"],
        fixed_at=row["fixed_at"],
        closed_by=row["closed_by"],
        closed_at=row["closed_at"],
    )


def get_incident(engine: Engine, incident_id: str) -> Incident:
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.select(security_incidents).where(security_incidents.c.id == incident_id)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise IncidentError(f"没有编号为 {incident_id} 的安全事件")
    return _from_row(row)


def list_incidents(
    engine: Engine,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Incident]:
    t = security_incidents
    query = sa.select(t).order_by(t.c.opened_at, t.c.id)
    if status == "active":
        query = query.where(t.c.status != CLOSED)
    elif status:
        query = query.where(t.c.status == status)
    if since is not None:
        query = query.where(t.c.opened_at >= since)
    if until is not None:
        query = query.where(t.c.opened_at < until)
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query).mappings()]


def _action(kind: str, by: str, at: datetime, text: str, **extra: object) -> dict[str, object]:
    return {"kind": kind, "by": by, "at": at.isoformat(), "text": text, **extra}


def _insert(engine: Engine, values: dict[str, Any], actor: str, role: str | None) -> str:
    """Insert with the next id of the year (SI-2026-0001); a racing insert retries."""
    year = values["opened_at"].astimezone(UTC).year
    for _ in range(5):
        try:
            with engine.begin() as connection:
                taken = connection.execute(
                    sa.select(security_incidents.c.id).where(
                        security_incidents.c.id.like(f"SI-{year}-%")
                    )
                ).scalars()
                number = max((int(i.rsplit("-", 1)[1]) for i in taken), default=0) + 1
                incident_id = f"SI-{year}-{number:04d}"
                connection.execute(security_incidents.insert().values(id=incident_id, **values))
                audit.record(
                    connection,
                    actor=actor,
                    role=role,
                    action=AUDIT_OPEN,
                    target=f"incidents/{incident_id}",
                    reason=values["title"],
                    detail={
                        "level": values["level"],
                        "datasets": values["datasets"],
                        "merchants": values["merchants"],
                    },
                    at=values["opened_at"],
                )
            return incident_id
        except IntegrityError:
            continue  # another incident took the number
    raise IncidentError("事件编号冲突，请重试")


def open_incident(
    platform_engine: Engine,
    operation_engine: Engine,
    *,
    level: IncidentLevel | str,
    title: str,
    description: str,
    datasets: Sequence[str] = (),
    merchants: Sequence[str] = (),
    actor: str,
    role: str | None,
    withdraw_published: bool = False,
    at: datetime | None = None,
) -> Incident:
    """Register an incident; a severe one suspends every affected dataset's supply at once (an
    existing whole-dataset suspension is linked instead). Audited."""
    level = level if isinstance(level, IncidentLevel) else parse_level(level)
    moment = at or datetime.now(UTC)
    title = required(title, "事件名称")
    description = required(description, "事件描述")
    datasets = tuple(dict.fromkeys(datasets))
    if level.severe and not datasets:
        raise IncidentError(f"{level.label}安全事件必须写明受影响的数据集，以便立即暂停供给")
    incident_id = _insert(
        platform_engine,
        {
            "level": level.value,
            "title": title,
            "description": description,
            "datasets": list(datasets),
            "merchants": list(dict.fromkeys(merchants)),
            "status": OPEN,
            "suspension_ids": [],
            "actions": [_action("opened", actor, moment, f"登记{level.label}安全事件")],
            "opened_by": actor,
            "opened_at": moment,
        },
        actor,
        role,
    )
    if level.severe:
        _suspend_affected(
            platform_engine,
            operation_engine,
            incident_id,
            level,
            title,
            datasets,
            actor=actor,
            role=role,
            withdraw_published=withdraw_published,
            at=moment,
        )
    return get_incident(platform_engine, incident_id)


def _suspend_affected(
    platform_engine: Engine,
    operation_engine: Engine,
    incident_id: str,
    level: IncidentLevel,
    title: str,
    datasets: Sequence[str],
    *,
    actor: str,
    role: str | None,
    withdraw_published: bool,
    at: datetime,
) -> None:
    ids: list[int] = []
    actions: list[dict[str, object]] = []
    for dataset_id in datasets:
        now = at
        try:
            suspension, _ = suspend_supply(
                platform_engine,
                operation_engine,
                dataset_id=dataset_id,
                reason=f"安全事件 {incident_id}（{level.label}）：{title}",
                actor=actor,
                actor_role=role,
                withdraw_published=withdraw_published,
                at=at,
            )
            text = f"暂停 {dataset_id} 向运营平台供给（第 {suspension.id} 号）"
        except SuspensionError:
            # already suspended as a whole: this incident holds that suspension too
            suspension = next(
                s for s in active_suspensions(platform_engine, dataset_id) if s.county_code is None
            )
            text = f"{dataset_id} 已处于暂停供给（第 {suspension.id} 号），由本事件一并挂起"
        ids.append(suspension.id)
        actions.append(_action("suspended", actor, now, text, suspension_id=suspension.id))
    with platform_engine.begin() as connection:
        row = connection.execute(
            sa.select(security_incidents.c.actions).where(security_incidents.c.id == incident_id)
        ).scalar_one()
        connection.execute(
            security_incidents.update()
            .where(security_incidents.c.id == incident_id)
            .values(suspension_ids=ids, actions=[*row, *actions])
        )


def _locked(connection: sa.Connection, incident_id: str) -> Mapping[str, Any]:
    """The incident's row, locked for this transaction's change of state."""
    row = (
        connection.execute(
            sa.select(security_incidents)
            .where(security_incidents.c.id == incident_id)
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise IncidentError(f"没有编号为 {incident_id} 的安全事件")
    return row


def _advance(
    connection: sa.Connection, row: Mapping[str, Any], action: dict[str, object], **values: Any
) -> None:
    """Move the locked incident on: ``values`` set, ``action`` appended to its history."""
    connection.execute(
        security_incidents.update()
        .where(security_incidents.c.id == row["id"])
        .values(**values, actions=[*row["actions"], action])
    )


def record_fix(
    engine: Engine,
    incident_id: str,
    *,
    fix: str,
    actor: str,
    role: str | None,
    at: datetime | None = None,
) -> Incident:
    """The incident's rectification (整改情况): open → fixed; the suspensions it holds may then be
    resumed by the bureau. Audited."""
    moment = at or datetime.now(UTC)
    fix = required(fix, "整改情况")
    with engine.begin() as connection:
        row = _locked(connection, incident_id)
        if row["status"] != OPEN:
            raise IncidentError(
                f"{incident_id} 当前为「{STATUS_LABELS[row['status']]}」，不能再登记整改"
            )
        _advance(
            connection,
            row,
            _action("fixed", actor, moment, fix),
            status=FIXED,
            fix=fix,
            fixed_by=actor,
            fixed_at=moment,
        )
        audit.record(
            connection,
            actor=actor,
            role=role,
            action=AUDIT_FIX,
            target=f"incidents/{incident_id}",
            reason=fix,
            detail={"suspension_ids": list(row["suspension_ids"] or [])},
            at=moment,
        )
    return get_incident(engine, incident_id)


def close_incident(
    engine: Engine,
    incident_id: str,
    *,
    actor: str,
    role: str | None,
    comment: str | None = None,
    at: datetime | None = None,
) -> Incident:
    """fixed → closed (an incident is closed only after its fix is recorded). Audited."""
    moment = at or datetime.now(UTC)
    comment = scrub(comment.strip()) if comment and comment.strip() else "关闭事件"
    with engine.begin() as connection:
        row = _locked(connection, incident_id)
        if row["status"] != FIXED:
            need = (
                "先登记整改情况（publicdata incidents fix）" if row["status"] == OPEN else "已关闭"
            )
            raise IncidentError(f"{incident_id} 不能关闭：{need}")
        _advance(
            connection,
            row,
            _action("closed", actor, moment, comment),
            status=CLOSED,
            closed_by=actor,
            closed_at=moment,
        )
        audit.record(
            connection,
            actor=actor,
            role=role,
            action=AUDIT_CLOSE,
            target=f"incidents/{incident_id}",
            reason=comment,
            at=moment,
        )
    return get_incident(engine, incident_id)
