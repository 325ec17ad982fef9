"""The permission table: action code → the roles that may take it and how their scope must match.

Data, not code: a new action is one entry in ``PERMISSIONS`` (or ``register_action`` from the package
that owns it). Scope rules (``Match``):

- ``ANY`` — the role acts city-wide (the bureau, operator staff, engineers): no scope to compare.
- ``COUNTY`` — the account's county must equal the ``county_code`` of the request.
- ``DEPARTMENT`` — the account's department must equal the request's ``department_id``; an office of a
  county (account ``county_code`` set) must also match the request's ``county_code``, a city-level
  office (no county) acts in every county of its department.
- ``MERCHANT`` — the account's merchant must equal the request's ``merchant_id``.

A scoped rule needs the scope named in the request: a department office cannot act on a ticket whose
department the caller did not say.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assets.accounts.roles import Role


class Match(StrEnum):
    ANY = "any"
    COUNTY = "county"
    DEPARTMENT = "department"
    MERCHANT = "merchant"


@dataclass(frozen=True)
class Grant:
    role: Role
    match: Match = Match.ANY


@dataclass(frozen=True)
class Permission:
    action: str
    label: str  # Chinese, for messages
    grants: tuple[Grant, ...]

    def grants_for(self, role: Role) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.role == role)

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(dict.fromkeys(g.role for g in self.grants))


B, CO, DO = Role.BUREAU, Role.COUNTY_OFFICE, Role.DEPARTMENT_OFFICE
OC, OR, MU, EN = (
    Role.OPERATOR_COMPLIANCE,
    Role.OPERATOR_REVIEW,
    Role.MERCHANT_USER,
    Role.ENGINEER,
)


def _p(action: str, label: str, *grants: Grant | Role) -> Permission:
    return Permission(action, label, tuple(g if isinstance(g, Grant) else Grant(g) for g in grants))


_TABLE: tuple[Permission, ...] = (
    _p(
        "tickets.acknowledge",
        "确认质量工单",
        B,
        Grant(CO, Match.COUNTY),
        Grant(DO, Match.DEPARTMENT),
    ),
    _p(
        "tickets.claim_fixed",
        "申报质量工单已整改",
        B,
        Grant(CO, Match.COUNTY),
        Grant(DO, Match.DEPARTMENT),
    ),
    _p("supply.suspend", "暂停向运营平台供给数据", B),
    _p("supply.resume", "恢复向运营平台供给数据", B),
    _p("catalog.publish", "发布公共数据资源目录", B, EN),
    _p("accounts.manage", "管理账号", B, EN),
    _p("audit.read", "查阅审计日志", B, EN),
    _p("audit.purge", "归档清理超过留存期的审计记录", B, EN),
    _p("risk.record", "登记风险评估", B, OC),
    _p("incidents.open", "登记安全事件", B, OC, OR),
    _p("incidents.fix", "登记安全事件整改情况", B, OC, OR),
    _p("incidents.close", "关闭安全事件", B, OC, OR),
    _p("merchants.decide", "决定数据商入驻", OR, OC),
    _p("applications.compliance", "数据使用申请合规审查", OC),
    _p("applications.review", "审核数据使用申请", B, Grant(DO, Match.DEPARTMENT)),
    _p("applications.submit", "提交数据使用申请", Grant(MU, Match.MERCHANT)),
    _p("applications.withdraw", "撤回数据使用申请", Grant(MU, Match.MERCHANT)),
    _p("authorization.manage", "管理运营授权", B),
    _p("agreements.approve", "批准开发利用协议", B),
    _p("exports.request", "申请产品出域", Grant(MU, Match.MERCHANT)),
    _p("exports.review", "审核产品出域", OR),
    _p("exports.file", "产品出域备案", B),
    _p("products.register", "登记数据产品", Grant(MU, Match.MERCHANT), OR, OC),
    _p("products.price", "记录产品成本与定价", OR, OC),
    _p("workspace.query", "在运营平台工作区查询数据", Grant(MU, Match.MERCHANT)),
    _p("pipeline.run", "运行数据流水线", EN, B),
)

PERMISSIONS: dict[str, Permission] = {p.action: p for p in _TABLE}


def register_action(action: str, label: str, *grants: Grant | Role) -> Permission:
    """Add an action (the package that owns it calls this at import); re-registering the same
    definition is harmless, a conflicting one is an error."""
    permission = _p(action, label, *grants)
    existing = PERMISSIONS.get(action)
    if existing is not None and existing != permission:
        raise ValueError(f"action {action} is already registered differently")
    PERMISSIONS[action] = permission
    return permission


def permission(action: str) -> Permission:
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"未登记的操作 {action}") from None
