"""The gate every state-changing action passes: ``require(engine, account, action, scope…)``.

    account = require(engine, "gaj_640521", "tickets.acknowledge",
                      county_code=ticket.county_code, department_id=ticket.department_id)
    ... act, then audit.record(connection, actor=account.name, role=account.role, ...)

The account is loaded from the platform records (unknown or disabled → ``AccessDenied``), the action
looked up in the permission table (``assets/accounts/permissions.py``) and the account's scope compared
with the scope of the request. ``AccessDenied`` says in Chinese who was refused what, and why.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from assets.accounts.permissions import PERMISSIONS, Grant, Match, Permission
from assets.accounts.store import Account, get_account

__all__ = ["AccessDenied", "Account", "allowed", "require"]


class AccessDenied(PermissionError):
    """The account may not take the action (message in Chinese: account, action, what is missing)."""

    def __init__(self, message: str, *, account: str, action: str) -> None:
        super().__init__(message)
        self.account = account
        self.action = action


def _scope_problem(
    grant: Grant,
    account: Account,
    *,
    county_code: str | None,
    department_id: str | None,
    merchant_id: str | None,
) -> str | None:
    """Why ``grant`` does not cover this request for ``account``, or None when it does."""
    if grant.match is Match.ANY:
        return None
    if grant.match is Match.COUNTY:
        if county_code is None:
            return "该操作未指明县区，县区账号只能处理本县区的事项"
        if account.county_code != county_code:
            return f"只能处理本县区（{account.county_code}）的事项，该事项属于县区 {county_code}"
        return None
    if grant.match is Match.DEPARTMENT:
        if department_id is None:
            return "该操作未指明数源部门，数源部门账号只能处理本部门的事项"
        if account.department_id != department_id:
            return (
                f"只能处理本部门（{account.department_id}）的事项，该事项属于部门 {department_id}"
            )
        if account.county_code is not None and account.county_code != county_code:
            where = f"县区 {county_code}" if county_code else "全市"
            return f"只能处理本部门在县区 {account.county_code} 的事项，该事项属于{where}"
        return None
    if grant.match is Match.MERCHANT:
        if merchant_id is None:
            return "该操作未指明数据商，数据商账号只能处理本商户的事项"
        if account.merchant_id != merchant_id:
            return f"只能处理本商户（{account.merchant_id}）的事项，该事项属于数据商 {merchant_id}"
        return None
    return f"未知的范围规则 {grant.match}"


def allowed(
    account: Account,
    permission: Permission,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
) -> str | None:
    """None when ``account`` may take the action in this scope, else why not (Chinese)."""
    grants = permission.grants_for(account.role)
    if not grants:
        roles = "、".join(role.label for role in permission.roles)
        return f"角色“{account.role.label}”无此权限（需要：{roles}）"
    problems = [
        _scope_problem(
            grant,
            account,
            county_code=county_code,
            department_id=department_id,
            merchant_id=merchant_id,
        )
        for grant in grants
    ]
    if any(problem is None for problem in problems):
        return None
    return "；".join(p for p in problems if p)


def require(
    engine: Engine,
    account_name: str,
    action: str,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
) -> Account:
    """The account, when it exists, is active and may take ``action`` in the given scope;
    otherwise ``AccessDenied`` with a Chinese message naming the account, the action and what is
    missing."""
    permission = PERMISSIONS.get(action)
    if permission is None:
        raise AccessDenied(
            f"账号 {account_name} 不能执行未登记的操作 {action}",
            account=account_name,
            action=action,
        )
    label = f"“{permission.label}”（{action}）"
    account = get_account(engine, account_name) if account_name else None
    if account is None:
        raise AccessDenied(
            f"没有账号 {account_name or '（未指定）'}，不能执行{label}",
            account=account_name,
            action=action,
        )
    if not account.active:
        raise AccessDenied(
            f"账号 {account.describe()} 已停用，不能执行{label}",
            account=account_name,
            action=action,
        )
    problem = allowed(
        account,
        permission,
        county_code=county_code,
        department_id=department_id,
        merchant_id=merchant_id,
    )
    if problem is not None:
        raise AccessDenied(
            f"账号 {account.describe()} 不能执行{label}：{problem}",
            account=account_name,
            action=action,
        )
    return account
