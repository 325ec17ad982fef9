"""The audit log (第二十七条 行为留痕, 第二十八条): who did what, when, why, with row counts.

Every publish to the operation platform, every supply suspension, withdrawal and resumption is written
here. ``detail`` holds counts, codes and fingerprints — never a data value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.storage.tables import audit_log

SYSTEM_ACTOR = "system:publicdata"

# Actions of this stage.
PUBLISH = "operation_publish"
PUBLISH_WITHHELD = "operation_publish_withheld"
SUSPEND = "supply_suspend"
WITHDRAW = "supply_withdraw"
RESUME = "supply_resume"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    reason: str | None
    rows: int | None
    detail: Mapping[str, object] | None
    role: str | None = None  # the acting account's role code; None for the platform itself


def operation_target(dataset_id: str, county_code: str | None = None) -> str:
    """What an entry is about: ``operation/<dataset>`` or ``operation/<dataset>/<county>``."""
    return f"operation/{dataset_id}" + (f"/{county_code}" if county_code else "")


def record(
    connection: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    reason: str | None = None,
    rows: int | None = None,
    detail: Mapping[str, object] | None = None,
    at: datetime | None = None,
    role: str | None = None,
) -> None:
    """Append one entry inside the caller's transaction (so the entry and the act commit together).

    ``actor`` is the acting account's name (or ``SYSTEM_ACTOR``), ``role`` its role code."""
    connection.execute(
        audit_log.insert().values(
            at=at or datetime.now(UTC),
            actor=actor,
            actor_role=str(role) if role is not None else None,
            action=action,
            target=target,
            reason=reason,
            rows=rows,
            detail=dict(detail) if detail is not None else None,
        )
    )


def entries(
    engine: Engine, *, target_prefix: str | None = None, actions: tuple[str, ...] | None = None
) -> list[AuditEntry]:
    """Audit entries, oldest first, optionally those whose target starts with ``target_prefix``."""
    query = sa.select(audit_log).order_by(audit_log.c.id)
    if target_prefix:
        query = query.where(audit_log.c.target.startswith(target_prefix, autoescape=True))
    if actions:
        query = query.where(audit_log.c.action.in_(actions))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        AuditEntry(
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            target=row["target"],
            reason=row["reason"],
            rows=row["rows"],
            detail=row["detail"],
            role=row["actor_role"],
        )
        for row in rows
    ]
