"""Retention of the audit log: records are kept at least six months (等保三级: 审计记录留存不少于六个月);
older ones may be purged, and only by archiving them first.

``purge`` takes the oldest records older than the cutoff (a prefix of the chain), checks them, writes
them to ``<data dir>/audit/archive/audit-<from>-<to>.jsonl`` (a header line, then one record per line,
hashes included), records an anchor (the segment's first link and last hash, the file's SM3) and only
then deletes them — the database's guard lets a DELETE through only for records an anchor covers. The
chain left in the database starts from that anchor, so ``audit verify`` still checks it end to end,
and the archive is checked against its anchor.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.audit.verify import anchors
from assets.common.hashchain import GENESIS, canonical_time, check_chain, sm3_hex
from assets.storage.tables import audit_anchors, audit_log

RETENTION_MONTHS = 6
ARCHIVE_DIR = Path("audit") / "archive"
PURGE = "audit_purge"


class RetentionError(ValueError):
    """A purge that would break the retention rule or the chain."""


@dataclass(frozen=True)
class PurgeResult:
    from_seq: int
    to_seq: int
    records: int
    archive_file: str
    anchor_hash: str


def months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last_day = [31, 29 if (year % 4 == 0 and (year % 100 or year % 400 == 0)) else 28, 31, 30, 31,
                30, 31, 31, 30, 31, 30, 31][month - 1]  # fmt: skip
    return date(year, month, min(day.day, last_day))


def earliest_cutoff_allowed(today: date) -> date:
    """The newest cutoff a purge may use: records from the last six months always stay."""
    return months_before(today, RETENTION_MONTHS)


def _archive_record(row: dict[str, object]) -> dict[str, object]:
    return {
        "id": row["id"],
        "seq": row["seq"],
        "at": canonical_time(row["at"]),  # type: ignore[arg-type]
        "actor": row["actor"],
        "actor_role": row["actor_role"],
        "action": row["action"],
        "target": row["target"],
        "reason": row["reason"],
        "rows": row["rows"],
        "detail": row["detail"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def purge(
    engine: Engine,
    data_dir: Path,
    *,
    before: date,
    today: date,
    actor: str,
    role: str | None,
) -> PurgeResult | None:
    """Archive and delete the records older than ``before`` (China date, exclusive); None when there
    are none. Refused when ``before`` is within six months of ``today`` or the segment is broken."""
    limit = earliest_cutoff_allowed(today)
    if before > limit:
        raise RetentionError(
            f"审计记录至少保留 {RETENTION_MONTHS} 个月：清理截止日不能晚于 {limit.isoformat()}"
        )
    from zoneinfo import ZoneInfo

    cutoff = datetime.combine(before, datetime.min.time(), ZoneInfo("Asia/Shanghai")).astimezone(
        UTC
    )
    found = anchors(engine)
    anchor_seq = found[-1].to_seq if found else 0
    anchor_hash = found[-1].last_hash if found else GENESIS
    with engine.connect() as connection:
        newer = connection.execute(
            sa.select(sa.func.min(audit_log.c.seq)).where(
                audit_log.c.seq > anchor_seq, audit_log.c.at >= cutoff
            )
        ).scalar()
        last = connection.execute(sa.select(sa.func.max(audit_log.c.seq))).scalar() or anchor_seq
        to_seq = (int(newer) - 1) if newer is not None else int(last)
        if to_seq <= anchor_seq:
            return None
        rows = [
            dict(row)
            for row in connection.execute(
                sa.select(audit_log)
                .where(audit_log.c.seq > anchor_seq, audit_log.c.seq <= to_seq)
                .order_by(audit_log.c.seq)
            ).mappings()
        ]
    checked = check_chain(rows, anchor_seq=anchor_seq, anchor_hash=anchor_hash)
    if not checked.ok or checked.last_seq != to_seq:
        reason = checked.problem.message if checked.problem else "记录不连续"
        raise RetentionError(f"待清理的审计记录未通过校验，不能归档清理：{reason}")
    relative = ARCHIVE_DIR / f"audit-{anchor_seq + 1:012d}-{to_seq:012d}.jsonl"
    header = {
        "kind": "publicdata audit archive",
        "from_seq": anchor_seq + 1,
        "to_seq": to_seq,
        "records": len(rows),
        "first_prev_hash": anchor_hash,
        "anchor_hash": rows[-1]["hash"],
        "cutoff": canonical_time(cutoff),
        "hash_algorithm": "SM3",
    }
    lines = [json.dumps(header, ensure_ascii=False, sort_keys=True)]
    lines += [json.dumps(_archive_record(r), ensure_ascii=False, sort_keys=True) for r in rows]
    text = "\n".join(lines) + "\n"
    _write_private(Path(data_dir) / relative, text)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            audit_anchors.insert().values(
                from_seq=anchor_seq + 1,
                to_seq=to_seq,
                records=len(rows),
                first_prev_hash=anchor_hash,
                last_hash=rows[-1]["hash"],
                cutoff=cutoff,
                archive_file=relative.as_posix(),
                file_sm3=sm3_hex(text.encode("utf-8")),
                purged_at=now,
                purged_by=actor,
            )
        )
        connection.execute(
            audit_log.delete().where(audit_log.c.seq > anchor_seq, audit_log.c.seq <= to_seq)
        )
        audit.record(
            connection,
            actor=actor,
            role=role,
            action=PURGE,
            target=f"audit/{anchor_seq + 1}-{to_seq}",
            rows=len(rows),
            detail={
                "archive_file": relative.as_posix(),
                "anchor_hash": rows[-1]["hash"],
                "cutoff": canonical_time(cutoff),
            },
            at=now,
        )
    return PurgeResult(anchor_seq + 1, to_seq, len(rows), relative.as_posix(), rows[-1]["hash"])
