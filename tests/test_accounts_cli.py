"""``publicdata accounts …`` and the demo accounts, through click's CliRunner on a temporary data
directory (SQLite and PostgreSQL)."""

from __future__ import annotations

import getpass
import json
import stat

import pytest
from click.testing import CliRunner

from assets.accounts.demo import demo_accounts, ensure_demo_accounts
from assets.accounts.store import authenticate, list_accounts
from assets.audit import log as audit
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli import main
from orchestration.settings import Settings


@pytest.fixture
def home(tmp_path, db_url, monkeypatch):
    for name in ("PUBLICDATA_HOME", "PUBLICDATA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUBLICDATA_PLATFORM_URL", db_url)
    return tmp_path


def cli(home, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(home)], input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_init_add_list_disable_passwd(home):
    output = cli(home, "accounts", "init", "--os-user", "ops_person")
    assert "bureau_admin" in output and "engineer_admin" in output and "只显示这一次" in output
    assert "已有账号" in cli(home, "accounts", "init", code=1)

    # the engineer manages accounts; a department office may not
    added = json.loads(
        cli(
            home, "accounts", "add", "gaj_zn", "--role", "department_office",
            "--display-name", "中宁县公安局", "--department", "public_security",
            "--county", "640521", "--as", "engineer_admin", "--json",
        )
    )  # fmt: skip
    assert added["role"] == "department_office" and len(added["password"]) >= 16
    refused = cli(
        home, "accounts", "add", "x1", "--role", "bureau", "--display-name", "x",
        "--as", "gaj_zn", code=1,
    )  # fmt: skip
    assert "拒绝" in refused and "gaj_zn" in refused and "accounts.manage" in refused
    assert "不是本市的县" in cli(
        home, "accounts", "add", "x2", "--role", "county_office", "--display-name", "x",
        "--county", "110101", "--as", "engineer_admin", code=1,
    )  # fmt: skip
    # without --as the account mapped to the OS user acts; here none is mapped to this user
    if getpass.getuser() != "ops_person":
        assert "未指定操作账号" in cli(
            home, "accounts", "add", "x3", "--role", "bureau", "--display-name", "x", code=1
        )

    listed = json.loads(cli(home, "accounts", "list", "--json"))
    assert {a["name"] for a in listed} == {"bureau_admin", "engineer_admin", "gaj_zn"}
    assert all("password_hash" not in a for a in listed)
    assert next(a for a in listed if a["name"] == "bureau_admin")["os_user"] == "ops_person"

    # own password from stdin; then the bureau disables the account
    cli(home, "accounts", "passwd", "gaj_zn", "--password-stdin", "--as", "gaj_zn",
        stdin="a long enough secret\n")  # fmt: skip
    engine = get_engine(Settings.load(home).platform_url)
    assert authenticate(engine, "gaj_zn", "a long enough secret") is not None
    assert "已停用" in cli(home, "accounts", "disable", "gaj_zn", "--as", "bureau_admin")
    refused = cli(home, "tickets", "ack", "QT-640521-000001", "--as", "gaj_zn", code=1)
    assert "没有编号" in refused  # the ticket is looked up first; no ticket here
    denied = cli(home, "catalog", "publish", "--as", "gaj_zn", code=1)
    assert "已停用" in denied

    managed = [
        (e.actor, e.role, e.action) for e in audit.entries(engine, target_prefix="accounts/")
    ]
    assert ("engineer_admin", "engineer", "accounts.create") in managed
    assert ("gaj_zn", "department_office", "accounts.password") in managed
    assert ("bureau_admin", "bureau", "accounts.disable") in managed


def test_roles_lists_every_role_and_its_actions(home):
    table = json.loads(cli(home, "accounts", "roles", "--json"))
    assert set(table) == {
        "bureau", "county_office", "department_office", "operator_compliance",
        "operator_review", "merchant_user", "engineer",
    }  # fmt: skip
    assert table["county_office"]["label"] == "县区数据管理机构"
    bureau_actions = {a["action"] for a in table["bureau"]["actions"]}
    assert {"supply.suspend", "supply.resume", "accounts.manage"} <= bureau_actions
    assert "supply.suspend" not in {a["action"] for a in table["engineer"]["actions"]}
    text = cli(home, "accounts", "roles")
    assert "数源部门" in text and "[限本部门（及县区）]" in text


def test_demo_accounts_have_random_passwords_in_a_private_file(home, city):
    settings = Settings.load(home)
    ensure_platform_schema(settings.platform_url)
    engine = get_engine(settings.platform_url)
    secrets_file = home / "secrets" / "demo_accounts.txt"
    created = ensure_demo_accounts(engine, city, secrets_file)
    expected = len(demo_accounts(city))
    assert len(created) == expected == 5 + len(city.counties) * (1 + len(city.departments))
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    lines = [line.split("\t") for line in secrets_file.read_text().splitlines()[1:]]
    passwords = {name: password for name, password, *_ in lines}
    assert len(set(passwords.values())) == expected  # random, none repeated
    assert authenticate(engine, "demo_bureau", passwords["demo_bureau"]) is not None
    roles = {a.role.value for a in list_accounts(engine)}
    assert len(roles) == 7
    # a second demo keeps the accounts and their passwords
    assert ensure_demo_accounts(engine, city, secrets_file) == []
    assert len(secrets_file.read_text().splitlines()) == expected + 1
