"""The platform schema: migrated by Alembic when it is behind, and a database already at the scripts'
heads is recognized without Alembic (its import and script loading cost each process ~0.5 s)."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from assets.storage.engine import get_engine
from assets.storage.migrate import MIGRATIONS_DIR, _at_heads, ensure_platform_schema, script_heads


def test_script_heads_read_from_the_files_are_alembics_heads():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_a_database_at_the_heads_is_recognized_and_one_behind_is_not(db_url):
    engine = get_engine(db_url)
    with engine.connect() as connection:
        assert not _at_heads(connection)  # nothing migrated yet
    ensure_platform_schema(db_url)
    with engine.begin() as connection:
        assert _at_heads(connection)
        # one branch a revision behind (as before migration 0014 ran)
        connection.execute(
            sa.text("UPDATE alembic_version SET version_num = '0007' WHERE version_num = '0014'")
        )
        assert not _at_heads(connection)


def _triggers(url: str) -> set[str]:
    with get_engine(url).connect() as connection:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {name for (name,) in connection.exec_driver_sql(query)}


def test_a_process_finding_the_database_at_the_heads_does_not_load_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    ensure_platform_schema(url)
    guards = _triggers(url)
    assert guards
    with get_engine(url).begin() as connection:  # someone dropped the audit log's guards
        for name in guards:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    probe = (
        "import sys; from assets.storage.migrate import ensure_platform_schema;"
        f"ensure_platform_schema({url!r}); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert _triggers(url) == guards  # installed again, as after a migration
