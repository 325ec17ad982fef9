"""Accounts, roles and the permission gate (issue 10): every role × action allowed or refused, scopes,
disabled and unknown accounts, argon2 passwords; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from assets.accounts.authorize import AccessDenied, require
from assets.accounts.passwords import PasswordError
from assets.accounts.permissions import PERMISSIONS, Grant, Match, register_action
from assets.accounts.roles import Role
from assets.accounts.store import (
    AccountError,
    authenticate,
    create_account,
    disable_account,
    set_password,
)
from assets.audit import log as audit
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import accounts

# The request every action is tried with, and one account per role inside that scope.
COUNTY, DEPARTMENT, MERCHANT = "640521", "public_security", "m0001"
SCOPES = {
    "bureau": {},
    "county_office": {"county_code": COUNTY},
    "department_office": {"county_code": COUNTY, "department_id": DEPARTMENT},
    "operator_compliance": {},
    "operator_review": {},
    "merchant_user": {"merchant_id": MERCHANT},
    "engineer": {},
}

# Who may do what — written out from the issue, independently of the permission table.
ALLOWED: dict[str, set[str]] = {
    "tickets.acknowledge": {"bureau", "county_office", "department_office"},
    "tickets.claim_fixed": {"bureau", "county_office", "department_office"},
    "supply.suspend": {"bureau"},
    "supply.resume": {"bureau"},
    "catalog.publish": {"bureau", "engineer"},
    "accounts.manage": {"bureau", "engineer"},
    "audit.read": {"bureau", "engineer"},
    "audit.purge": {"bureau", "engineer"},
    "risk.record": {"bureau", "operator_compliance"},
    "incidents.fix": {"bureau", "operator_compliance", "operator_review"},
    "incidents.open": {"bureau", "operator_compliance", "operator_review"},
    "incidents.close": {"bureau", "operator_compliance", "operator_review"},
    "merchants.decide": {"operator_review", "operator_compliance"},
    "applications.compliance": {"operator_compliance"},
    "applications.review": {"bureau", "department_office"},
    "applications.submit": {"merchant_user"},
    "applications.withdraw": {"merchant_user"},
    "authorization.manage": {"bureau"},
    "agreements.approve": {"bureau"},
    "exports.request": {"merchant_user"},
    "exports.review": {"operator_review"},
    "exports.file": {"bureau"},
    "products.register": {"merchant_user", "operator_review", "operator_compliance"},
    "products.price": {"operator_review", "operator_compliance"},
    "workspace.query": {"merchant_user"},
    "pipeline.run": {"engineer", "bureau"},
}
REQUEST = {"county_code": COUNTY, "department_id": DEPARTMENT, "merchant_id": MERCHANT}


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    for role, scope in SCOPES.items():
        create_account(
            engine, name=f"a_{role}", display_name=role, role=role, by="t", by_role=None, **scope
        )
    return engine


def test_the_permission_table_knows_every_action_of_the_issue():
    assert set(ALLOWED) <= set(PERMISSIONS)


def test_role_action_matrix(engine):
    """Each of the 7 roles × 26 actions, in the scope of the request: allowed exactly as the issue
    says, and every refusal names the account, the action and the missing role."""
    got: dict[str, set[str]] = {action: set() for action in ALLOWED}
    for action in ALLOWED:
        for role in Role:
            name = f"a_{role.value}"
            try:
                account = require(engine, name, action, **REQUEST)
            except AccessDenied as refused:
                message = str(refused)
                assert name in message and action in message and "无此权限" in message
                assert refused.account == name and refused.action == action
            else:
                assert account.name == name and account.role == role
                got[action].add(role.value)
    assert got == ALLOWED


@pytest.mark.parametrize(
    ("account_scope", "request_scope", "allowed"),
    [
        # department office: its department in its county only
        ({"department_id": DEPARTMENT, "county_code": COUNTY}, {}, True),
        ({"department_id": DEPARTMENT, "county_code": "640502"}, {}, False),
        ({"department_id": "health", "county_code": COUNTY}, {}, False),
        # a city-level office of the department acts in every county
        ({"department_id": DEPARTMENT}, {}, True),
        ({"department_id": DEPARTMENT}, {"county_code": "640522"}, True),
        # the request must name the department
        ({"department_id": DEPARTMENT, "county_code": COUNTY}, {"department_id": None}, False),
    ],
)
def test_department_scope(engine, account_scope, request_scope, allowed):
    create_account(
        engine,
        name="office",
        display_name="科室",
        role="department_office",
        by="t",
        by_role=None,
        **account_scope,
    )
    request = {"county_code": COUNTY, "department_id": DEPARTMENT, **request_scope}
    if allowed:
        assert require(engine, "office", "tickets.acknowledge", **request).name == "office"
    else:
        with pytest.raises(AccessDenied, match="office"):
            require(engine, "office", "tickets.acknowledge", **request)


def test_county_and_merchant_scopes(engine):
    with pytest.raises(AccessDenied, match="只能处理本县区（640521）的事项"):
        require(engine, "a_county_office", "tickets.claim_fixed", county_code="640502")
    with pytest.raises(AccessDenied, match="未指明县区"):
        require(engine, "a_county_office", "tickets.claim_fixed")
    with pytest.raises(AccessDenied, match="只能处理本商户"):
        require(engine, "a_merchant_user", "applications.submit", merchant_id="m0002")
    with pytest.raises(AccessDenied, match="未指明数据商"):
        require(engine, "a_merchant_user", "exports.request")
    # the bureau acts city-wide whatever the scope
    assert require(engine, "a_bureau", "tickets.acknowledge", county_code="640502").name


def test_unknown_disabled_and_unregistered(engine):
    with pytest.raises(AccessDenied, match="没有账号 ghost"):
        require(engine, "ghost", "supply.suspend")
    disable_account(engine, "a_bureau", by="a_engineer", by_role="engineer", reason="离职")
    with pytest.raises(AccessDenied, match="已停用"):
        require(engine, "a_bureau", "supply.suspend")
    with pytest.raises(AccessDenied, match="未登记的操作"):
        require(engine, "a_engineer", "nothing.at_all")
    assert isinstance(AccessDenied("x", account="a", action="b"), PermissionError)
    disabled = [e for e in audit.entries(engine) if e.action == "accounts.disable"]
    assert [(e.actor, e.role, e.target) for e in disabled] == [
        ("a_engineer", "engineer", "accounts/a_bureau")
    ]


def test_register_action_extends_the_table():
    permission = register_action("test.extra", "测试操作", Grant(Role.COUNTY_OFFICE, Match.COUNTY))
    try:
        assert PERMISSIONS["test.extra"] is permission
        assert register_action("test.extra", "测试操作", Grant(Role.COUNTY_OFFICE, Match.COUNTY))
        with pytest.raises(ValueError):
            register_action("test.extra", "另一个", Role.BUREAU)
    finally:
        PERMISSIONS.pop("test.extra")


def test_scope_fields_follow_the_role(engine, city):
    bad = [
        ({"role": "county_office"}, "必须指定县区"),
        ({"role": "department_office", "county_code": COUNTY}, "必须指定数源部门"),
        ({"role": "merchant_user"}, "必须指定数据商"),
        ({"role": "bureau", "county_code": COUNTY}, "不能指定"),
        ({"role": "county_office", "county_code": "110101"}, "不是本市的县"),
        ({"role": "department_office", "department_id": "nope"}, "未知的数源部门"),
        ({"role": "superuser"}, "未知的角色"),
    ]
    for fields, message in bad:
        with pytest.raises((AccountError, ValueError), match=message):
            create_account(engine, name="x_new", display_name="x", by="t", by_role=None,
                           city=city, **fields)  # fmt: skip
    with pytest.raises(AccountError, match="已存在"):
        create_account(
            engine, name="a_bureau", display_name="x", role="bureau", by="t", by_role=None
        )
    with pytest.raises(AccountError, match="账号名"):
        create_account(
            engine, name="Bad Name", display_name="x", role="bureau", by="t", by_role=None
        )


def test_passwords_are_argon2_hashes(engine):
    with pytest.raises(PasswordError):
        set_password(engine, "a_bureau", "short", by="a_engineer", by_role="engineer")
    set_password(engine, "a_bureau", "correct horse battery", by="a_engineer", by_role="engineer")
    with engine.connect() as connection:
        stored = (
            connection.execute(accounts.select().where(accounts.c.name == "a_bureau"))
            .mappings()
            .one()["password_hash"]
        )
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert authenticate(engine, "a_bureau", "correct horse battery").role == Role.BUREAU
    assert authenticate(engine, "a_bureau", "wrong horse battery") is None
    assert authenticate(engine, "a_engineer", "correct horse battery") is None  # no password yet
    disable_account(engine, "a_bureau", by="a_engineer", by_role="engineer")
    assert authenticate(engine, "a_bureau", "correct horse battery") is None
