"""What every module of the authorized operation shares: the refusal error, readable ids, the acting
account's check and the audit entry every decision writes (who, role, when, reason)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import assets.authorization.permissions  # noqa: F401  (registers this package's actions)
from assets.accounts.authorize import require
from assets.audit import log as audit
from assets.common.check_chars import USCC_PATTERN, uscc_check_char
from assets.common.workdays import CHINA_TZ, Due, WorkCalendar, default_calendar


class AuthorizationError(ValueError):
    """A request the measures do not allow (refused with the reason, in Chinese)."""


class NotFound(AuthorizationError):
    """No record with that id."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the account name and its role code (None for the platform itself)."""

    name: str
    role: str | None = None


def authorize(
    engine: Engine,
    account: str,
    action: str,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
) -> Actor:
    """The acting account, checked for ``action`` in the request's scope (raises ``AccessDenied``)."""
    checked = require(
        engine,
        account,
        action,
        county_code=county_code,
        department_id=department_id,
        merchant_id=merchant_id,
    )
    return Actor(checked.name, checked.role.value)


def utc_now() -> datetime:
    return datetime.now(UTC)


def china_time(moment: datetime | None) -> str | None:
    """ISO text in China time with its offset, for people and ``--json``."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns naive datetimes: they were stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def next_id(connection: Connection, table: sa.Table, column: str, prefix: str) -> str:
    """``<prefix><n:04d>``: lowercase letters and digits only, so the enforcement side can use an id
    inside a database identifier (a role or schema name) without quoting surprises."""
    count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    n = int(count) + 1
    while connection.execute(
        sa.select(table.c[column]).where(table.c[column] == f"{prefix}{n:04d}")
    ).first():
        n += 1
    return f"{prefix}{n:04d}"


def write_audit(
    connection: Connection,
    actor: Actor,
    action: str,
    target: str,
    *,
    reason: str | None = None,
    detail: Mapping[str, object] | None = None,
    at: datetime | None = None,
) -> None:
    """One audit entry in the caller's transaction: who (account and role), what, when, why."""
    audit.record(
        connection,
        actor=actor.name,
        role=actor.role,
        action=action,
        target=target,
        reason=reason,
        detail=detail,
        at=at or utc_now(),
    )


def require_reason(reason: str | None, message: str) -> str:
    if reason is None or not reason.strip():
        raise AuthorizationError(message)
    return reason.strip()


def due(start: date, working_days: int, calendar: WorkCalendar | None = None) -> Due:
    return (calendar or default_calendar()).due(start, working_days)


def fetch_one(engine_or_connection: Engine | Connection, query: sa.Select) -> dict | None:
    if isinstance(engine_or_connection, Engine):
        with engine_or_connection.connect() as connection:
            row = connection.execute(query).mappings().first()
    else:
        row = engine_or_connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def fetch_all(engine: Engine, query: sa.Select) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings().all()]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a unified social credit code (GB 32100, with its check character)."""
    code = code.strip().upper()
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，{code!r} 为 {len(code)} 位"
    if not re.fullmatch(USCC_PATTERN, code):
        return f"统一社会信用代码 {code} 含有不允许的字符或位置不对（GB 32100 不用 I、O、Z、S、V）"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码 {code} 校验码错误（第 18 位应为 {expected}）"
    return None
