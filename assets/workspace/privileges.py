"""The privileges that actually exist in the operation zone's PostgreSQL database, read from the
catalog, and those of them that no live grant explains.

Read for every grantee that is not the platform's own (the connected role and the roles granted to it,
the application role ``publicdata_app`` of the audit guards, superusers, the ``pg_*`` predefined roles
and each object's owner are the platform's; ``PUBLIC`` and the merchant roles never are):

- table, view, sequence and foreign-table privileges (``pg_class.relacl``) and column privileges
  (``pg_attribute.attacl``) in every non-system schema;
- schema privileges (``pg_namespace.nspacl``; on PostgreSQL 15+ ``PUBLIC`` keeps ``USAGE`` on
  ``public`` until the reconciler revokes it);
- default privileges (``pg_default_acl``: what future tables would be granted);
- ``CREATE`` on the database; ``EXECUTE`` on ``SECURITY DEFINER`` functions;
- the merchant roles' memberships and attributes, and who is a member of them;
- and, for every merchant role, its *effective* privileges on every relation and schema
  (``has_table_privilege`` / ``has_any_column_privilege`` / ``has_schema_privilege``), which also see
  privileges reached through ``PUBLIC`` or a role membership.

A grant allows exactly ``USAGE`` on its schema and ``SELECT`` on its view, for its merchant's role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from assets.storage.audit_guards import APP_ROLE
from assets.workspace.plan import WorkspacePlan

PUBLIC = "PUBLIC"

KIND_LABELS = {
    "table": "表",
    "view": "视图",
    "matview": "物化视图",
    "sequence": "序列",
    "foreign": "外部表",
    "column": "字段",
    "schema": "模式",
    "default": "默认权限",
    "database": "数据库",
    "function": "函数",
    "role": "角色",
}
# pg_default_acl.defaclobjtype → (the ALTER DEFAULT PRIVILEGES object word, a Chinese label)
DEFAULT_OBJECTS = {
    "r": ("TABLES", "表和视图"),
    "S": ("SEQUENCES", "序列"),
    "f": ("FUNCTIONS", "函数"),
    "T": ("TYPES", "类型"),
    "n": ("SCHEMAS", "模式"),
}
RELKINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "matview",
    "S": "sequence",
    "f": "foreign",
}

_USER_SCHEMA = (
    "{n}.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND {n}.nspname NOT LIKE 'pg\\_toast%%' AND {n}.nspname NOT LIKE 'pg\\_temp\\_%%'"
)


@dataclass(frozen=True, order=True)
class Privilege:
    grantee: str  # a role name, or PUBLIC
    privilege: str  # SELECT, USAGE, CREATE, EXECUTE, MEMBER, SUPERUSER, …
    kind: str  # table / view / column / schema / default / database / function / role
    target: str  # schema.relation[.column] / schema / database / role …
    effective: bool = False  # found by has_*_privilege, not in an ACL

    def describe(self) -> str:
        how = "（实际生效）" if self.effective else ""
        if self.kind == "default":
            owner, schema, objtype = self.target.split(":", 2)
            where = "任何模式" if schema == "*" else f"模式 {schema} "
            objects = DEFAULT_OBJECTS.get(objtype, (objtype, objtype))[1]
            return (
                f"{self.grantee} 有默认权限 {self.privilege}：{owner} 今后在{where}中新建的"
                f"{objects}都会授予它"
            )
        label = KIND_LABELS.get(self.kind, self.kind)
        return f"{self.grantee} 对{label} {self.target} 有 {self.privilege} 权限{how}"

    def as_record(self) -> dict[str, object]:
        return {
            "grantee": self.grantee,
            "privilege": self.privilege,
            "kind": self.kind,
            "target": self.target,
            "effective": self.effective,
        }


@dataclass(frozen=True)
class _Role:
    name: str
    platform: bool


def _roles(connection: Connection, prefix: str) -> dict[int, _Role]:
    """Every role, and whether it is the platform's own: the connected role and the roles granted
    to it, the application role of the audit guards, superusers and PostgreSQL's ``pg_*`` roles.
    A merchant role never is."""
    current = connection.exec_driver_sql("SELECT current_user").scalar_one()
    rows = connection.exec_driver_sql("SELECT oid, rolname, rolsuper FROM pg_roles").all()
    granted: dict[int, set[int]] = {}
    for member, role in connection.exec_driver_sql(_MEMBERSHIPS):
        granted.setdefault(int(member), set()).add(int(role))
    names = {int(oid): name for oid, name, _ in rows}
    mine = {oid for oid, name in names.items() if name == current}
    queue = list(mine)
    while queue:  # the roles granted to the connected role, directly or not
        for role in granted.get(queue.pop(), ()):
            if role not in mine:
                mine.add(role)
                queue.append(role)
    return {
        int(oid): _Role(
            name,
            not name.startswith(prefix)
            and (bool(superuser) or int(oid) in mine or name == APP_ROLE or name.startswith("pg_")),
        )
        for oid, name, superuser in rows
    }


def _grantee(roles: dict[int, _Role], oid: int) -> _Role:
    if oid == 0:
        return _Role(PUBLIC, False)
    return roles.get(int(oid), _Role(f"oid:{oid}", False))


def _sql(template: str) -> str:
    return template.replace("{schema_filter}", _USER_SCHEMA.format(n="n"))


_RELATIONS = _sql("""
SELECT n.nspname, c.relname, c.relkind::text, a.grantee, a.privilege_type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relacl IS NOT NULL AND {schema_filter}
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND a.grantee <> c.relowner
""")
_COLUMNS = _sql("""
SELECT n.nspname, c.relname, att.attname, a.grantee, a.privilege_type
FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped AND {schema_filter}
  AND a.grantee <> c.relowner
""")
_SCHEMAS = _sql("""
SELECT n.nspname, a.grantee, a.privilege_type
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
WHERE n.nspacl IS NOT NULL AND {schema_filter} AND a.grantee <> n.nspowner
""")
_DEFAULTS = """
SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '*'), d.defaclobjtype::text,
       a.grantee, a.privilege_type
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) a
WHERE a.grantee <> d.defaclrole
"""
_DATABASE = """
SELECT d.datname, a.grantee, a.privilege_type
FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
WHERE d.datname = current_database() AND d.datacl IS NOT NULL
  AND a.grantee <> d.datdba AND a.privilege_type = 'CREATE'
"""
_DEFINER_FUNCTIONS = _sql("""
SELECT n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       a.grantee, a.privilege_type
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE p.prosecdef AND {schema_filter} AND a.grantee <> p.proowner
""")
_MEMBERSHIPS = """
SELECT am.member, am.roleid FROM pg_auth_members am
"""
_ATTRIBUTES = """
SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
FROM pg_roles WHERE starts_with(rolname, %(prefix)s)
"""
_EFFECTIVE_RELATIONS = _sql("""
SELECT r.rolname, n.nspname, c.relname, c.relkind::text
FROM pg_roles r, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE starts_with(r.rolname, %(prefix)s) AND {schema_filter}
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND (has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
       OR has_any_column_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
""")
_EFFECTIVE_SCHEMAS = _sql("""
SELECT r.rolname, n.nspname, has_schema_privilege(r.oid, n.oid, 'CREATE')
FROM pg_roles r, pg_namespace n
WHERE starts_with(r.rolname, %(prefix)s) AND {schema_filter}
  AND has_schema_privilege(r.oid, n.oid, 'USAGE, CREATE')
""")


def existing_privileges(connection: Connection, prefix: str) -> list[Privilege]:
    """Every privilege held in this database by a grantee that is not the platform's own, and
    every effective privilege of a merchant role (name starting with ``prefix``)."""
    roles = _roles(connection, prefix)
    found: set[Privilege] = set()

    def add(oid: int, privilege: str, kind: str, target: str) -> None:
        grantee = _grantee(roles, oid)
        if not grantee.platform:
            found.add(Privilege(grantee.name, privilege, kind, target))

    for schema, name, relkind, oid, privilege in connection.exec_driver_sql(_RELATIONS):
        add(oid, privilege, RELKINDS[relkind], f"{schema}.{name}")
    for schema, name, column, oid, privilege in connection.exec_driver_sql(_COLUMNS):
        add(oid, privilege, "column", f"{schema}.{name}.{column}")
    for schema, oid, privilege in connection.exec_driver_sql(_SCHEMAS):
        add(oid, privilege, "schema", schema)
    for owner, schema, objtype, oid, privilege in connection.exec_driver_sql(_DEFAULTS):
        if oid == 0 and objtype in ("f", "T"):
            continue  # PUBLIC's EXECUTE on functions and USAGE on types are PostgreSQL's defaults
        add(oid, privilege, "default", f"{owner}:{schema}:{objtype}")
    for database, oid, privilege in connection.exec_driver_sql(_DATABASE):
        add(oid, privilege, "database", database)
    for schema, signature, oid, privilege in connection.exec_driver_sql(_DEFINER_FUNCTIONS):
        add(oid, privilege, "function", f"{schema}.{signature}")

    for member, role in connection.exec_driver_sql(_MEMBERSHIPS):
        # a merchant role is a member of nothing; nobody but the platform is a member of one
        member_role, granted = _grantee(roles, member), _grantee(roles, role)
        if member_role.name.startswith(prefix) or (
            granted.name.startswith(prefix) and not member_role.platform
        ):
            found.add(Privilege(member_role.name, "MEMBER", "role", granted.name))
    for name, *flags in connection.exec_driver_sql(_ATTRIBUTES, {"prefix": prefix}):
        labels = ("SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS")
        for label, on in zip(labels, flags, strict=True):
            if on:
                found.add(Privilege(name, label, "role", name))

    for role, schema, name, relkind in connection.exec_driver_sql(
        _EFFECTIVE_RELATIONS, {"prefix": prefix}
    ):
        found.add(Privilege(role, "SELECT", RELKINDS[relkind], f"{schema}.{name}", effective=True))
    for role, schema, create in connection.exec_driver_sql(_EFFECTIVE_SCHEMAS, {"prefix": prefix}):
        privilege = "CREATE" if create else "USAGE"
        found.add(Privilege(role, privilege, "schema", schema, effective=True))
    return sorted(found)


def expected_privileges(plan: WorkspacePlan) -> set[Privilege]:
    """What the live grants allow: per grant, its role's USAGE on the schema and SELECT on the
    view, as written in the ACLs and as effective privileges."""
    expected: set[Privilege] = set()
    for view in plan.views:
        for effective in (False, True):
            expected.add(Privilege(view.role, "USAGE", "schema", view.schema, effective))
            expected.add(Privilege(view.role, "SELECT", "view", view.qualified, effective))
    return expected


def unexplained(existing: Iterable[Privilege], expected: set[Privilege]) -> list[Privilege]:
    """The privileges no live grant explains. An effective privilege is listed only when no ACL
    entry of the same role (or of PUBLIC) on the same target, and no membership of the role,
    already explains it."""
    extra = [p for p in existing if p not in expected]
    direct = {(p.grantee, p.target) for p in extra if not p.effective}
    members = {p.grantee for p in extra if p.kind == "role" and p.privilege == "MEMBER"}
    out: list[Privilege] = []
    for privilege in extra:
        if privilege.effective and (
            (privilege.grantee, privilege.target) in direct
            or (PUBLIC, privilege.target) in direct
            or privilege.grantee in members
            or any(
                t.startswith(privilege.target + ".") for g, t in direct if g == privilege.grantee
            )
        ):
            continue
        out.append(privilege)
    return sorted(out)
