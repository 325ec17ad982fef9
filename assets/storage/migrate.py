"""Bring the platform records up to the newest migration (``alembic upgrade heads``)."""

from __future__ import annotations

import ast
import functools
import threading
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.engine import make_url

from assets.common.files import private_dir
from assets.storage.audit_guards import install_audit_guards
from assets.storage.engine import get_engine, is_postgres, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_done: set[str] = set()
_lock = threading.Lock()


def _assigned(path: Path) -> dict[str, object] | None:
    """A migration file's module-level ``revision`` and ``down_revision`` (literals), or None
    when they cannot be read without running it."""
    found: dict[str, object] = {}
    try:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                        found[target.id] = ast.literal_eval(node.value)
    except (OSError, SyntaxError, ValueError):
        return None
    return found if "revision" in found else None


@functools.cache
def script_heads() -> frozenset[str] | None:
    """The head revisions of the migration scripts, read from the files without Alembic (loading
    its scripts and running an upgrade that has nothing to do cost every process about 0.1 s), or
    None when a file cannot be read so: Alembic decides then. Tested equal to Alembic's own heads."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        assigned = _assigned(path)
        if assigned is None:
            return None
        revisions.add(str(assigned["revision"]))
        down = assigned.get("down_revision")
        downs.update([down] if isinstance(down, str) else list(down or ()))
    return frozenset(revisions - downs) or None


def _at_heads(connection: sa.Connection) -> bool:
    """Whether the database's Alembic version table names exactly the scripts' heads."""
    heads = script_heads()
    if heads is None or not sa.inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return frozenset(versions) == heads


def _upgrade(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as connection:
        if is_postgres(engine):
            # one migrator at a time across processes
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(640500)"))
        if not _at_heads(connection):  # a database at the heads needs no Alembic
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
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
