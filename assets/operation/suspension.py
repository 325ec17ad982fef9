"""Supply suspension (第二十七条): the authority suspends the supply of a dataset — or of one county's
part of it — to the operation platform when a risk is found, and resumes it after rectification. A
suspension made by a security incident resumes only once the incident records its fix.

While a suspension is in force the dataset's operation table is not updated; with ``withdraw`` the
published version is removed at once (the whole table, or the county's rows). Every suspension,
withdrawal and resumption is written to the audit log in the same transaction as the record itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.storage.tables import (
    operation_publications,
    security_incidents,
    supply_suspensions,
)

if TYPE_CHECKING:
    from assets.operation.writer import WithdrawOutcome


class SuspensionError(ValueError):
    """A suspension that cannot be made or resumed as asked."""


@dataclass(frozen=True)
class Suspension:
    id: int
    dataset_id: str
    county_code: str | None  # None = the whole dataset
    reason: str
    withdraw: bool
    suspended_by: str
    suspended_at: datetime
    resumed_by: str | None = None
    resumed_at: datetime | None = None
    resume_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.resumed_at is None

    @property
    def scope(self) -> str:
        return f"{self.dataset_id}" + (f"（县区 {self.county_code}）" if self.county_code else "")

    def as_record(self) -> dict[str, object]:
        return {
            "id": self.id,
            "dataset": self.dataset_id,
            "county": self.county_code,
            "reason": self.reason,
            "withdraw": self.withdraw,
            "suspended_by": self.suspended_by,
            "suspended_at": self.suspended_at.isoformat(),
            "resumed_by": self.resumed_by,
            "resumed_at": self.resumed_at.isoformat() if self.resumed_at else None,
            "resume_reason": self.resume_reason,
        }


def _from_row(row: Mapping[str, object]) -> Suspension:
    return Suspension(**{k: row[k] for k in Suspension.__dataclass_fields__})  # type: ignore[arg-type]


def _scope(dataset_id: str, county_code: str | None) -> sa.ColumnElement[bool]:
    county = (
        supply_suspensions.c.county_code.is_(None)
        if county_code is None
        else supply_suspensions.c.county_code == county_code
    )
    return sa.and_(supply_suspensions.c.dataset_id == dataset_id, county)


def active_suspensions(engine: Engine, dataset_id: str | None = None) -> list[Suspension]:
    """Suspensions in force, of one dataset (any county or the whole) or of all."""
    query = sa.select(supply_suspensions).where(supply_suspensions.c.resumed_at.is_(None))
    if dataset_id is not None:
        query = query.where(supply_suspensions.c.dataset_id == dataset_id)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(supply_suspensions.c.id)).mappings().all()
    return [_from_row(row) for row in rows]


def suspension_history(engine: Engine, dataset_id: str | None = None) -> list[Suspension]:
    query = sa.select(supply_suspensions).order_by(supply_suspensions.c.id)
    if dataset_id is not None:
        query = query.where(supply_suspensions.c.dataset_id == dataset_id)
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query).mappings().all()]


def _publication(engine: Engine, dataset_id: str) -> Mapping[str, object] | None:
    with engine.connect() as connection:
        return (
            connection.execute(
                sa.select(operation_publications).where(
                    operation_publications.c.dataset_id == dataset_id
                )
            )
            .mappings()
            .first()
        )


def suspend_supply(
    platform_engine: Engine,
    operation_engine: Engine,
    *,
    dataset_id: str,
    reason: str,
    actor: str,
    county_code: str | None = None,
    withdraw_published: bool = False,
    at: datetime | None = None,
    actor_role: str | None = None,
) -> tuple[Suspension, WithdrawOutcome | None]:
    """Record a suspension (and with ``withdraw_published`` remove the published version) — audited."""
    if not reason.strip():
        raise SuspensionError("暂停供给必须写明原因")
    at = at or datetime.now(UTC)
    publication = _publication(platform_engine, dataset_id)
    target = audit.operation_target(dataset_id, county_code)
    with platform_engine.begin() as connection:
        existing = connection.execute(
            sa.select(supply_suspensions.c.id).where(
                _scope(dataset_id, county_code), supply_suspensions.c.resumed_at.is_(None)
            )
        ).first()
        if existing is not None:
            raise SuspensionError(f"{target} 已处于暂停供给状态（第 {existing[0]} 号暂停）")
        new_id = connection.execute(
            supply_suspensions.insert().values(
                dataset_id=dataset_id,
                county_code=county_code,
                reason=reason,
                withdraw=withdraw_published,
                suspended_by=actor,
                suspended_at=at,
            )
        ).inserted_primary_key[0]
        audit.record(
            connection,
            actor=actor,
            role=actor_role,
            action=audit.SUSPEND,
            target=target,
            reason=reason,
            rows=int(publication["rows"]) if publication else 0,
            detail={"suspension_id": int(new_id), "withdraw": withdraw_published},
            at=at,
        )
    outcome: WithdrawOutcome | None = None
    if withdraw_published:
        # the zone writer (Arrow, the bulk loader) only when a suspension withdraws: the run's summary
        # reads the suspensions without loading it
        from assets.operation.writer import withdraw

        outcome = withdraw(
            operation_engine,
            dataset_id,
            county_code=county_code,
            quasi_identifiers=tuple(publication["quasi_identifiers"] or ()) if publication else (),
            k_threshold=int(publication["k_threshold"]) if publication else 5,
        )
        with platform_engine.begin() as connection:
            audit.record(
                connection,
                actor=actor,
                role=actor_role,
                action=audit.WITHDRAW,
                target=target,
                reason=reason,
                rows=outcome.removed + outcome.suppressed,
                detail={
                    "suspension_id": int(new_id),
                    "table": outcome.table_name,
                    "removed": outcome.removed,
                    "suppressed_for_k": outcome.suppressed,
                    "remaining": outcome.remaining,
                },
            )
            if publication is not None:
                connection.execute(
                    operation_publications.update()
                    .where(operation_publications.c.dataset_id == dataset_id)
                    .values(
                        status="withdrawn" if county_code is None else "suspended",
                        rows=outcome.remaining,
                        updated_at=datetime.now(UTC),
                    )
                )
    elif publication is not None:
        with platform_engine.begin() as connection:
            connection.execute(
                operation_publications.update()
                .where(operation_publications.c.dataset_id == dataset_id)
                .values(status="suspended", updated_at=datetime.now(UTC))
            )
    suspension = next(s for s in active_suspensions(platform_engine, dataset_id) if s.id == new_id)
    return suspension, outcome


def _held_by_incident(connection: sa.Connection, suspension_id: int) -> str | None:
    """The open security incident (no fix recorded yet) that holds this suspension, if any
    (``assets/security/incidents.py`` links the suspensions a severe incident makes)."""
    rows = connection.execute(
        sa.select(security_incidents.c.id, security_incidents.c.suspension_ids).where(
            security_incidents.c.status == "open"
        )
    ).all()
    return next((i for i, ids in rows if suspension_id in (ids or ())), None)


def _nothing_to_resume(
    connection: sa.Connection, target: str, dataset_id: str, county_code: str | None
) -> str:
    """Why there is nothing to resume, naming the suspensions of the dataset that are in force in
    another scope (a county's, when the whole dataset was asked for, or the reverse)."""
    others = (
        connection.execute(
            sa.select(supply_suspensions.c.id, supply_suspensions.c.county_code).where(
                supply_suspensions.c.dataset_id == dataset_id,
                supply_suspensions.c.resumed_at.is_(None),
            )
        )
        .mappings()
        .all()
    )
    if not others:
        return f"{target} 没有生效中的暂停供给，无需恢复"
    scopes = "、".join(
        f"{'整个数据集' if o['county_code'] is None else '县（区）' + o['county_code']}（第 {o['id']} 号）"
        for o in others
    )
    hint = "（恢复某个县（区）的暂停请加 --county）" if county_code is None else ""
    return f"{target} 没有生效中的暂停供给；该数据集生效中的暂停：{scopes}{hint}"


def resume_supply(
    platform_engine: Engine,
    *,
    dataset_id: str,
    reason: str,
    actor: str,
    county_code: str | None = None,
    at: datetime | None = None,
    actor_role: str | None = None,
) -> Suspension:
    """End the suspension in force for exactly this scope — audited. The next pipeline run publishes
    the dataset again."""
    if not reason.strip():
        raise SuspensionError("恢复供给必须写明原因（整改情况）")
    at = at or datetime.now(UTC)
    target = audit.operation_target(dataset_id, county_code)
    with platform_engine.begin() as connection:
        row = (
            connection.execute(
                sa.select(supply_suspensions).where(
                    _scope(dataset_id, county_code), supply_suspensions.c.resumed_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise SuspensionError(_nothing_to_resume(connection, target, dataset_id, county_code))
        if holding := _held_by_incident(connection, int(row["id"])):
            raise SuspensionError(
                f"{target} 的暂停供给（第 {row['id']} 号）由安全事件 {holding} 引起，"
                "该事件尚未登记整改情况，不能恢复（publicdata incidents fix）"
            )
        connection.execute(
            supply_suspensions.update()
            .where(supply_suspensions.c.id == row["id"])
            .values(resumed_by=actor, resumed_at=at, resume_reason=reason)
        )
        audit.record(
            connection,
            actor=actor,
            role=actor_role,
            action=audit.RESUME,
            target=target,
            reason=reason,
            rows=None,
            detail={"suspension_id": int(row["id"]), "suspended_at": str(row["suspended_at"])},
            at=at,
        )
        others = connection.execute(
            sa.select(sa.func.count()).where(
                supply_suspensions.c.dataset_id == dataset_id,
                supply_suspensions.c.resumed_at.is_(None),
            )
        ).scalar_one()
        if not others:  # the published version stays until the next run publishes again
            connection.execute(
                operation_publications.update()
                .where(operation_publications.c.dataset_id == dataset_id)
                .values(status="resumed", updated_at=at)
            )
    return _from_row({**row, "resumed_by": actor, "resumed_at": at, "resume_reason": reason})
