"""A redelivery that loses most of a partition is not a replacement until someone confirms it.

A county's redelivery of a period replaces the partition's slice whole. When the new file would leave
fewer than ``ratio`` (default :data:`DEFAULT_SHRINK_RATIO`) of the rows the partition holds now — an
export cut short, a filter left on, the wrong file — it is held: recorded with status ``held`` and a
ticket to the department, the staged and exchange slices untouched. Once the department's county
office or the bureau confirms the delivery (``publicdata ingest confirm``, by the file's checksum,
audited), the next run applies it. A different file for the period is judged afresh.

No Dagster here: the ingest asset asks :func:`shrink_problem` and :func:`confirmed_checksums`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.aggregation.statuses import STATUS_HELD
from assets.audit import log as audit
from assets.storage.tables import ingest_confirmations, ingest_files

SHRINK = "shrink"  # ingest_files.reason_code of a held delivery
DEFAULT_SHRINK_RATIO = 0.5
AUDIT_CONFIRM = "ingest.confirm"


class HoldError(ValueError):
    """A confirmation that cannot be made as asked; the message says why, in Chinese."""


def staged_rows(path: Path) -> tuple[int, frozenset[str]] | None:
    """Rows of the partition's current staged slice and the checksums of the deliveries in it."""
    if not Path(path).exists():
        return None
    # Arrow only here: the CLI's settings read this module's ratio, and a rerun with nothing to
    # ingest loads no Arrow
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["file_checksum"])
    return table.num_rows, frozenset(table.column(0).unique().to_pylist())


def shrink_problem(before: int, after: int, ratio: float) -> str | None:
    """Why a delivery of ``after`` rows replacing ``before`` is held, or None."""
    if before <= 0 or after >= before * ratio:
        return None
    return (
        f"本次交付可入库 {after} 行，比现有的 {before} 行少 {1 - after / before:.0%}"
        f"（低于现有行数的 {ratio:.0%}）：可能导出不完整或选错了文件，暂不替换，原有数据保留。"
        "如确属正常，由数源部门或县（区）数据管理机构确认后于下一次运行时替换"
        "（publicdata ingest confirm）；否则请重新导出完整文件报送"
    )


def confirmed_checksums(
    engine: Engine, dataset_id: str, county_code: str, period: str
) -> frozenset[str]:
    query = sa.select(ingest_confirmations.c.checksum).where(
        ingest_confirmations.c.dataset_id == dataset_id,
        ingest_confirmations.c.county_code == county_code,
        ingest_confirmations.c.period == period,
    )
    with engine.connect() as connection:
        return frozenset(connection.execute(query).scalars())


@dataclass(frozen=True)
class HeldDelivery:
    dataset_id: str
    county_code: str
    period: str
    relative_path: str
    checksum: str
    reason: str
    held_at: datetime

    def as_record(self) -> dict[str, object]:
        return {
            "dataset": self.dataset_id,
            "county": self.county_code,
            "period": self.period,
            "path": self.relative_path,
            "checksum": self.checksum,
            "reason": self.reason,
            "held_at": self.held_at.isoformat(),
        }


def held_deliveries(engine: Engine) -> list[HeldDelivery]:
    """Partitions whose latest delivery is held and not yet confirmed."""
    latest = (
        sa.select(sa.func.max(ingest_files.c.id).label("id"))
        .group_by(ingest_files.c.dataset_id, ingest_files.c.county_code, ingest_files.c.period)
        .subquery()
    )
    query = (
        sa.select(ingest_files)
        .join(latest, ingest_files.c.id == latest.c.id)
        .where(ingest_files.c.status == STATUS_HELD)
        .order_by(ingest_files.c.dataset_id, ingest_files.c.county_code, ingest_files.c.period)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
        confirmed = {
            (r.dataset_id, r.county_code, r.period, r.checksum)
            for r in connection.execute(sa.select(ingest_confirmations))
        }
    return [
        HeldDelivery(
            dataset_id=r["dataset_id"],
            county_code=r["county_code"],
            period=r["period"],
            relative_path=r["relative_path"],
            checksum=r["checksum"],
            reason=r["reason"] or "",
            held_at=r["ingested_at"],
        )
        for r in rows
        if (r["dataset_id"], r["county_code"], r["period"], r["checksum"]) not in confirmed
    ]


@dataclass(frozen=True)
class Confirmation:
    dataset_id: str
    county_code: str
    period: str
    checksum: str
    rows_before: int
    rows_after: int
    confirmed_by: str
    confirmed_at: datetime
    reason: str

    def as_record(self) -> dict[str, object]:
        return {
            "dataset": self.dataset_id,
            "county": self.county_code,
            "period": self.period,
            "checksum": self.checksum,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "confirmed_by": self.confirmed_by,
            "confirmed_at": self.confirmed_at.isoformat(),
            "reason": self.reason,
        }


def confirm_delivery(
    engine: Engine,
    *,
    dataset_id: str,
    county_code: str,
    period: str,
    checksum: str,
    rows_before: int,
    rows_after: int,
    reason: str,
    actor: str,
    actor_role: str | None = None,
    at: datetime | None = None,
) -> Confirmation:
    """Record that the held delivery ``checksum`` of the partition may replace it — audited in the
    same transaction. The caller checked the actor's role and that the file is still the one held."""
    if not reason.strip():
        raise HoldError("确认须写明原因（为什么本期数据比现有的少这么多）")
    held = {(h.dataset_id, h.county_code, h.period): h for h in held_deliveries(engine)}
    current = held.get((dataset_id, county_code, period))
    if current is None or current.checksum != checksum:
        raise HoldError(
            f"{dataset_id} 县区 {county_code} 第 {period} 期没有待确认的交付"
            "（publicdata ingest held 查看待确认的交付）"
        )
    at = at or datetime.now(UTC)
    values = {
        "dataset_id": dataset_id,
        "county_code": county_code,
        "period": period,
        "checksum": checksum,
        "rows_before": rows_before,
        "rows_after": rows_after,
        "confirmed_by": actor,
        "confirmed_role": actor_role,
        "confirmed_at": at,
        "reason": reason,
    }
    with engine.begin() as connection:
        connection.execute(ingest_confirmations.insert().values(**values))
        audit.record(
            connection,
            actor=actor,
            role=actor_role,
            action=AUDIT_CONFIRM,
            target=f"ingest/{dataset_id}/{county_code}/{period}",
            reason=reason,
            rows=rows_after,
            detail={"checksum": checksum, "rows_before": rows_before, "rows_after": rows_after},
            at=at,
        )
    return Confirmation(
        dataset_id=dataset_id,
        county_code=county_code,
        period=period,
        checksum=checksum,
        rows_before=rows_before,
        rows_after=rows_after,
        confirmed_by=actor,
        confirmed_at=at,
        reason=reason,
    )
