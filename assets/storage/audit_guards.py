"""The database's own guards on the audit log (第二十七条 行为留痕): append-only triggers, and on
PostgreSQL an application role that may only read and append to it.

- ``audit_log``: UPDATE is refused always; DELETE only of records an archive anchor covers (the
  retention purge, which archives the segment first); TRUNCATE (PostgreSQL) always.
- ``audit_anchors``: append-only.
- PostgreSQL role ``publicdata_app`` (NOLOGIN; grant it to the login the application uses): every
  privilege on the other platform tables, SELECT and INSERT on ``audit_log``, SELECT on
  ``audit_anchors``. Without CREATEROLE the role is not created, and the triggers still hold.

``install_audit_guards`` is idempotent; the migrator calls it after every upgrade, since rebuilding a
table (SQLite batch migrations) drops its triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

APP_ROLE = "publicdata_app"

_SQLITE = (
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '审计日志只能追加：不能修改记录'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN OLD.seq > (SELECT coalesce(max(to_seq), 0) FROM audit_anchors)
    BEGIN SELECT RAISE(ABORT, '审计日志只能追加：不能删除未归档的记录'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_anchors_no_update BEFORE UPDATE ON audit_anchors
    BEGIN SELECT RAISE(ABORT, '审计归档锚点只能追加'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_anchors_no_delete BEFORE DELETE ON audit_anchors
    BEGIN SELECT RAISE(ABORT, '审计归档锚点只能追加'); END""",
)

_POSTGRES = (
    """CREATE OR REPLACE FUNCTION publicdata_audit_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log' AND OLD.seq <= (
            SELECT coalesce(max(to_seq), 0) FROM audit_anchors
        ) THEN
            RETURN OLD;  -- the retention purge of an archived segment
        END IF;
        RAISE EXCEPTION '审计日志只能追加：不能 % %', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION publicdata_audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION publicdata_audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION publicdata_audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION publicdata_audit_append_only()""",
)

# Creates the role when it is missing and the migrating user may (races between databases of one
# server are harmless), then grants on this database's tables when the role exists.
_GRANTS = """
DO $$
DECLARE
    schema_name text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        BEGIN
            CREATE ROLE {role} NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'no CREATEROLE: role {role} not created';
                RETURN;
        END;
    END IF;
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO {role}', schema_name);
    EXECUTE format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {role}', schema_name);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO {role}', schema_name);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}',
        schema_name);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}',
        schema_name);
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role};
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_anchors FROM {role};
    REVOKE INSERT, DELETE, TRUNCATE ON audit_head FROM {role};
END $$
"""


def install_audit_guards(connection: Connection) -> None:
    """Triggers (both databases) and the application role's grants (PostgreSQL), idempotent."""
    names = set(sa.inspect(connection).get_table_names())
    if not {"audit_log", "audit_anchors"} <= names:
        return  # before migration 0010
    if connection.dialect.name == "postgresql":
        owner = connection.execute(
            sa.text(
                "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
                "WHERE oid = to_regclass('audit_log')"
            )
        ).scalar()
        if not owner:
            return  # the application's own login (publicdata_app) cannot and need not
        for statement in _POSTGRES:
            connection.execute(sa.text(statement))
        connection.execute(sa.text(_GRANTS.format(role=APP_ROLE)))
    elif connection.dialect.name == "sqlite":
        for statement in _SQLITE:
            connection.execute(sa.text(statement))
