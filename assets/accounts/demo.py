"""Demo accounts: one per role and scope, with random passwords written to an owner-only file.

Never a constant password in the code: each account gets a fresh random password the first time the
demo creates it, listed in ``<data dir>/secrets/demo_accounts.txt`` (mode 0600). Change them (``publicdata
accounts passwd``) before anything but a demonstration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from assets.accounts.passwords import generate_password
from assets.accounts.roles import Role
from assets.accounts.store import create_account, get_account
from assets.common.city import City

DEMO_MERCHANT_ID = "demo_merchant"
DEMO_CREATOR = "system:demo"


@dataclass(frozen=True)
class DemoAccount:
    name: str
    display_name: str
    role: Role
    county_code: str | None = None
    department_id: str | None = None
    merchant_id: str | None = None


def demo_accounts(city: City) -> list[DemoAccount]:
    """One account per role, per county for county offices, per department × county for
    department offices."""
    found = [
        DemoAccount("demo_bureau", f"{city.city.data_bureau}（演示）", Role.BUREAU),
        DemoAccount("demo_engineer", "平台运维（演示）", Role.ENGINEER),
        DemoAccount("demo_compliance", "授权运营单位合规岗（演示）", Role.OPERATOR_COMPLIANCE),
        DemoAccount("demo_review", "授权运营单位审核岗（演示）", Role.OPERATOR_REVIEW),
        DemoAccount(
            "demo_merchant", "演示数据商用户", Role.MERCHANT_USER, merchant_id=DEMO_MERCHANT_ID
        ),
    ]
    for county in city.counties:
        found.append(
            DemoAccount(
                f"demo_county_{county.code}",
                f"{county.data_bureau}（演示）",
                Role.COUNTY_OFFICE,
                county_code=county.code,
            )
        )
    for department in city.departments:
        for county in city.counties:
            found.append(
                DemoAccount(
                    f"demo_{department.id}_{county.code}",
                    f"{department.name_in(county)}（演示）",
                    Role.DEPARTMENT_OFFICE,
                    county_code=county.code,
                    department_id=department.id,
                )
            )
    return found


def _append_private(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def ensure_demo_accounts(engine: Engine, city: City, secrets_file: Path) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the names created. Their passwords
    are appended to ``secrets_file`` (mode 0600) — the only place they are ever written."""
    created: list[str] = []
    lines: list[str] = []
    for spec in demo_accounts(city):
        if get_account(engine, spec.name) is not None:
            continue
        password = generate_password()
        create_account(
            engine,
            name=spec.name,
            display_name=spec.display_name,
            role=spec.role,
            county_code=spec.county_code,
            department_id=spec.department_id,
            merchant_id=spec.merchant_id,
            password=password,
            by=DEMO_CREATOR,
            by_role=None,
            city=city,
        )
        created.append(spec.name)
        lines.append(f"{spec.name}\t{password}\t{spec.role.value}\t{spec.display_name}")
    if lines:
        if not secrets_file.exists():
            lines.insert(0, "# 演示账号（账号\t口令\t角色\t名称）— 仅供演示，请尽快修改口令")
        _append_private(secrets_file, lines)
    return created
