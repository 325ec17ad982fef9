"""Accounts in the platform records: create, look up, disable, set passwords — each change audited.

An account is never deleted (the audit log names it); a disabled account cannot act.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.accounts.passwords import hash_password, needs_rehash, verify_password
from assets.accounts.roles import Role, Scope, parse_role
from assets.audit import log as audit
from assets.common.city import City
from assets.storage.tables import accounts

NAME_PATTERN = r"^[a-z][a-z0-9_.-]{1,63}$"

# audit actions of this service
CREATE = "accounts.create"
DISABLE = "accounts.disable"
PASSWORD = "accounts.password"


class AccountError(ValueError):
    """An account that cannot be created or changed as asked (message in Chinese)."""


@dataclass(frozen=True)
class Account:
    name: str
    display_name: str
    role: Role
    county_code: str | None = None
    department_id: str | None = None
    merchant_id: str | None = None
    os_user: str | None = None
    disabled_at: datetime | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    has_password: bool = False

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def scope_label(self) -> str:
        """The account's scope in words, e.g. ``县区 640521 · 部门 public_security``."""
        parts = []
        if self.county_code:
            parts.append(f"县区 {self.county_code}")
        if self.department_id:
            parts.append(f"部门 {self.department_id}")
        if self.merchant_id:
            parts.append(f"数据商 {self.merchant_id}")
        if not parts:
            return "全市" if self.role.scope in (Scope.CITY, Scope.PLATFORM) else "运营单位"
        return " · ".join(parts)

    def describe(self) -> str:
        """``张三（zhangsan，市数据局）`` — for messages."""
        return f"{self.display_name}（{self.name}，{self.role.label}）"

    def as_record(self) -> dict[str, object]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "role": self.role.value,
            "role_label": self.role.label,
            "county_code": self.county_code,
            "department_id": self.department_id,
            "merchant_id": self.merchant_id,
            "os_user": self.os_user,
            "active": self.active,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "has_password": self.has_password,
        }


def _from_row(row: Mapping[str, object]) -> Account:
    return Account(
        name=str(row["name"]),
        display_name=str(row["display_name"]),
        role=Role(str(row["role"])),
        county_code=row["county_code"],  # type: ignore[arg-type]
        department_id=row["department_id"],  # type: ignore[arg-type]
        merchant_id=row["merchant_id"],  # type: ignore[arg-type]
        os_user=row["os_user"],  # type: ignore[arg-type]
        disabled_at=row["disabled_at"],  # type: ignore[arg-type]
        created_at=row["created_at"],  # type: ignore[arg-type]
        created_by=row["created_by"],  # type: ignore[arg-type]
        has_password=bool(row["password_hash"]),
    )


def validate_scope(
    role: Role,
    *,
    county_code: str | None,
    department_id: str | None,
    merchant_id: str | None,
    city: City | None = None,
) -> None:
    """The scope fields a role needs, and only those; codes checked against the city when given."""
    scope = role.scope
    wanted = {
        Scope.COUNTY: {"county_code"},
        Scope.DEPARTMENT: {"department_id", "county_code?"},
        Scope.MERCHANT: {"merchant_id"},
    }.get(scope, set())
    given = {
        "county_code": county_code,
        "department_id": department_id,
        "merchant_id": merchant_id,
    }
    labels = {"county_code": "县区", "department_id": "数源部门", "merchant_id": "数据商"}
    for field, value in given.items():
        required = field in wanted
        optional = f"{field}?" in wanted
        if required and not value:
            raise AccountError(f"{role.label}账号必须指定{labels[field]}")
        if value and not (required or optional):
            raise AccountError(f"{role.label}账号不属于某个{labels[field]}，不能指定 {value}")
    if city is not None:
        if county_code and county_code not in city.county_codes:
            raise AccountError(
                f"不是本市的县（区）代码: {county_code}（可选: {', '.join(city.county_codes)}）"
            )
        if department_id and department_id not in {d.id for d in city.departments}:
            known = ", ".join(d.id for d in city.departments)
            raise AccountError(f"未知的数源部门 {department_id}（可选: {known}）")


def _select(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    return sa.select(accounts).where(*conditions)


def get_account(engine: Engine, name: str) -> Account | None:
    with engine.connect() as connection:
        row = connection.execute(_select(accounts.c.name == name)).mappings().first()
    return _from_row(row) if row is not None else None


def account_for_os_user(engine: Engine, os_user: str) -> Account | None:
    with engine.connect() as connection:
        row = connection.execute(_select(accounts.c.os_user == os_user)).mappings().first()
    return _from_row(row) if row is not None else None


def list_accounts(engine: Engine, *, include_disabled: bool = True) -> list[Account]:
    query = sa.select(accounts).order_by(accounts.c.role, accounts.c.name)
    if not include_disabled:
        query = query.where(accounts.c.disabled_at.is_(None))
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query).mappings().all()]


def count_accounts(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(accounts)).scalar())


def create_account(
    engine: Engine,
    *,
    name: str,
    display_name: str,
    role: Role | str,
    by: str,
    by_role: str | None,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
    os_user: str | None = None,
    password: str | None = None,
    city: City | None = None,
    at: datetime | None = None,
) -> Account:
    """A new account (audited). ``password`` is hashed with argon2; without one the account cannot
    sign in to the web portal until ``set_password``."""
    role = role if isinstance(role, Role) else parse_role(role)
    if not re.match(NAME_PATTERN, name):
        raise AccountError(f"账号名 {name} 不合规：小写字母开头，2–64 位小写字母、数字、_ . -")
    if not display_name.strip():
        raise AccountError("必须填写姓名或单位名称")
    validate_scope(
        role,
        county_code=county_code,
        department_id=department_id,
        merchant_id=merchant_id,
        city=city,
    )
    moment = at or datetime.now(UTC)
    password_hash = hash_password(password) if password is not None else None

    def work(conn: Connection) -> None:
        if conn.execute(sa.select(accounts.c.name).where(accounts.c.name == name)).first():
            raise AccountError(f"账号 {name} 已存在")
        if (
            os_user
            and conn.execute(
                sa.select(accounts.c.name).where(accounts.c.os_user == os_user)
            ).first()
        ):
            raise AccountError(f"操作系统用户 {os_user} 已对应另一个账号")
        conn.execute(
            accounts.insert().values(
                name=name,
                display_name=display_name.strip(),
                role=role.value,
                county_code=county_code,
                department_id=department_id,
                merchant_id=merchant_id,
                os_user=os_user,
                password_hash=password_hash,
                created_at=moment,
                created_by=by,
                updated_at=moment,
            )
        )
        audit.record(
            conn,
            actor=by,
            role=by_role,
            action=CREATE,
            target=f"accounts/{name}",
            detail={
                "role": role.value,
                "county_code": county_code,
                "department_id": department_id,
                "merchant_id": merchant_id,
                "os_user": os_user,
            },
            at=moment,
        )

    with engine.begin() as conn:
        work(conn)
    account = get_account(engine, name)
    assert account is not None
    return account


def _update(
    engine: Engine,
    name: str,
    values: dict[str, object],
    *,
    by: str,
    by_role: str | None,
    action: str,
    reason: str | None = None,
) -> Account:
    moment = datetime.now(UTC)
    with engine.begin() as connection:
        found = connection.execute(_select(accounts.c.name == name)).first()
        if found is None:
            raise AccountError(f"没有账号 {name}")
        connection.execute(
            accounts.update().where(accounts.c.name == name).values(**values, updated_at=moment)
        )
        audit.record(
            connection,
            actor=by,
            role=by_role,
            action=action,
            target=f"accounts/{name}",
            reason=reason,
            at=moment,
        )
    account = get_account(engine, name)
    assert account is not None
    return account


def disable_account(
    engine: Engine, name: str, *, by: str, by_role: str | None, reason: str | None = None
) -> Account:
    existing = get_account(engine, name)
    if existing is None:
        raise AccountError(f"没有账号 {name}")
    if not existing.active:
        raise AccountError(f"账号 {name} 已停用")
    return _update(
        engine,
        name,
        {"disabled_at": datetime.now(UTC)},
        by=by,
        by_role=by_role,
        action=DISABLE,
        reason=reason,
    )


def set_password(
    engine: Engine, name: str, password: str, *, by: str, by_role: str | None
) -> Account:
    return _update(
        engine,
        name,
        {"password_hash": hash_password(password)},
        by=by,
        by_role=by_role,
        action=PASSWORD,
    )


def authenticate(engine: Engine, name: str, password: str) -> Account | None:
    """The account when ``password`` is right and the account active (for the web portal)."""
    with engine.connect() as connection:
        row = connection.execute(_select(accounts.c.name == name)).mappings().first()
    if row is None or row["disabled_at"] is not None:
        return None
    if not verify_password(row["password_hash"], password):
        return None
    if needs_rehash(str(row["password_hash"])):
        with engine.begin() as connection:
            connection.execute(
                accounts.update()
                .where(accounts.c.name == name)
                .values(password_hash=hash_password(password))
            )
    return _from_row(row)
