"""Alembic environment for the platform records. Run through assets.storage.migrate, which passes the
connection in; the platform schema only ever changes here, never by dropping tables."""

from alembic import context

from assets.storage.tables import platform_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=platform_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
