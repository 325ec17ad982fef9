"""Shared fixtures: temporary data directories and throwaway databases.

PostgreSQL tests create a database of their own on the server named by ``PUBLICDATA_TEST_PG_URL``
(default: the local server, user postgres) and drop it afterwards. Without a server they skip with the
reason, unless ``REQUIRE_POSTGRES=1``, which turns that into a failure (CI sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.city import City, load_city
from assets.storage.engine import dispose_engines
from assets.workspace.naming import role_prefix

PG_SERVER_URL = os.environ.get(
    "PUBLICDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"

# Hypothesis times every example against a 200 ms deadline by default: a wall-clock assertion. Under
# ``pytest -n 8`` the workers share the machine's cores, so an ID-number example that takes 15 ms alone
# took 137–268 ms and the test failed (DeadlineExceeded, then Flaky) though nothing was wrong. The suite
# asserts no timings (the house rules): no deadline for any property, set once here for every test.
settings.register_profile("publicdata", deadline=None)
settings.load_profile("publicdata")


def _server_engine() -> sa.Engine:
    return sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _postgres_unavailable() -> str | None:
    try:
        with _server_engine().connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any connection failure means "no server here"
        return (
            f"no PostgreSQL server at {sa.engine.make_url(PG_SERVER_URL).render_as_string()}: {exc}"
        )
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_unavailable()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return PG_SERVER_URL


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped after the test."""
    name = f"publicdata_test_{uuid.uuid4().hex[:12]}"
    server = _server_engine()
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = (
        sa.engine.make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        dispose_engines()
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            # merchant roles of the workspace are cluster-wide: those of this database go with it
            roles = connection.execute(
                sa.text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :prefix)"),
                {"prefix": role_prefix(name)},
            ).scalars()
            for role in list(roles):
                connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        server.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on an SQLite file and once on a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zone.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def city() -> City:
    return load_city()


@pytest.fixture(scope="session")
def catalog() -> dict[str, CatalogEntry]:
    return load_catalog(SHIPPED_CATALOG_DIR)
