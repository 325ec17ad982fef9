"""Issue 9, cases 4, 6 and 8: one run at a time per data directory (the second refused cleanly, the
third succeeds, ten concurrent starts on fresh directories leave them whole), raw files owner-only and
the public catalog readable by all, and clean one-line errors instead of tracebacks.

The runs are real ``publicdata`` subprocesses on a one-dataset catalog (three small files), so a run
takes seconds."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from assets.common.catalog import SHIPPED_CATALOG_DIR
from orchestration.locking import BUSY_EXIT_CODE, exclusive_data_dir

PUBLICDATA = str(Path(sys.executable).with_name("publicdata"))
DATASET = "medical_institutions"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("catalog")
    shutil.copy(SHIPPED_CATALOG_DIR / f"{DATASET}.yaml", directory)
    return directory


def _env(catalog: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUBLICDATA_") or k == "PUBLICDATA_TEST_PG_URL"
    }
    return {**env, "PUBLICDATA_CATALOG_DIR": str(catalog), **extra}


def _cli(catalog: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PUBLICDATA, *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(catalog, **env),
    )


@pytest.fixture(scope="module")
def delivered(tmp_path_factory, small_catalog) -> Path:
    """A data directory holding only landing files (3 files, 15 rows), copied by each test."""
    template = tmp_path_factory.mktemp("delivered")
    result = _cli(small_catalog, "generate", "--data-dir", str(template), "--rows", "15")
    assert result.returncode == 0, result.stderr[-2000:]
    return template


@pytest.fixture(scope="module")
def one_file(tmp_path_factory, delivered) -> Path:
    """The same with one landing file: the smallest run that still adds a partition."""
    template = tmp_path_factory.mktemp("one_file") / "data"
    shutil.copytree(delivered, template)
    files = sorted((template / "landing").rglob("*.*"))
    for path in files[1:]:
        path.unlink()
    return template


def _fresh(delivered: Path, target: Path) -> Path:
    shutil.copytree(delivered, target)
    return target


def _assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def _alembic_heads(data_dir: Path) -> list[tuple[str, ...]]:
    runs = data_dir / "dagster_home" / "history" / "runs.db"
    with sqlite3.connect(runs) as connection:
        return connection.execute("SELECT * FROM alembic_version").fetchall()


# --- case 4: one run at a time -------------------------------------------------------------------


def test_a_second_run_is_refused_while_one_holds_the_directory_and_a_third_succeeds(
    tmp_path, delivered, small_catalog
):
    data = _fresh(delivered, tmp_path / "data")
    with exclusive_data_dir(data):  # another publicdata command holds the directory
        second = _cli(small_catalog, "run", "--data-dir", str(data), "--json")
        assert second.returncode == BUSY_EXIT_CODE
        assert second.stdout == ""
        _assert_clean_error(second, "正由另一个 publicdata 命令使用", f"进程 {os.getpid()}")
        assert not (data / "dagster_home").exists()  # refused before touching anything
    third = _cli(small_catalog, "run", "--data-dir", str(data), "--json")
    assert third.returncode == 0, third.stderr[-3000:]
    summary = json.loads(third.stdout)
    assert summary["totals"]["all"]["files"] == 3 and summary["errors"] == []
    assert len(_alembic_heads(data)) == 1


def test_two_runs_started_at_once_on_a_fresh_directory_never_break_it(
    tmp_path, one_file, small_catalog
):
    """Ten times: two `publicdata run` at once on a fresh directory. One runs, the other is refused
    with the busy exit code (or, having started after the first ended, runs too); the directory is
    whole: one Dagster migration head, and a further run succeeds."""
    outcomes = []
    for trial in range(10):
        data = _fresh(one_file, tmp_path / f"trial{trial}")
        processes = [
            subprocess.Popen(
                [PUBLICDATA, "run", "--data-dir", str(data), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(small_catalog),
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=900), *p.communicate()) for p in processes]
        codes = sorted(code for code, _, _ in results)
        outcomes.append(codes)
        assert codes[0] == 0, results
        assert codes[1] in (0, BUSY_EXIT_CODE), results
        for code, stdout, stderr in results:
            assert "Traceback" not in stderr, stderr[-3000:]
            if code == 0:
                assert json.loads(stdout)["errors"] == []
        assert len(_alembic_heads(data)) == 1
    # the last directory takes another run
    again = _cli(small_catalog, "run", "--data-dir", str(data), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["runs"]["failed"] == []
    assert any(codes == [0, BUSY_EXIT_CODE] for codes in outcomes)


# --- case 6: who may read what -------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_raw_data_is_owner_only_and_the_public_catalog_readable_by_all(
    tmp_path, delivered, small_catalog
):
    data = _fresh(delivered, tmp_path / "data")
    result = subprocess.run(
        ["sh", "-c", f'umask 022 && exec "{PUBLICDATA}" run --data-dir "{data}" --json'],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(small_catalog),
    )
    assert result.returncode == 0, result.stderr[-3000:]

    private = [
        *(data / "zones").glob("exchange.sqlite*"),
        *(data / "zones").glob("*.sqlite"),
        *(data / "aggregation").rglob("*.parquet"),
        *(data / "governance").rglob("*.parquet"),
        data / "secrets" / "pseudonym.key",
        *(data / "quality" / "results").rglob("*.json"),
        *(data / "dagster_home").rglob("*.db"),
    ]
    names = {p.name for p in private}
    assert {"exchange.sqlite", "exchange.sqlite-wal", "exchange.sqlite-shm"} <= names
    assert any(p.suffix == ".parquet" and "governance" in p.parts for p in private)
    assert any(p.suffix == ".parquet" and "aggregation" in p.parts for p in private)
    for path in private:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
    for directory in ("zones", "aggregation", "governance", "secrets", "quality", "dagster_home"):
        assert _mode(data / directory) == 0o700, directory
    for path in (data / "aggregation").rglob("*"):
        if path.is_dir():
            assert _mode(path) == 0o700, path

    catalog = data / "operation" / "catalog"
    published = [p for p in catalog.rglob("*") if p.is_file()]
    assert {p.name for p in published} >= {"catalog.json", "catalog.jsonld", "index.html"}
    for path in published:
        assert _mode(path) == 0o644, path
    for directory in (data, data / "operation", catalog):
        assert _mode(directory) & 0o005 == 0o005, directory  # others can reach the catalog


# --- case 8: clean errors ------------------------------------------------------------------------


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path, delivered, small_catalog):
    data = _fresh(delivered, tmp_path / "data")
    nowhere = "postgresql://publicdata@127.0.0.1:9/none"
    run = _cli(small_catalog, "run", "--data-dir", str(data), PUBLICDATA_DATABASE_URL=nowhere)
    _assert_clean_error(run, "数据库不可用")
    assert run.stdout == ""
    listing = _cli(
        small_catalog, "tickets", "list", "--data-dir", str(data), PUBLICDATA_DATABASE_URL=nowhere
    )
    _assert_clean_error(listing, "数据库不可用")


@pytest.mark.parametrize("key", ["short-key", "a" * 32, "abab" * 8])
def test_a_weak_pseudonym_key_stops_the_run_with_a_reason(tmp_path, delivered, small_catalog, key):
    data = _fresh(delivered, tmp_path / "data")
    result = _cli(small_catalog, "run", "--data-dir", str(data), PUBLICDATA_PSEUDONYM_KEY=key)
    _assert_clean_error(result, "假名化密钥")
    assert key not in result.stderr  # the message never shows the key
    assert not (data / "dagster_home").exists()  # nothing ran


@pytest.mark.postgres
def test_a_database_lost_mid_run_still_prints_the_summary_and_fails(
    tmp_path, delivered, small_catalog, pg_url
):
    """The platform database is dropped while the run is under way (as soon as its first file is
    recorded): the run goes on as far as it can, prints its summary with the sections it could not
    build listed under `errors`, says why in one line, and exits non-zero."""
    data = _fresh(delivered, tmp_path / "data")
    process = subprocess.Popen(
        [PUBLICDATA, "run", "--data-dir", str(data), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(small_catalog, PUBLICDATA_DATABASE_URL=pg_url),
    )
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    recorded = False
    while process.poll() is None and not recorded:
        try:
            with engine.connect() as connection:
                recorded = bool(
                    connection.execute(sa.text("SELECT count(*) FROM ingest_files")).scalar()
                )
        except sa.exc.DBAPIError:
            pass  # not migrated yet
        time.sleep(0.05)
    engine.dispose()
    assert recorded and process.poll() is None, "the run ended before the database could be lost"
    server = sa.create_engine(
        sa.engine.make_url(pg_url).set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    name = sa.engine.make_url(pg_url).database
    with server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["errors"] and all(
        e["error"] and "\n" not in e["error"] for e in summary["errors"]
    )
    assert "汇总" in stderr
