"""The workspace in PostgreSQL: roles, grant schemas, views and their privileges, brought to a plan.

One transaction, under the same advisory lock as the operation zone's table swaps (a publish keeps
the views and their privileges, ``assets/storage/dependents.py``):

1. ``PUBLIC`` loses every privilege on schema ``public`` and its tables and sequences (PostgreSQL 15+
   still gives ``PUBLIC`` ``USAGE`` on ``public``), so a merchant role reaches nothing there.
2. Privileges of merchant roles, or of ``PUBLIC`` on the workspace's schemas and views, that no live
   grant explains (granted by hand) are revoked; a role made a member of another role loses it.
   Privileges of other roles are not the reconciler's: the asset check reports them.
3. Schemas of grants no longer live are dropped with their views; a view whose columns or source
   differ from its grant is dropped and created again; missing schemas and views are created, owned
   by the platform (a view reads its table with its owner's rights, so the merchant needs nothing on
   the table), with ``USAGE`` and ``SELECT`` for the merchant's role only.
4. Roles: a merchant's role is created ``NOLOGIN NOINHERIT``; it may log in while the merchant holds
   a live grant (``NOLOGIN`` otherwise, its sessions ended); the role of a merchant that exited (or
   is unknown) is dropped with everything it was granted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from assets.storage.dependents import lock_views, quote_ident, quote_literal
from assets.workspace.naming import SCHEMA_PREFIX
from assets.workspace.plan import GrantView, WorkspacePlan
from assets.workspace.privileges import (
    DEFAULT_OBJECTS,
    PUBLIC,
    Privilege,
    existing_privileges,
    expected_privileges,
    unexplained,
)


@dataclass(frozen=True)
class Change:
    """One change the reconciler made (audited)."""

    action: str  # role_created, role_dropped, login_enabled, login_disabled, schema_created, …
    target: str
    merchant_id: str | None = None
    grant_id: str | None = None
    detail: dict[str, object] = field(default_factory=dict)

    def as_record(self) -> dict[str, object]:
        return {
            "action": self.action,
            "target": self.target,
            "merchant": self.merchant_id,
            "grant": self.grant_id,
            **self.detail,
        }


@dataclass(frozen=True)
class ExistingView:
    schema: str
    name: str
    columns: tuple[str, ...]
    sources: frozenset[tuple[str, str]]  # (table, column) the view reads
    owner: str
    invoker: bool


def table_columns(connection: Connection, tables: list[str] | None = None) -> dict[str, list[str]]:
    """Columns of the operation tables in schema ``public`` (in table order), by table name."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname, a.attname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "AND starts_with(c.relname, 'operation_') ORDER BY c.relname, a.attnum"
    ).all()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        if tables is None or table in tables:
            out.setdefault(table, []).append(column)
    return {t: c for t, c in out.items() if not t.endswith("__next")}


def _existing_views(connection: Connection) -> dict[tuple[str, str], ExistingView]:
    rows = connection.exec_driver_sql(
        """
        SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner),
               coalesce(c.reloptions::text[] @> ARRAY['security_invoker=true'], false),
               (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT array_agg(DISTINCT rn.nspname || '.' || rc.relname || '.' || ra.attname)
                  FROM pg_rewrite r JOIN pg_depend d
                    ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  JOIN pg_class rc ON rc.oid = d.refobjid AND rc.oid <> c.oid
                  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                  JOIN pg_attribute ra ON ra.attrelid = rc.oid AND ra.attnum = d.refobjsubid
                 WHERE r.ev_class = c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE starts_with(n.nspname, %(prefix)s) AND c.relkind IN ('v', 'm')
        """,
        {"prefix": SCHEMA_PREFIX},
    ).all()
    views = {}
    for schema, name, owner, invoker, columns, sources in rows:
        pairs = set()
        for source in sources or ():
            source_schema, table, column = source.split(".", 2)
            pairs.add((f"{source_schema}.{table}", column))
        views[(schema, name)] = ExistingView(
            schema, name, tuple(columns or ()), frozenset(pairs), owner, bool(invoker)
        )
    return views


def _fits(existing: ExistingView, view: GrantView, owner: str) -> bool:
    wanted = {(f"public.{view.table}", c) for c in view.columns}
    return (
        existing.columns == view.columns
        and existing.sources == wanted
        and existing.owner == owner
        and not existing.invoker
    )


def _qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def _target_sql(privilege: Privilege) -> str | None:
    """The object clause of a REVOKE for a privilege found in an ACL, or None."""
    kind, target = privilege.kind, privilege.target
    if kind in ("table", "view", "matview", "foreign"):
        schema, name = target.split(".", 1)
        return f"TABLE {_qualified(schema, name)}"
    if kind == "sequence":
        schema, name = target.split(".", 1)
        return f"SEQUENCE {_qualified(schema, name)}"
    if kind == "column":
        schema, name, column = target.split(".", 2)
        return f"({quote_ident(column)}) ON TABLE {_qualified(schema, name)}"
    if kind == "schema":
        return f"SCHEMA {quote_ident(target)}"
    if kind == "database":
        return f"DATABASE {quote_ident(target)}"
    return None


def _repair(
    connection: Connection, extra: list[Privilege], plan: WorkspacePlan, managed: set[str]
) -> list[Change]:
    """Revoke what merchant roles (and PUBLIC on workspace objects) hold without a live grant."""
    changes: list[Change] = []
    for privilege in extra:
        if privilege.effective:
            continue
        ours = privilege.grantee in managed
        public_on_workspace = privilege.grantee == PUBLIC and (
            privilege.target.startswith((SCHEMA_PREFIX, "public.")) or privilege.target == "public"
        )
        if not (ours or public_on_workspace):
            continue
        grantee = PUBLIC if privilege.grantee == PUBLIC else quote_ident(privilege.grantee)
        if privilege.kind == "role" and privilege.privilege == "MEMBER":
            statement = f"REVOKE {quote_ident(privilege.target)} FROM {grantee}"
        elif privilege.kind == "role":
            statement = f"ALTER ROLE {grantee} NO{privilege.privilege}"
        elif privilege.kind == "function":
            schema, signature = privilege.target.split(".", 1)
            name, arguments = signature.split("(", 1)
            target = f"FUNCTION {_qualified(schema, name)}({arguments}"
            statement = f"REVOKE ALL ON {target} FROM {grantee}"
        elif privilege.kind == "default":
            owner, schema, objtype = privilege.target.split(":", 2)
            where = "" if schema == "*" else f" IN SCHEMA {quote_ident(schema)}"
            objects = DEFAULT_OBJECTS[objtype][0]
            statement = (
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(owner)}{where} "
                f"REVOKE ALL ON {objects} FROM {grantee}"
            )
        elif (target := _target_sql(privilege)) is not None:
            if privilege.kind == "column":
                statement = f"REVOKE ALL {target} FROM {grantee}"
            else:
                statement = f"REVOKE ALL ON {target} FROM {grantee}"
        else:
            continue
        savepoint = connection.begin_nested()
        try:
            connection.exec_driver_sql(statement)
        except Exception:  # e.g. a membership only a superuser may revoke: the check reports it
            savepoint.rollback()
            continue
        savepoint.commit()
        changes.append(
            Change(
                "privilege_revoked",
                privilege.target,
                _merchant_of(plan, privilege.grantee),
                detail={
                    "grantee": privilege.grantee,
                    "privilege": privilege.privilege,
                    "kind": privilege.kind,
                },
            )
        )
    return changes


def _merchant_of(plan: WorkspacePlan, role: str) -> str | None:
    return next((m for m, r in plan.roles.items() if r == role), None)


def _end_sessions(connection: Connection, role: str) -> None:
    savepoint = connection.begin_nested()
    try:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = %(role)s AND pid <> pg_backend_pid()",
            {"role": role},
        )
        savepoint.commit()
    except Exception:  # without pg_signal_backend: the revoked privileges still stop every query
        savepoint.rollback()


def apply_plan(engine: Engine, plan: WorkspacePlan) -> tuple[list[Change], list[Privilege]]:
    """Bring the database to ``plan``; returns the changes made and the privileges found before
    (those without a live grant)."""
    changes: list[Change] = []
    with engine.begin() as connection:
        lock_views(connection)
        owner = connection.exec_driver_sql("SELECT current_user").scalar_one()
        database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
        roles = dict(
            connection.exec_driver_sql(
                "SELECT rolname, rolcanlogin FROM pg_roles WHERE starts_with(rolname, %(p)s)",
                {"p": plan.prefix},
            ).all()
        )
        managed = set(roles) | set(plan.roles.values())
        present = set(existing_privileges(connection, plan.prefix))
        found_before = unexplained(present, expected_privileges(plan))

        # 1. PUBLIC reaches nothing in schema public
        if connection.exec_driver_sql("SELECT to_regnamespace('public')").scalar_one():
            for statement in (
                "REVOKE ALL ON SCHEMA public FROM PUBLIC",
                "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC",
                "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC",
            ):
                connection.exec_driver_sql(statement)

        # 4a. roles that must exist (before any GRANT to them)
        for merchant_id, role in sorted(plan.roles.items()):
            if role not in roles:
                connection.exec_driver_sql(f"CREATE ROLE {quote_ident(role)} NOLOGIN NOINHERIT")
                connection.exec_driver_sql(
                    f"COMMENT ON ROLE {quote_ident(role)} IS "
                    + quote_literal(f"publicdata 数据商 {merchant_id} 的运营平台工作区账号")
                )
                roles[role] = False
                changes.append(Change("role_created", role, merchant_id))

        # 2. privileges granted by hand to merchant roles, or to PUBLIC on workspace objects
        changes += _repair(connection, found_before, plan, managed)

        # 3. schemas and views
        wanted = {view.schema: view for view in plan.views}
        schemas = set(
            connection.exec_driver_sql(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %(p)s)",
                {"p": SCHEMA_PREFIX},
            ).scalars()
        )
        for schema in sorted(schemas - set(wanted)):
            connection.exec_driver_sql(f"DROP SCHEMA {quote_ident(schema)} CASCADE")
            changes.append(Change("schema_dropped", schema))
        existing = _existing_views(connection)
        for (schema, name), view in sorted(existing.items()):
            grant = wanted.get(schema)
            if grant is None:
                continue  # dropped with its schema
            if grant.view != name or not _fits(view, grant, owner):
                connection.exec_driver_sql(f"DROP VIEW IF EXISTS {_qualified(schema, name)}")
                del existing[(schema, name)]
                changes.append(
                    Change("view_dropped", f"{schema}.{name}", grant.merchant_id, grant.grant_id)
                )
        for schema, view in sorted(wanted.items()):
            if schema not in schemas:
                connection.exec_driver_sql(f"CREATE SCHEMA {quote_ident(schema)}")
                connection.exec_driver_sql(
                    f"COMMENT ON SCHEMA {quote_ident(schema)} IS "
                    + quote_literal(f"publicdata 授权 {view.grant_id}（数据商 {view.merchant_id}）")
                )
                changes.append(Change("schema_created", schema, view.merchant_id, view.grant_id))
            qualified = _qualified(view.schema, view.view)
            created = (view.schema, view.view) not in existing
            if created:
                columns = ", ".join(quote_ident(c) for c in view.columns)
                connection.exec_driver_sql(
                    f"CREATE VIEW {qualified} AS SELECT {columns} "
                    f"FROM public.{quote_ident(view.table)}"
                )
                connection.exec_driver_sql(
                    f"COMMENT ON VIEW {qualified} IS "
                    + quote_literal(f"授权 {view.grant_id}: {view.dataset_id} 的授权信息项")
                )
                changes.append(
                    Change(
                        "view_created",
                        view.qualified,
                        view.merchant_id,
                        view.grant_id,
                        {"columns": list(view.columns), "missing": list(view.missing)},
                    )
                )
            role = quote_ident(view.role)
            connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {role}")
            connection.exec_driver_sql(f"GRANT SELECT ON {qualified} TO {role}")
            if created or Privilege(view.role, "SELECT", "view", view.qualified) not in present:
                changes.append(
                    Change("select_granted", view.qualified, view.merchant_id, view.grant_id)
                )

        # 4b. login while a live grant holds; exited merchants' roles dropped
        for role, can_login in sorted(roles.items()):
            merchant_id = _merchant_of(plan, role)
            if merchant_id is None:
                _end_sessions(connection, role)
                connection.exec_driver_sql(f"DROP OWNED BY {quote_ident(role)}")
                savepoint = connection.begin_nested()
                try:
                    connection.exec_driver_sql(f"DROP ROLE {quote_ident(role)}")
                    savepoint.commit()
                    changes.append(Change("role_dropped", role))
                except Exception:  # it still holds privileges in another database
                    savepoint.rollback()
                    if can_login:
                        connection.exec_driver_sql(f"ALTER ROLE {quote_ident(role)} NOLOGIN")
                    changes.append(Change("role_disabled", role, detail={"reason": "其他数据库"}))
                continue
            login = role in plan.login
            if login and not can_login:
                connection.exec_driver_sql(f"ALTER ROLE {quote_ident(role)} LOGIN")
                connection.exec_driver_sql(
                    f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {quote_ident(role)}"
                )
                changes.append(Change("login_enabled", role, merchant_id))
            elif not login and can_login:
                connection.exec_driver_sql(f"ALTER ROLE {quote_ident(role)} NOLOGIN")
                connection.exec_driver_sql(
                    f"REVOKE CONNECT ON DATABASE {quote_ident(database)} FROM {quote_ident(role)}"
                )
                _end_sessions(connection, role)
                changes.append(Change("login_disabled", role, merchant_id))
    return changes, found_before


def violations(engine: Engine, plan: WorkspacePlan) -> list[Privilege]:
    """The privileges that exist now and that no live grant explains."""
    with engine.connect() as connection:
        return unexplained(existing_privileges(connection, plan.prefix), expected_privileges(plan))


def set_password_verifier(engine: Engine, role: str, verifier: str) -> None:
    """Give the role a SCRAM-SHA-256 verifier (the server never sees the password itself)."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"ALTER ROLE {quote_ident(role)} PASSWORD {quote_literal(verifier)}"
        )


def role_exists(engine: Engine, role: str) -> tuple[bool, bool]:
    """(exists, can log in)."""
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %(r)s", {"r": role}
        ).first()
    return (row is not None, bool(row[0]) if row else False)


def database_name(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT current_database()").scalar_one()
