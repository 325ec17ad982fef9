"""After the automatic checks: the operator's reviewer approves or rejects with a reason (due in
``review_working_days`` working days of the request), then the bureau records the filing (备案号, due
in ``filing_working_days`` of the approval, 第二十三条). Filing releases the result (``release.py``).

Statuses: ``refused`` (an automatic check failed) · ``pending_review`` · ``rejected`` ·
``pending_filing`` · ``released``. Only ``released`` puts anything in the outbox; a rejection deletes
the staged result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.accounts.authorize import require
from assets.audit import log as audit
from assets.authorization.records import china_time, fetch_all, fetch_one, iso, utc_now
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.workdays import Due, WorkCalendar, default_calendar
from assets.exports.config import ExportsConfig
from assets.exports.release import county_rows, register_release, write_pending
from assets.products.fees import FeeConfig
from assets.products.register import get_product
from assets.storage.tables import export_requests

REVIEW_APPROVE = "export_review_approve"
REVIEW_REJECT = "export_review_reject"
FILE = "export_file"
RELEASE = "export_release"

STATUS_LABELS = {
    "refused": "自动核查未通过",
    "pending_review": "待运营机构审核",
    "rejected": "审核未通过",
    "pending_filing": "审核通过，待市数据局备案",
    "released": "已备案并出域",
}


class ExportError(ValueError):
    """A step the export path does not allow now (message in Chinese)."""


@dataclass(frozen=True)
class ExportRequest:
    row: Mapping[str, object]

    def __getattr__(self, name: str) -> object:
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None

    def due(self, config: ExportsConfig, calendar: WorkCalendar | None = None) -> Due | None:
        calendar = calendar or default_calendar()
        if self.row["status"] == "pending_review":
            return calendar.due(self.row["requested_on"], config.review_working_days)
        if self.row["status"] == "pending_filing":
            return calendar.due(self.row["reviewed_on"], config.filing_working_days)
        return None

    def as_record(
        self, config: ExportsConfig, calendar: WorkCalendar | None = None, today: date | None = None
    ) -> dict[str, object]:
        r = self.row
        deadline = self.due(config, calendar)
        return {
            "id": r["export_id"],
            "status": r["status"],
            "status_label": STATUS_LABELS[r["status"]],
            "checks": [
                {"name": c["name"], "passed": c["passed"], "reason": c["reason"]}
                for c in r["checks"]
            ],
            "merchant_id": r["merchant_id"],
            "product_id": r["product_id"],
            "application_id": r["application_id"],
            "recipient": r["recipient"],
            "source": r["source_kind"],
            "query": r["query_sql"],
            "file": r["file_path"],
            "result_kind": r["result_kind"],
            "suppress": r["suppress"],
            "rows": r["result_rows"],
            "columns": r["result_columns"],
            "datasets": r["datasets"],
            "report": r["report"],
            "requested_by": r["requested_by"],
            "requested_at": china_time(r["requested_at"]),
            "requested_on": iso(r["requested_on"]),
            "reviewed_by": r["reviewed_by"],
            "reviewed_at": china_time(r["reviewed_at"]),
            "review_reason": r["review_reason"],
            "filed_by": r["filed_by"],
            "filed_at": china_time(r["filed_at"]),
            "filing_no": r["filing_no"],
            "released_at": china_time(r["released_at"]),
            "due_date": deadline.day.isoformat() if deadline else None,
            "due_date_provisional": deadline.provisional if deadline else None,
            "overdue": bool(deadline and today and today > deadline.day),
        }


def list_exports(
    engine: Engine,
    *,
    merchant_id: str | None = None,
    status: str | None = None,
    export_id: str | None = None,
) -> list[ExportRequest]:
    query = sa.select(export_requests).order_by(export_requests.c.id)
    if merchant_id is not None:
        query = query.where(export_requests.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(export_requests.c.status == status)
    if export_id is not None:
        query = query.where(export_requests.c.export_id == export_id)
    return [ExportRequest(row) for row in fetch_all(engine, query)]


def get_export(engine: Engine, export_id: str) -> ExportRequest:
    found = list_exports(engine, export_id=export_id)
    if not found:
        raise ExportError(f"没有出域申请 {export_id}")
    return found[0]


def _require_status(request: ExportRequest, status: str) -> None:
    if request.row["status"] != status:
        raise ExportError(
            f"出域申请 {request.row['export_id']} 的状态为“{STATUS_LABELS[request.row['status']]}”，"
            f"不能执行此操作（需要“{STATUS_LABELS[status]}”）"
        )


def review_export(
    engine: Engine,
    data_dir: Path,
    account: str,
    export_id: str,
    *,
    approve: bool,
    reason: str,
    today: date,
) -> ExportRequest:
    """The operator's reviewer decides, with a reason either way."""
    actor = require(engine, account, "exports.review")
    request = get_export(engine, export_id)
    _require_status(request, "pending_review")
    if not reason or not reason.strip():
        raise ExportError("审核意见须写明理由")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            export_requests.update()
            .where(export_requests.c.export_id == export_id)
            .values(
                status="pending_filing" if approve else "rejected",
                reviewed_by=actor.name,
                reviewed_at=now,
                reviewed_on=today,
                review_reason=reason.strip(),
            )
        )
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=REVIEW_APPROVE if approve else REVIEW_REJECT,
            target=f"exports/{export_id}",
            reason=reason.strip(),
            at=now,
        )
    if not approve and request.row["staged_path"]:
        (data_dir / str(request.row["staged_path"])).unlink(missing_ok=True)
    return get_export(engine, export_id)


def file_export(
    *,
    platform_engine: Engine,
    operation_engine: Engine,
    data_dir: Path,
    account: str,
    export_id: str,
    filing_no: str,
    fee_config: FeeConfig,
    city: City,
    catalog: Mapping[str, CatalogEntry],
) -> ExportRequest:
    """The bureau records the filing number; the result is then released."""
    actor = require(platform_engine, account, "exports.file")
    request = get_export(platform_engine, export_id)
    _require_status(request, "pending_filing")
    filing_no = (filing_no or "").strip()
    if not filing_no:
        raise ExportError("须填写备案号")
    if fetch_one(
        platform_engine,
        sa.select(export_requests.c.export_id).where(export_requests.c.filing_no == filing_no),
    ):
        raise ExportError(f"备案号 {filing_no} 已用于另一个出域申请")
    staged = data_dir / str(request.row["staged_path"])
    if not staged.is_file():
        raise ExportError(f"待出域结果 {staged} 不存在，无法出域")
    from assets.exports.intake import sm3_file

    if sm3_file(staged) != request.row["staged_sm3"]:
        raise ExportError("待出域结果与核查时的摘要不一致（文件被改动），拒绝出域")
    product = get_product(platform_engine, str(request.row["product_id"]))
    merchant_id = str(request.row["merchant_id"])
    pending, final, digest, rows = write_pending(
        data_dir, merchant_id, export_id, product.product_id, staged
    )
    datasets = list((request.row["datasets"] or {}).keys())
    counties = county_rows(operation_engine, datasets)
    providers = {d: e.provider for d, e in catalog.items()}
    now = utc_now()
    try:
        with platform_engine.begin() as connection:
            connection.execute(
                export_requests.update()
                .where(export_requests.c.export_id == export_id)
                .values(
                    status="released",
                    filed_by=actor.name,
                    filed_at=now,
                    filing_no=filing_no,
                    released_at=now,
                )
            )
            audit.record(
                connection,
                actor=actor.name,
                role=actor.role,
                action=FILE,
                target=f"exports/{export_id}",
                detail={"filing_no": filing_no},
                at=now,
            )
            release_id, lines = register_release(
                connection,
                request={**request.row, "datasets": request.row["datasets"]},
                product=product,
                file_path=str(final.relative_to(data_dir)),
                sm3=digest,
                rows=rows,
                filing_no=filing_no,
                filed_by=actor.name,
                fee_config=fee_config,
                city=city,
                catalog_providers=providers,
                counties=counties,
                at=now,
            )
            audit.record(
                connection,
                actor=actor.name,
                role=actor.role,
                action=RELEASE,
                target=f"exports/{export_id}",
                rows=rows,
                detail={
                    "release": release_id,
                    "sm3": digest,
                    "file": str(final.relative_to(data_dir)),
                    "product": product.product_id,
                    "application": request.row["application_id"],
                    "recipient": request.row["recipient"],
                    "approved_by": request.row["reviewed_by"],
                    "filing_no": filing_no,
                    "price_fen": product.price_fen if product.use == "commercial" else 0,
                    "ledger": {line.party: line.amount_fen for line in lines},
                },
                at=now,
            )
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    pending.replace(final)
    staged.unlink(missing_ok=True)
    return get_export(platform_engine, export_id)


def open_deadlines(
    engine: Engine, config: ExportsConfig, today: date, calendar: WorkCalendar | None = None
) -> list[dict[str, object]]:
    """The exports waiting on people, with their due dates on the working-day clock."""
    out = []
    for request in list_exports(engine, status="pending_review") + list_exports(
        engine, status="pending_filing"
    ):
        deadline = request.due(config, calendar)
        assert deadline is not None
        out.append(
            {
                "id": request.row["export_id"],
                "status": request.row["status"],
                "waiting_for": "operator_review"
                if request.row["status"] == "pending_review"
                else "bureau_filing",
                "due_date": deadline.day.isoformat(),
                "due_date_provisional": deadline.provisional,
                "overdue": today > deadline.day,
            }
        )
    return sorted(out, key=lambda r: (r["due_date"], r["id"]))


__all__ = [
    "ExportError",
    "ExportRequest",
    "file_export",
    "get_export",
    "list_exports",
    "open_deadlines",
    "review_export",
]
