"""Data merchants (数据商, 第十八条): registration with the unified social credit code checked (GB 32100),
the operator's decision within 5 working days of acceptance (受理), and exit (退出): every grant revoked,
the exit recorded and reported to the bureau. The contact phone is personal data: shown masked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.accounts.authorize import AccessDenied
from assets.authorization.grants import revoke_grants
from assets.authorization.records import (
    AuthorizationError,
    NotFound,
    authorize,
    china_time,
    due,
    fetch_all,
    fetch_one,
    iso,
    next_id,
    require_reason,
    uscc_problem,
    utc_now,
    write_audit,
)
from assets.common.masking import mask_value
from assets.common.workdays import WorkCalendar
from assets.storage.tables import merchants as table

DECISION_WORKING_DAYS = 5  # 第十八条

REGISTER = "merchant_register"
APPROVE = "merchant_approve"
REFUSE = "merchant_refuse"
EXIT = "merchant_exit"
EXIT_REPORT = "merchant_exit_report"

STATUS_LABELS = {
    "pending": "待核查",
    "approved": "已注册",
    "refused": "不予注册",
    "exited": "已退出",
}
MERCHANT_ID_PATTERN = r"^[a-z][a-z0-9_]{2,15}$"


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    uscc: str
    contact_name: str
    contact_phone: str
    qualifications: tuple[str, ...]
    status: str
    registered_by: str
    registered_at: datetime
    accepted_on: date
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    exited_by: str | None
    exited_at: datetime | None
    exit_reason: str | None
    exit_reported_at: datetime | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def decision_due(self, calendar: WorkCalendar | None = None):
        return due(self.accepted_on, DECISION_WORKING_DAYS, calendar)

    def as_record(self, calendar: WorkCalendar | None = None) -> dict[str, object]:
        record: dict[str, object] = {
            "merchant_id": self.merchant_id,
            "name": self.name,
            "uscc": self.uscc,
            "contact_name": self.contact_name,
            "contact_phone": mask_value(self.contact_phone, "cn_mobile_phone"),
            "qualifications": list(self.qualifications),
            "status": self.status,
            "status_label": self.status_label,
            "registered_by": self.registered_by,
            "registered_at": china_time(self.registered_at),
            "accepted_on": iso(self.accepted_on),
            "due_date": None,
            "due_date_provisional": None,
            "decided_by": self.decided_by,
            "decided_at": china_time(self.decided_at),
            "decision_reason": self.decision_reason,
            "exited_by": self.exited_by,
            "exited_at": china_time(self.exited_at),
            "exit_reason": self.exit_reason,
            "exit_reported_at": china_time(self.exit_reported_at),
        }
        if self.status == "pending":
            decision = self.decision_due(calendar)
            record["due_date"] = decision.day.isoformat()
            record["due_date_provisional"] = decision.provisional
        return record


def _from_row(row: dict) -> Merchant:
    values = {k: row[k] for k in Merchant.__dataclass_fields__}
    values["qualifications"] = tuple(row["qualifications"] or ())
    return Merchant(**values)


def register_merchant(
    engine: Engine,
    account: str,
    *,
    name: str,
    uscc: str,
    contact_name: str,
    contact_phone: str,
    qualifications: Sequence[str],
    today: date,
    merchant_id: str | None = None,
) -> Merchant:
    """Accept (受理) a merchant's registration: the operator's 5-working-day clock starts ``today``."""
    try:  # operator staff accept a registration; a merchant user registers its own merchant
        actor = authorize(engine, account, "merchants.accept")
    except AccessDenied:
        actor = authorize(engine, account, "merchants.register", merchant_id=merchant_id)
    uscc = uscc.strip().upper()
    if problem := uscc_problem(uscc):
        raise AuthorizationError(problem)
    if not name.strip() or not contact_name.strip() or not contact_phone.strip():
        raise AuthorizationError("须填写数据商名称、联系人和联系电话")
    qualifications = tuple(q.strip() for q in qualifications if q.strip())
    if not qualifications:
        raise AuthorizationError("须列出资质材料（营业执照、数据安全管理制度等）")
    if merchant_id is not None and not re.fullmatch(MERCHANT_ID_PATTERN, merchant_id):
        raise AuthorizationError(
            f"数据商编号 {merchant_id} 应为小写字母开头的 3–16 位小写字母、数字、下划线"
        )
    now = utc_now()
    with engine.begin() as connection:
        if connection.execute(sa.select(table.c.merchant_id).where(table.c.uscc == uscc)).first():
            raise AuthorizationError(f"统一社会信用代码 {uscc} 已注册为数据商")
        merchant_id = merchant_id or next_id(connection, table, "merchant_id", "m")
        if connection.execute(
            sa.select(table.c.id).where(table.c.merchant_id == merchant_id)
        ).first():
            raise AuthorizationError(f"数据商编号 {merchant_id} 已被使用")
        connection.execute(
            table.insert().values(
                merchant_id=merchant_id,
                name=name.strip(),
                uscc=uscc,
                contact_name=contact_name.strip(),
                contact_phone=contact_phone.strip(),
                qualifications=list(qualifications),
                status="pending",
                registered_by=actor.name,
                registered_at=now,
                accepted_on=today,
            )
        )
        write_audit(
            connection,
            actor,
            REGISTER,
            f"authorization/merchant/{merchant_id}",
            detail={"uscc": uscc, "accepted_on": today.isoformat()},
            at=now,
        )
    return get_merchant(engine, merchant_id)


def decide_merchant(
    engine: Engine, account: str, merchant_id: str, *, approve: bool, reason: str | None = None
) -> Merchant:
    """予以注册 / 不予注册 (the latter with its reason, 第十八条)."""
    actor = authorize(engine, account, "merchants.decide")
    merchant = get_merchant(engine, merchant_id)
    if merchant.status != "pending":
        raise AuthorizationError(f"数据商 {merchant_id} 已{merchant.status_label}，不能再次核查")
    if not approve:
        reason = require_reason(reason, "不予注册必须写明理由")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.merchant_id == merchant_id)
            .values(
                status="approved" if approve else "refused",
                decided_by=actor.name,
                decided_at=now,
                decision_reason=reason,
            )
        )
        write_audit(
            connection,
            actor,
            APPROVE if approve else REFUSE,
            f"authorization/merchant/{merchant_id}",
            reason=reason,
            detail={"due_date": merchant.decision_due().day.isoformat()},
            at=now,
        )
    return get_merchant(engine, merchant_id)


def exit_merchant(engine: Engine, account: str, merchant_id: str, *, reason: str) -> list[str]:
    """退出: the merchant's grants are revoked, the exit is recorded and reported to the bureau (an
    audit entry of its own, and ``exit_reported_at``). The workspace reconciliation drops the merchant's
    database objects from ``all_merchants``' status. Returns the revoked grant ids."""
    actor = authorize(engine, account, "merchants.exit", merchant_id=merchant_id)
    reason = require_reason(reason, "数据商退出必须写明原因")
    merchant = get_merchant(engine, merchant_id)
    if merchant.status == "exited":
        raise AuthorizationError(f"数据商 {merchant_id} 已于 {china_time(merchant.exited_at)} 退出")
    now = utc_now()
    with engine.begin() as connection:
        revoked = revoke_grants(
            connection, actor, reason=f"数据商退出：{reason}", merchant_id=merchant_id, at=now
        )
        connection.execute(
            table.update()
            .where(table.c.merchant_id == merchant_id)
            .values(
                status="exited",
                exited_by=actor.name,
                exited_at=now,
                exit_reason=reason,
                exit_reported_at=now,
            )
        )
        target = f"authorization/merchant/{merchant_id}"
        write_audit(
            connection, actor, EXIT, target, reason=reason, detail={"grants": revoked}, at=now
        )
        write_audit(
            connection,
            actor,
            EXIT_REPORT,
            target,
            reason=f"报送市公共数据主管部门：数据商 {merchant.name}（{merchant.uscc}）退出",
            detail={"previous_status": merchant.status, "grants_revoked": revoked},
            at=now,
        )
    return revoked


def get_merchant(engine: Engine, merchant_id: str) -> Merchant:
    row = fetch_one(engine, sa.select(table).where(table.c.merchant_id == merchant_id))
    if row is None:
        raise NotFound(f"没有数据商 {merchant_id}")
    return _from_row(row)


def list_merchants(engine: Engine, status: str | None = None) -> list[Merchant]:
    query = sa.select(table).order_by(table.c.id)
    if status is not None:
        query = query.where(table.c.status == status)
    return [_from_row(row) for row in fetch_all(engine, query)]
