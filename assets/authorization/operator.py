"""The operating unit's authorization (第十三条): the bureau signs an authorized-operation agreement with
the selected unit, in one of the modes of 第四条 — 整体授权 (whole), 分领域授权 (by domain) or 场景授权
(by scenario) — for a period. Outside an active authorization nothing is granted and no application is
accepted.

A domain is a value of the catalog entry's 分类 (its 门类, e.g. 社会民生, or its 业务属性, e.g. 医疗卫生);
a scenario is matched exactly against the application's 应用场景.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

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
    uscc_problem,
    utc_now,
    write_audit,
)
from assets.storage.tables import operator_authorizations as table

CREATE = "operator_authorization_create"
REVOKE = "operator_authorization_revoke"


class Mode(StrEnum):
    WHOLE = "whole"
    DOMAIN = "domain"
    SCENARIO = "scenario"

    @property
    def label(self) -> str:
        return {"whole": "整体授权", "domain": "分领域授权", "scenario": "场景授权"}[self.value]


@dataclass(frozen=True)
class OperatorAuthorization:
    id: int
    unit_name: str
    unit_uscc: str | None
    agreement_no: str
    mode: Mode
    domains: tuple[str, ...]
    scenarios: tuple[str, ...]
    valid_from: date
    valid_to: date
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str | None

    def active_on(self, day: date) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_to

    def status(self, day: date) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if day < self.valid_from:
            return "pending"
        return "active" if day <= self.valid_to else "expired"

    def covers(self, domains: Iterable[str], scenario: str) -> bool:
        """Whether this authorization's mode covers a dataset of ``domains`` used for ``scenario``."""
        if self.mode is Mode.WHOLE:
            return True
        if self.mode is Mode.DOMAIN:
            return bool(set(domains) & set(self.domains))
        return scenario.strip() in self.scenarios

    def as_record(self, today: date) -> dict[str, object]:
        status = self.status(today)
        return {
            "id": self.id,
            "unit_name": self.unit_name,
            "unit_uscc": self.unit_uscc,
            "agreement_no": self.agreement_no,
            "mode": self.mode.value,
            "mode_label": self.mode.label,
            "domains": list(self.domains),
            "scenarios": list(self.scenarios),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
            "status": status,
            "status_label": STATUS_LABELS[status],
            "created_by": self.created_by,
            "created_at": china_time(self.created_at),
            "revoked_by": self.revoked_by,
            "revoked_at": china_time(self.revoked_at),
            "revoke_reason": self.revoke_reason,
        }


STATUS_LABELS = {"pending": "未生效", "active": "生效中", "expired": "已到期", "revoked": "已撤销"}


def _from_row(row: dict) -> OperatorAuthorization:
    return OperatorAuthorization(
        **{
            **{k: row[k] for k in OperatorAuthorization.__dataclass_fields__},
            "mode": Mode(row["mode"]),
            "domains": tuple(row["domains"] or ()),
            "scenarios": tuple(row["scenarios"] or ()),
        }
    )


def create_authorization(
    engine: Engine,
    account: str,
    *,
    unit_name: str,
    agreement_no: str,
    mode: Mode | str,
    valid_from: date,
    valid_to: date,
    domains: Sequence[str] = (),
    scenarios: Sequence[str] = (),
    unit_uscc: str | None = None,
) -> OperatorAuthorization:
    """Record the authorized-operation agreement the bureau signed with the operating unit."""
    actor = authorize(engine, account, "authorization.manage")
    mode = Mode(mode)
    domains = tuple(d.strip() for d in domains if d.strip())
    scenarios = tuple(s.strip() for s in scenarios if s.strip())
    if not unit_name.strip() or not agreement_no.strip():
        raise AuthorizationError("须写明授权运营单位名称和授权运营协议编号")
    if valid_to < valid_from:
        raise AuthorizationError(f"授权期限的结束日 {valid_to} 早于开始日 {valid_from}")
    if mode is Mode.DOMAIN and not domains:
        raise AuthorizationError("分领域授权须列出授权的领域（目录分类的门类或业务属性）")
    if mode is Mode.SCENARIO and not scenarios:
        raise AuthorizationError("场景授权须列出授权的应用场景")
    if unit_uscc and (problem := uscc_problem(unit_uscc)):
        raise AuthorizationError(problem)
    now = utc_now()
    with engine.begin() as connection:
        if connection.execute(
            sa.select(table.c.id).where(table.c.agreement_no == agreement_no.strip())
        ).first():
            raise AuthorizationError(f"授权运营协议 {agreement_no} 已登记")
        new_id = connection.execute(
            table.insert().values(
                unit_name=unit_name.strip(),
                unit_uscc=unit_uscc.strip().upper() if unit_uscc else None,
                agreement_no=agreement_no.strip(),
                mode=mode.value,
                domains=list(domains if mode is Mode.DOMAIN else ()),
                scenarios=list(scenarios if mode is Mode.SCENARIO else ()),
                valid_from=valid_from,
                valid_to=valid_to,
                created_by=actor.name,
                created_at=now,
            )
        ).inserted_primary_key[0]
        write_audit(
            connection,
            actor,
            CREATE,
            f"authorization/operator/{new_id}",
            detail={
                "agreement_no": agreement_no.strip(),
                "mode": mode.value,
                "valid_from": valid_from.isoformat(),
                "valid_to": valid_to.isoformat(),
            },
            at=now,
        )
    return get_authorization(engine, int(new_id))


def revoke_authorization(
    engine: Engine, account: str, authorization_id: int, *, reason: str
) -> OperatorAuthorization:
    """End an authorization before its term (every grant it carried stops at once)."""
    actor = authorize(engine, account, "authorization.manage")
    reason = require_reason(reason, "撤销运营授权必须写明原因")
    current = get_authorization(engine, authorization_id)
    if current.revoked_at is not None:
        raise AuthorizationError(f"运营授权 {authorization_id} 已于 {current.revoked_at} 撤销")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.id == authorization_id)
            .values(revoked_by=actor.name, revoked_at=now, revoke_reason=reason)
        )
        write_audit(
            connection,
            actor,
            REVOKE,
            f"authorization/operator/{authorization_id}",
            reason=reason,
            detail={"agreement_no": current.agreement_no},
            at=now,
        )
    return get_authorization(engine, authorization_id)


def get_authorization(engine: Engine, authorization_id: int) -> OperatorAuthorization:
    row = fetch_one(engine, sa.select(table).where(table.c.id == authorization_id))
    if row is None:
        raise NotFound(f"没有第 {authorization_id} 号运营授权")
    return _from_row(row)


def list_authorizations(engine: Engine) -> list[OperatorAuthorization]:
    return [_from_row(row) for row in fetch_all(engine, sa.select(table).order_by(table.c.id))]


def active_authorizations(engine: Engine, today: date) -> list[OperatorAuthorization]:
    return [a for a in list_authorizations(engine) if a.active_on(today)]


def covering_authorization(
    engine: Engine, today: date, domains: Iterable[str], scenario: str
) -> OperatorAuthorization | None:
    domains = tuple(domains)
    for authorization in active_authorizations(engine, today):
        if authorization.covers(domains, scenario):
            return authorization
    return None


def no_authorization_message(engine: Engine, today: date) -> str:
    """Why nothing can be granted today (for refusals): no, a future, an expired or a revoked one."""
    known = list_authorizations(engine)
    if not known:
        return (
            "尚未登记授权运营协议（第十三条），运营平台不受理数据使用申请、不授予任何数据使用权限"
        )
    latest = max(known, key=lambda a: a.valid_to)
    status = latest.status(today)
    what = {
        "pending": f"自 {latest.valid_from} 起生效",
        "expired": f"已于 {latest.valid_to} 到期",
        "revoked": f"已被撤销（{latest.revoke_reason}）",
        "active": "生效中",
    }[status]
    return (
        f"授权运营协议 {latest.agreement_no}（{latest.unit_name}）{what}；没有生效中的运营授权，"
        "运营平台不受理数据使用申请、不授予任何数据使用权限"
    )
