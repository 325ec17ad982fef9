"""The audit log (第二十七条 行为留痕, 第二十八条): who did what, when, why, with row counts.

Every state-changing action writes here, in the same transaction as the act, with the acting account
and its role. ``detail`` holds counts, codes and fingerprints — never a data value.

The log is a hash chain (``assets/common/hashchain.py``): appending locks the head row
(``audit_head``), numbers the record ``seq`` = head + 1, links it to the head's hash and moves the
head. Concurrent appends queue on that row lock (PostgreSQL: a row lock held to commit; SQLite: the
database write lock), so the chain never forks. The database refuses UPDATE and DELETE of records
(``assets/storage/audit_guards.py``); ``assets/audit/verify.py`` checks the chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.common.hashchain import normalize_detail, record_hash
from assets.storage.tables import audit_head, audit_log

SYSTEM_ACTOR = "system:publicdata"
HEAD_ID = 1

# Actions of this stage.
PUBLISH = "operation_publish"
PUBLISH_WITHHELD = "operation_publish_withheld"
SUSPEND = "supply_suspend"
WITHDRAW = "supply_withdraw"
RESUME = "supply_resume"


class AuditError(RuntimeError):
    """The audit log cannot be appended to (its head row is missing: the schema is not migrated)."""


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
    seq: int | None = None
    hash: str | None = None
    prev_hash: str | None = None
    id: int | None = None

    def as_record(self) -> dict[str, object]:
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        return {
            "seq": self.seq,
            "at": at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "rows": self.rows,
            "detail": dict(self.detail) if self.detail is not None else None,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def operation_target(dataset_id: str, county_code: str | None = None) -> str:
    """What an entry is about: ``operation/<dataset>`` or ``operation/<dataset>/<county>``."""
    return f"operation/{dataset_id}" + (f"/{county_code}" if county_code else "")


def _utc(moment: datetime) -> datetime:
    # SQLite keeps the wall time and drops the offset: store UTC so every backend reads back the same
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
) -> int:
    """Append one entry inside the caller's transaction (so the entry and the act commit together);
    returns its ``seq``.

    ``actor`` is the acting account's name (or ``SYSTEM_ACTOR``), ``role`` its role code."""
    # Take the head row first: the UPDATE locks it until this transaction ends.
    moved = connection.execute(
        audit_head.update().where(audit_head.c.id == HEAD_ID).values(seq=audit_head.c.seq + 1)
    )
    if moved.rowcount != 1:
        raise AuditError("审计日志链头缺失：平台记录未迁移到最新版本")
    seq, prev_hash = connection.execute(
        sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    ).one()
    values: dict[str, object] = {
        "seq": int(seq),
        "at": _utc(at or datetime.now(UTC)),
        "actor": actor,
        "actor_role": str(role) if role is not None else None,
        "action": action,
        "target": target,
        "reason": reason,
        "rows": int(rows) if rows is not None else None,
        "detail": normalize_detail(detail),
        "prev_hash": prev_hash,
    }
    values["hash"] = record_hash(values)
    connection.execute(audit_log.insert().values(**values))
    connection.execute(
        audit_head.update().where(audit_head.c.id == HEAD_ID).values(hash=values["hash"])
    )
    return int(seq)


def head(engine: Engine) -> tuple[int, str]:
    """The newest record's (seq, hash) — the anchor every periodic report carries."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        ).one_or_none()
    if row is None:
        raise AuditError("审计日志链头缺失：平台记录未迁移到最新版本")
    return int(row[0]), str(row[1])


def _entry(row: Mapping[str, object]) -> AuditEntry:
    return AuditEntry(
        at=row["at"],  # type: ignore[arg-type]
        actor=row["actor"],  # type: ignore[arg-type]
        action=row["action"],  # type: ignore[arg-type]
        target=row["target"],  # type: ignore[arg-type]
        reason=row["reason"],  # type: ignore[arg-type]
        rows=row["rows"],  # type: ignore[arg-type]
        detail=row["detail"],  # type: ignore[arg-type]
        role=row["actor_role"],  # type: ignore[arg-type]
        seq=row["seq"],  # type: ignore[arg-type]
        hash=row["hash"],  # type: ignore[arg-type]
        prev_hash=row["prev_hash"],  # type: ignore[arg-type]
        id=row["id"],  # type: ignore[arg-type]
    )


def entries(
    engine: Engine,
    *,
    target_prefix: str | None = None,
    actions: tuple[str, ...] | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Audit entries in chain order (oldest first), filtered by target prefix, actions, actor and
    time (``since`` inclusive, ``until`` exclusive); ``limit`` keeps the newest ones."""
    query = sa.select(audit_log)
    if target_prefix:
        query = query.where(audit_log.c.target.startswith(target_prefix, autoescape=True))
    if actions:
        query = query.where(audit_log.c.action.in_(actions))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if since is not None:
        query = query.where(audit_log.c.at >= _utc(since))
    if until is not None:
        query = query.where(audit_log.c.at < _utc(until))
    if limit is not None:
        query = query.order_by(audit_log.c.seq.desc()).limit(limit)
    else:
        query = query.order_by(audit_log.c.seq)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    found = [_entry(row) for row in rows]
    return found[::-1] if limit is not None else found


def chain_rows(connection: Connection, *, after_seq: int = 0) -> Iterator[Mapping[str, object]]:
    """Every record after ``after_seq`` in seq order, streamed (for verification and archiving)."""
    result = connection.execution_options(yield_per=2000).execute(
        sa.select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq)
    )
    yield from result.mappings()
