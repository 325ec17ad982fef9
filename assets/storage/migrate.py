"""Bring the platform records up to the newest migration (``alembic upgrade heads``)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy.engine import make_url

from assets.common.files import private_dir
from assets.storage.audit_guards import install_audit_guards
from assets.storage.engine import get_engine, is_postgres, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_done: set[str] = set()
_lock = threading.Lock()


def _upgrade(url: str) -> None:
    engine = get_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if is_postgres(engine):
            # one migrator at a time across processes
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(640500)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        install_audit_guards(connection)  # a rebuilt table (SQLite batch migration) loses them


def ensure_platform_schema(url: str) -> None:
    """Idempotent; cheap after the first call in a process."""
    key = normalize_url(url)
    with _lock:
        if key in _done:
            return
        parsed = make_url(key)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            private_dir(Path(parsed.database).parent)
            with FileLock(f"{parsed.database}.migrate.lock", mode=0o600):
                _upgrade(key)
        else:
            _upgrade(key)
        _done.add(key)
