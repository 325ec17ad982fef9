"""Views that depend on a table, kept across a drop-and-rename (PostgreSQL).

The operation zone replaces a dataset's table by dropping it and renaming a staging table into its
place. Views built on it (the merchants' workspace views, ``assets/workspace``) would block the drop,
or be lost with ``CASCADE``. ``save_dependent_views`` reads every view that depends on the table —
directly or through another view — with its definition, owner and privileges; after the swap, in the
same transaction, ``restore_views`` creates each again with the same definition and grants exactly
the same privileges. Readers see the old table and views or the new ones; the privileges are never
wider than before. A view whose columns the new table no longer has cannot be restored: it stays
dropped (access narrows, never widens) and is returned, so the caller can report it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

# Taken (transaction-scoped) by every swap of an operation table and by the workspace reconciler, so
# that no view or privilege is created between a swap's reading the dependent views and its drop.
VIEWS_LOCK_KEY = 640_500_015


def lock_views(connection: Connection) -> None:
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({VIEWS_LOCK_KEY})")


@dataclass(frozen=True)
class SavedView:
    schema: str
    name: str
    definition: str
    owner: str
    comment: str | None
    # (grantee or None for PUBLIC, privilege, grantable), table-level
    privileges: tuple[tuple[str | None, str, bool], ...]
    security_invoker: bool

    @property
    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A string constant for DDL, which takes no bind parameters (standard_conforming_strings)."""
    return "'" + text.replace("'", "''") + "'"


_DEPENDENTS = """
SELECT DISTINCT v.oid, n.nspname, v.relname
FROM pg_depend d
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_namespace n ON n.oid = v.relnamespace
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.refobjid = %(oid)s
  AND v.oid <> %(oid)s
  AND v.relkind IN ('v', 'm')
ORDER BY n.nspname, v.relname
"""

_VIEW = """
SELECT pg_get_viewdef(c.oid) AS definition,
       pg_get_userbyid(c.relowner) AS owner,
       obj_description(c.oid, 'pg_class') AS comment,
       coalesce(c.reloptions::text[] @> ARRAY['security_invoker=true'], false) AS invoker
FROM pg_class c WHERE c.oid = %(oid)s
"""

_PRIVILEGES = """
SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type, a.is_grantable
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = %(oid)s AND a.grantee <> c.relowner
ORDER BY 1 NULLS FIRST, 2
"""


def _oid(connection: Connection, table: str) -> int | None:
    return connection.exec_driver_sql(
        "SELECT to_regclass(%(name)s)::oid", {"name": quote_ident(table)}
    ).scalar_one()


def save_dependent_views(connection: Connection, table: str) -> list[SavedView]:
    """Every view depending on ``table`` (on the search path), parents before their dependents."""
    oid = _oid(connection, table)
    if oid is None:
        return []
    saved: list[SavedView] = []
    seen: set[int] = set()
    queue = [oid]
    while queue:
        parent = queue.pop(0)
        for view_oid, schema, name in connection.exec_driver_sql(
            _DEPENDENTS, {"oid": parent}
        ).all():
            if view_oid in seen:
                continue
            seen.add(view_oid)
            queue.append(view_oid)
            row = connection.exec_driver_sql(_VIEW, {"oid": view_oid}).one()
            privileges = connection.exec_driver_sql(_PRIVILEGES, {"oid": view_oid}).all()
            saved.append(
                SavedView(
                    schema=schema,
                    name=name,
                    definition=row.definition,
                    owner=row.owner,
                    comment=row.comment,
                    privileges=tuple((g, p, bool(o)) for g, p, o in privileges),
                    security_invoker=bool(row.invoker),
                )
            )
    return saved


def restore_views(connection: Connection, views: list[SavedView]) -> list[SavedView]:
    """Create the saved views again with their privileges; return those that could not be."""
    lost: list[SavedView] = []
    for view in views:
        savepoint = connection.begin_nested()
        try:
            options = " WITH (security_invoker = true)" if view.security_invoker else ""
            connection.exec_driver_sql(
                f"CREATE VIEW {view.qualified}{options} AS {view.definition}"
            )
        except Exception:  # a column or table it selects is gone: leave it dropped
            savepoint.rollback()
            lost.append(view)
            continue
        savepoint.commit()
        current = connection.exec_driver_sql("SELECT current_user").scalar_one()
        if view.owner != current:
            connection.exec_driver_sql(
                f"ALTER VIEW {view.qualified} OWNER TO {quote_ident(view.owner)}"
            )
        if view.comment is not None:
            connection.exec_driver_sql(
                f"COMMENT ON VIEW {view.qualified} IS {quote_literal(view.comment)}"
            )
        for grantee, privilege, grantable in view.privileges:
            target = "PUBLIC" if grantee is None else quote_ident(grantee)
            option = " WITH GRANT OPTION" if grantable else ""
            connection.exec_driver_sql(f"GRANT {privilege} ON {view.qualified} TO {target}{option}")
    return lost
