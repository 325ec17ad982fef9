"""The workspace on a real PostgreSQL, connected as the merchant's own role with the password the
platform issued: granted items readable; an ungranted item, an ungranted table and the operation table
itself denied; after expiry, exit and supply suspension everything denied; a publish keeps the views
and their privileges; the reconciling check fails on a privilege granted by hand."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors

from assets.audit import log as audit
from assets.operation.suspension import suspend_supply
from assets.storage.audit_guards import APP_ROLE
from assets.storage.engine import get_engine
from assets.workspace import postgres
from assets.workspace.credentials import issue_credentials, scram_sha256_verifier
from assets.workspace.naming import role_name, role_prefix
from assets.workspace.reconcile import check_privileges, reconcile
from assets.workspace.sqlite import WorkspaceError
from tests.workspace_fixtures import (
    GRANTED,
    MARKET,
    MARKET_TABLE,
    MEDICAL_TABLE,
    UNGRANTED,
    grant,
    publish_zone,
)

pytestmark = pytest.mark.postgres

M1, M2 = "m0001", "m0002"


@pytest.fixture
def zone(pg_url: str) -> sa.Engine:
    """The operation zone and the platform records in a throwaway database (its merchant roles,
    cluster-wide, are dropped with it: tests/conftest.py)."""
    engine = get_engine(pg_url)
    publish_zone(engine, pg_url)
    return engine


def _role(engine: sa.Engine, merchant_id: str) -> str:
    return role_name(role_prefix(postgres.database_name(engine)), merchant_id)


def _connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


def _denied(connection: psycopg.Connection, sql: str) -> bool:
    try:
        connection.execute(sql).fetchall()
    except (errors.InsufficientPrivilege, errors.UndefinedTable, errors.UndefinedColumn):
        return True
    return False


def _can(engine: sa.Engine, sql: str, **params) -> bool:
    with engine.connect() as connection:
        return bool(connection.exec_driver_sql(sql, params).scalar_one())


def test_merchant_role_reads_its_grant_and_nothing_else(zone: sa.Engine, pg_url: str):
    grants = [grant("g1", M1), grant("g2", M2, MARKET, ("entity_name",))]
    outcome = reconcile(zone, zone, grants, merchants=[M1, M2])
    assert {c.action for c in outcome.changes} >= {"role_created", "view_created", "login_enabled"}
    assert outcome.remaining == []
    issued = issue_credentials(zone, zone, M1, actor="engineer:test")
    assert issued.role == _role(zone, M1) and issued.connection_string.startswith("postgresql://")

    with _connect(issued.connection_string) as merchant:
        assert merchant.execute("SELECT current_user").fetchone()[0] == issued.role
        rows = merchant.execute(
            "SELECT institution_name, grade, beds, county_code FROM grant_g1.medical_institutions"
        ).fetchall()
        assert len(rows) == 11 and rows[0][0].startswith("医院")
        columns = merchant.execute("SELECT * FROM grant_g1.medical_institutions LIMIT 1")
        assert [d.name for d in columns.description] == list(GRANTED)
        # an ungranted item: not in the view, and denied on the table itself
        assert _denied(merchant, f"SELECT {UNGRANTED} FROM grant_g1.medical_institutions")
        assert _denied(merchant, f"SELECT {UNGRANTED} FROM public.{MEDICAL_TABLE}")
        # the operation table itself, an ungranted table, another merchant's grant
        for sql in (
            f"SELECT * FROM public.{MEDICAL_TABLE}",
            f"SELECT count(*) FROM public.{MEDICAL_TABLE}",
            f"SELECT * FROM public.{MARKET_TABLE}",
            "SELECT * FROM grant_g2.market_entities",
            "SELECT * FROM public.audit_log",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                merchant.execute(sql).fetchall()
        with pytest.raises(errors.InsufficientPrivilege):
            merchant.execute("CREATE TABLE grant_g1.mine (x int)")

    # the same, read as privileges (the test server trusts local logins: not only auth decides)
    role = issued.role
    assert _can(
        zone, "SELECT has_table_privilege(%(r)s, 'grant_g1.medical_institutions', 'SELECT')", r=role
    )
    for table in (MEDICAL_TABLE, MARKET_TABLE):
        assert not _can(
            zone,
            "SELECT has_any_column_privilege(%(r)s, %(t)s, 'SELECT')",
            r=role,
            t=f"public.{table}",
        )
    assert not _can(zone, "SELECT has_schema_privilege(%(r)s, 'public', 'USAGE')", r=role)
    assert not _can(zone, "SELECT has_schema_privilege(%(r)s, 'grant_g2', 'USAGE')", r=role)
    assert not _can(
        zone, "SELECT has_table_privilege(%(r)s, 'grant_g2.market_entities', 'SELECT')", r=role
    )
    assert check_privileges(zone, zone, grants, merchants=[M1, M2]).passed

    # idempotent: a second reconcile changes nothing
    assert reconcile(zone, zone, grants, merchants=[M1, M2]).changes == []


def test_expiry_exit_and_suspension_deny_everything(zone: sa.Engine, pg_url: str):
    medical, market = grant("g1", M1), grant("g3", M1, MARKET, ("entity_name", "county_code"))
    reconcile(zone, zone, [medical, market], merchants=[M1])
    issued = issue_credentials(zone, zone, M1, actor="engineer:test")
    role = issued.role
    with _connect(issued.connection_string) as merchant:
        assert len(merchant.execute("SELECT * FROM grant_g3.market_entities").fetchall()) == 2

        # expiry of G1: the grant is no longer live → its schema and view are gone
        reconcile(zone, zone, [market], merchants=[M1])
        assert _denied(merchant, "SELECT institution_name FROM grant_g1.medical_institutions")
        assert len(merchant.execute("SELECT * FROM grant_g3.market_entities").fetchall()) == 2

        # supply suspension with withdrawal: the table and the views on it go at once
        suspend_supply(
            zone,
            zone,
            dataset_id=MARKET,
            reason="发现风险",
            actor="bureau:test",
            withdraw_published=True,
        )
        assert _denied(merchant, "SELECT * FROM grant_g3.market_entities")
    assert _can(zone, "SELECT to_regnamespace('grant_g1') IS NULL")  # the expired grant's schema

    # no live grant left (the suspension took the last one away): no login, no privilege
    outcome = reconcile(zone, zone, [], merchants=[M1])
    assert "login_disabled" in {c.action for c in outcome.changes}
    with pytest.raises(psycopg.OperationalError):
        _connect(issued.connection_string)
    assert not _can(zone, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %(r)s", r=role)
    assert not _can(
        zone,
        "SELECT count(*) > 0 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND has_any_column_privilege(%(r)s, c.oid, 'SELECT')",
        r=role,
    )
    with pytest.raises(WorkspaceError, match="没有生效中的授权"):
        issue_credentials(zone, zone, M1, actor="engineer:test", rotate=True)

    # exit: the merchant is no longer registered → its role is dropped, the record forgotten
    outcome = reconcile(zone, zone, [], merchants=[])
    actions = {c.action for c in outcome.changes}
    assert {"role_dropped", "credentials_revoked"} <= actions
    assert {c.merchant_id for c in outcome.changes} == {M1}  # the exit's deletions are its own
    assert not _can(zone, "SELECT count(*) > 0 FROM pg_roles WHERE rolname = %(r)s", r=role)
    logged = {e.action for e in audit.entries(zone, target_prefix=f"workspace/{M1}")}
    assert {
        "workspace_role_dropped",
        "workspace_credentials_issued",
        "workspace_view_dropped",
    } & logged


def test_a_publish_keeps_the_views_and_never_widens_them(zone: sa.Engine, pg_url: str):
    grants = [grant("g1", M1)]
    reconcile(zone, zone, grants, merchants=[M1])
    issued = issue_credentials(zone, zone, M1, actor="engineer:test")
    publish_zone(zone, pg_url, prefix="新版")  # drop-and-rename of the operation table
    with _connect(issued.connection_string) as merchant:
        names = merchant.execute("SELECT institution_name FROM grant_g1.medical_institutions")
        assert {row[0][:2] for row in names.fetchall()} == {"新版"}
        assert _denied(merchant, f"SELECT * FROM public.{MEDICAL_TABLE}")
    check = check_privileges(zone, zone, grants, merchants=[M1])
    assert check.passed and check.not_applied == []
    assert reconcile(zone, zone, grants, merchants=[M1]).changes == []


def test_credentials_are_given_once_and_rotation_replaces_the_password(zone: sa.Engine):
    reconcile(zone, zone, [grant("g1", M1)], merchants=[M1])
    first = issue_credentials(zone, zone, M1, actor="engineer:test")
    with pytest.raises(WorkspaceError, match="只发放一次"):
        issue_credentials(zone, zone, M1, actor="engineer:test")
    second = issue_credentials(zone, zone, M1, actor="engineer:test", rotate=True)
    assert second.rotations == 1 and second.connection_string != first.connection_string
    with zone.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %(r)s", {"r": second.role}
        ).scalar_one()
    assert stored.startswith("SCRAM-SHA-256$4096:")
    password = sa.engine.make_url(second.connection_string).password
    salt = stored.split("$")[1].split(":")[1]
    import base64

    assert scram_sha256_verifier(password, salt=base64.b64decode(salt)) == stored
    logged = [e for e in audit.entries(zone, target_prefix=f"workspace/{M1}")]
    issued = [e for e in logged if e.action.startswith("workspace_credentials")]
    assert [e.action for e in issued] == [
        "workspace_credentials_issued",
        "workspace_credentials_rotated",
    ]
    assert all(password not in str(e.detail) for e in logged)


def test_check_fails_on_a_privilege_granted_by_hand(zone: sa.Engine):
    grants = [grant("g1", M1)]
    reconcile(zone, zone, grants, merchants=[M1])
    role = _role(zone, M1)
    analyst = f"{role}_analyst"[:63].replace("pdm_", "xa_", 1)
    with zone.begin() as connection:
        connection.exec_driver_sql(f'GRANT SELECT ON public."{MEDICAL_TABLE}" TO "{role}"')
        connection.exec_driver_sql(f'GRANT SELECT (capital) ON public."{MARKET_TABLE}" TO "{role}"')
        connection.exec_driver_sql(f'CREATE ROLE "{analyst}" NOLOGIN')
        connection.exec_driver_sql(f'GRANT USAGE ON SCHEMA grant_g1 TO "{analyst}"')
        connection.exec_driver_sql(f'GRANT SELECT ON grant_g1.medical_institutions TO "{analyst}"')
        # the platform's application role (audit guards) holds the platform tables: not reported;
        # a merchant role made a member of it would reach them all
        connection.exec_driver_sql(f'GRANT "{APP_ROLE}" TO "{role}"')
    try:
        check = check_privileges(zone, zone, grants, merchants=[M1])
        assert not check.passed
        text = check.description()
        assert f"{role} 对表 public.{MEDICAL_TABLE} 有 SELECT 权限" in text
        assert f"public.{MARKET_TABLE}.capital" in text
        assert f"{analyst} 对视图 grant_g1.medical_institutions 有 SELECT 权限" in text
        assert f"{role} 对角色 {APP_ROLE} 有 MEMBER 权限" in text
        assert not any(v.startswith(f"{APP_ROLE} ") for v in check.violations)

        # the reconciler takes back what merchant roles got by hand; other roles' are reported
        outcome = reconcile(zone, zone, grants, merchants=[M1])
        revoked = {c.target for c in outcome.changes if c.action == "privilege_revoked"}
        assert f"public.{MEDICAL_TABLE}" in revoked
        assert f"public.{MARKET_TABLE}.capital" in revoked
        assert APP_ROLE in revoked
        after = check_privileges(zone, zone, grants, merchants=[M1])
        assert not after.passed and all(analyst in v for v in after.violations)
        assert not _can(
            zone,
            "SELECT has_table_privilege(%(r)s, %(t)s, 'SELECT')",
            r=role,
            t=f"public.{MEDICAL_TABLE}",
        )
    finally:
        with zone.begin() as connection:
            connection.exec_driver_sql(f'DROP OWNED BY "{analyst}"')
            connection.exec_driver_sql(f'DROP ROLE "{analyst}"')
