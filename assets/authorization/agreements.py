"""The development agreement (公共数据开发利用格式协议, 第十九条): a versioned template the operator drafts and
the bureau approves; a merchant signs a version. The *current* version is the newest approved one, and no
grant is live for a merchant who has not signed it — approving a new version suspends every merchant's
grants until they sign again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.authorization.records import (
    AuthorizationError,
    NotFound,
    authorize,
    china_time,
    fetch_all,
    fetch_one,
    require_reason,
    utc_now,
    write_audit,
)
from assets.storage.tables import (
    agreement_signatures,
    agreement_templates,
    agreement_versions,
    merchants,
)

DEVELOPMENT = "development"  # the one format agreement of 第十九条
DEVELOPMENT_TITLE = "公共数据开发利用格式协议"

# What 第十九条 says the agreement must settle; a draft missing one of them is refused.
REQUIRED_CLAUSES: tuple[str, ...] = (
    "权利义务",
    "应用场景",
    "数据范围",
    "开发利用期限",
    "开发利用条件",
    "数据安全",
    "服务费用",
    "交易条件",
    "终止情形",
    "违约责任",
)

DRAFT = "agreement_draft"
APPROVE = "agreement_approve"
REJECT = "agreement_reject"
SIGN = "agreement_sign"

STATUS_LABELS = {"draft": "待审核", "approved": "已批准", "rejected": "未批准"}


@dataclass(frozen=True)
class AgreementVersion:
    id: int
    template_code: str
    version: int
    body: str
    body_sha256: str
    status: str
    drafted_by: str
    drafted_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    def as_record(self, *, current: bool = False, with_body: bool = False) -> dict[str, object]:
        record: dict[str, object] = {
            "id": self.id,
            "template": self.template_code,
            "version": self.version,
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "current": current,
            "sha256": self.body_sha256,
            "drafted_by": self.drafted_by,
            "drafted_at": china_time(self.drafted_at),
            "decided_by": self.decided_by,
            "decided_at": china_time(self.decided_at),
            "decision_reason": self.decision_reason,
        }
        if with_body:
            record["body"] = self.body
        return record


def _from_row(row: dict) -> AgreementVersion:
    return AgreementVersion(**{k: row[k] for k in AgreementVersion.__dataclass_fields__})


def draft_version(
    engine: Engine,
    account: str,
    body: str,
    *,
    template_code: str = DEVELOPMENT,
    title: str = DEVELOPMENT_TITLE,
) -> AgreementVersion:
    """A new version of the template, waiting for the bureau's approval."""
    actor = authorize(engine, account, "agreements.draft")
    body = body.strip()
    missing = [clause for clause in REQUIRED_CLAUSES if clause not in body]
    if missing:
        raise AuthorizationError(
            "格式协议应明确（第十九条）：" + "、".join(missing) + " —— 文本中没有这些条款"
        )
    now = utc_now()
    with engine.begin() as connection:
        if not connection.execute(
            sa.select(agreement_templates.c.code).where(agreement_templates.c.code == template_code)
        ).first():
            connection.execute(
                agreement_templates.insert().values(
                    code=template_code, title=title, created_by=actor.name, created_at=now
                )
            )
        latest = connection.execute(
            sa.select(sa.func.max(agreement_versions.c.version)).where(
                agreement_versions.c.template_code == template_code
            )
        ).scalar_one()
        version = int(latest or 0) + 1
        new_id = connection.execute(
            agreement_versions.insert().values(
                template_code=template_code,
                version=version,
                body=body,
                body_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
                status="draft",
                drafted_by=actor.name,
                drafted_at=now,
            )
        ).inserted_primary_key[0]
        write_audit(
            connection,
            actor,
            DRAFT,
            f"authorization/agreement/{template_code}/{version}",
            detail={"version_id": int(new_id)},
            at=now,
        )
    return get_version(engine, int(new_id))


def decide_version(
    engine: Engine, account: str, version_id: int, *, approve: bool, reason: str | None = None
) -> AgreementVersion:
    """The bureau approves (it becomes current) or rejects (with the reason) a drafted version."""
    actor = authorize(engine, account, "agreements.approve")
    current = get_version(engine, version_id)
    if current.status != "draft":
        raise AuthorizationError(
            f"协议第 {current.version} 版已{STATUS_LABELS[current.status]}，不能再次审核"
        )
    if not approve:
        reason = require_reason(reason, "不批准格式协议必须写明理由")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            agreement_versions.update()
            .where(agreement_versions.c.id == version_id)
            .values(
                status="approved" if approve else "rejected",
                decided_by=actor.name,
                decided_at=now,
                decision_reason=reason,
            )
        )
        write_audit(
            connection,
            actor,
            APPROVE if approve else REJECT,
            f"authorization/agreement/{current.template_code}/{current.version}",
            reason=reason,
            detail={"version_id": version_id, "sha256": current.body_sha256},
            at=now,
        )
    return get_version(engine, version_id)


def sign(engine: Engine, account: str, merchant_id: str, version_id: int) -> AgreementVersion:
    """The merchant signs a version; only the current approved version can be signed."""
    actor = authorize(engine, account, "agreements.sign", merchant_id=merchant_id)
    version = get_version(engine, version_id)
    current = current_version(engine, version.template_code)
    if current is None or current.id != version_id:
        now_text = f"当前版本为第 {current.version} 版" if current else "尚无已批准的版本"
        raise AuthorizationError(
            f"只能签署现行的格式协议（{now_text}），不能签署第 {version.version} 版"
        )
    row = fetch_one(engine, sa.select(merchants).where(merchants.c.merchant_id == merchant_id))
    if row is None:
        raise NotFound(f"没有数据商 {merchant_id}")
    if row["status"] != "approved":
        raise AuthorizationError(f"数据商 {merchant_id} 不是已注册状态，不能签署开发利用协议")
    now = utc_now()
    with engine.begin() as connection:
        if connection.execute(
            sa.select(agreement_signatures.c.id).where(
                agreement_signatures.c.merchant_id == merchant_id,
                agreement_signatures.c.version_id == version_id,
            )
        ).first():
            raise AuthorizationError(f"数据商 {merchant_id} 已签署第 {version.version} 版")
        connection.execute(
            agreement_signatures.insert().values(
                merchant_id=merchant_id, version_id=version_id, signed_by=actor.name, signed_at=now
            )
        )
        write_audit(
            connection,
            actor,
            SIGN,
            f"authorization/merchant/{merchant_id}",
            detail={"template": version.template_code, "version": version.version},
            at=now,
        )
    return version


def get_version(engine: Engine, version_id: int) -> AgreementVersion:
    row = fetch_one(
        engine, sa.select(agreement_versions).where(agreement_versions.c.id == version_id)
    )
    if row is None:
        raise NotFound(f"没有第 {version_id} 号协议版本")
    return _from_row(row)


def list_versions(engine: Engine, template_code: str = DEVELOPMENT) -> list[AgreementVersion]:
    query = (
        sa.select(agreement_versions)
        .where(agreement_versions.c.template_code == template_code)
        .order_by(agreement_versions.c.version)
    )
    return [_from_row(row) for row in fetch_all(engine, query)]


def current_version(engine: Engine, template_code: str = DEVELOPMENT) -> AgreementVersion | None:
    approved = [v for v in list_versions(engine, template_code) if v.status == "approved"]
    return approved[-1] if approved else None


def signers_of_current(engine: Engine, template_code: str = DEVELOPMENT) -> set[str]:
    """Merchants who signed the current version (an empty set while none is approved)."""
    current = current_version(engine, template_code)
    if current is None:
        return set()
    rows = fetch_all(
        engine,
        sa.select(agreement_signatures.c.merchant_id).where(
            agreement_signatures.c.version_id == current.id
        ),
    )
    return {row["merchant_id"] for row in rows}


def signed_versions(engine: Engine, merchant_id: str) -> list[dict[str, object]]:
    query = (
        sa.select(agreement_versions.c.version, agreement_signatures.c.signed_at)
        .join(agreement_versions, agreement_versions.c.id == agreement_signatures.c.version_id)
        .where(agreement_signatures.c.merchant_id == merchant_id)
        .order_by(agreement_versions.c.version)
    )
    return [
        {"version": row["version"], "signed_at": china_time(row["signed_at"])}
        for row in fetch_all(engine, query)
    ]
