"""What the executor tests share: the production Dagster instance (the repository's dagster.yaml on a
throwaway PostgreSQL database), a Redis database of the test's own, Celery workers as real
subprocesses, and one delivery to run a partition of."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from assets.aggregation.partitions import partition_key, period_partitions_name
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table
from orchestration.execution import execute
from orchestration.runner import QUIET_RUN_CONFIG, dagster_instance
from tests.conftest import REQUIRE_POSTGRES
from tests.helpers import medical_rows, settings_for, write_delivery

REPO = Path(__file__).resolve().parent.parent
DATASET = "medical_institutions"
COUNTY = "640502"
PERIOD = "2026-Q3"
PARTITION = partition_key(COUNTY, PERIOD)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# the columns a run stamps on its rows; everything else must be equal between executors
RUN_COLUMNS = ["batch_id", "ingested_at"]


def deliver(data_dir: Path, catalog) -> Path:
    """The one landing file every executor runs (a county's quarterly delivery of 30 institutions,
    two of them with a bad grade for the quality suite to find)."""
    rows = medical_rows(30)
    rows[3]["grade"] = rows[17]["grade"] = "特级甲等乙"
    return write_delivery(data_dir, catalog[DATASET], COUNTY, PERIOD, rows)


def add_period(instance: dg.DagsterInstance) -> None:
    instance.add_dynamic_partitions(period_partitions_name(DATASET), [PERIOD])


def exchange_rows(exchange_url: str, catalog) -> pd.DataFrame:
    table = exchange_table(catalog[DATASET])
    with get_engine(exchange_url).connect() as connection:
        return pd.read_sql(sa.select(table).order_by(table.c.source_row), connection)


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.drop(columns=RUN_COLUMNS).reset_index(drop=True),
        b.drop(columns=RUN_COLUMNS).reset_index(drop=True),
    )


def in_process_rows(tmp_path: Path, landing: Path, catalog) -> pd.DataFrame:
    """The same landing file run in process into SQLite zones (the embedded default): the rows
    every other executor must leave in the exchange table."""
    data_dir = tmp_path / "in_process"
    target = data_dir / "landing" / landing.relative_to(landing.parents[2])
    target.parent.mkdir(parents=True)
    shutil.copy(landing, target)
    settings = settings_for(
        data_dir, f"sqlite:///{data_dir / 'zones.sqlite'}", executor="in_process"
    )
    instance = dagster_instance(settings)
    add_period(instance)
    result = execute(
        settings,
        instance,
        f"ingest_{DATASET}",
        partition_key=PARTITION,
        run_config=QUIET_RUN_CONFIG,
    )
    assert result.success, "the in-process run failed"
    return exchange_rows(settings.exchange_url, catalog)


def step_events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=kind).records
    return [record.event_log_entry for record in records]


# --- the production instance: dagster.yaml on PostgreSQL -----------------------------------------


@contextmanager
def dagster_database(postgres_server: str) -> Iterator[str]:
    """A throwaway database for the Dagster instance (the zones get ``pg_url``'s), as the
    ``postgresql+psycopg2://`` URL dagster-postgres needs (see dagster.yaml)."""
    name = f"publicdata_dagster_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_server).set(drivername="postgresql+psycopg2", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def production_home(tmp_path: Path, dagster_pg_url: str, monkeypatch) -> Path:
    """DAGSTER_HOME holding the repository's dagster.yaml, its PostgreSQL URL in the environment."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PUBLICDATA_DAGSTER_PG_URL", dagster_pg_url)
    # the schema is created once, before any worker opens the instance (in production
    # `dagster instance migrate`); two processes creating it at once collide
    with dg.DagsterInstance.get():
        pass
    return home


# --- Redis: a database of this test's own ---------------------------------------------------------

CLAIM = "publicdata:test:redis-db:{n}"


@contextmanager
def claimed_redis_db() -> Iterator[int]:
    """A Redis database number no other test (of this or another checkout) is using: claimed in
    database 0 with SET NX, found empty, and flushed and released afterwards."""
    import redis

    require = REQUIRE_POSTGRES or os.environ.get("REQUIRE_REDIS") == "1"
    root = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0, socket_timeout=5)
    try:
        root.ping()
        databases = int(root.config_get("databases").get("databases", 16))
    except redis.RedisError as exc:
        reason = f"no Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}"
        if require:
            pytest.fail(f"REQUIRE_POSTGRES=1 (CI) but {reason}")
        pytest.skip(reason)
    token = uuid.uuid4().hex
    for n in range(1, databases):
        if not root.set(CLAIM.format(n=n), token, nx=True, ex=3600):
            continue
        db = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n, socket_timeout=5)
        if db.dbsize() == 0:
            break
        root.delete(CLAIM.format(n=n))
    else:
        pytest.fail(f"no free Redis database among 1..{databases - 1} (all claimed or in use)")
    try:
        yield n
    finally:
        db.flushdb()
        if root.get(CLAIM.format(n=n)) == token.encode():
            root.delete(CLAIM.format(n=n))


# --- Celery workers -------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


class Workers:
    """``dagster-celery worker start`` subprocesses (each runs a ``celery worker``), one process
    group each, so that stopping one stops its pool too."""

    def __init__(self, directory: Path, config_yaml: Path, env: dict[str, str]) -> None:
        bin_dir = str(Path(sys.executable).parent)  # `dagster-celery` runs `celery` from PATH
        self.env = {**env, "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")])}
        self.directory, self.config_yaml = directory, config_yaml
        self.started: list[Worker] = []

    def start(self, name: str) -> Worker:
        log = self.directory / f"{name}.log"
        command = [
            str(Path(sys.executable).with_name("dagster-celery")),
            "worker",
            "start",
            "--app",
            "dagster_celery.app",
            "--config-yaml",
            str(self.config_yaml),
            "--name",
            name,
            "--loglevel",
            "INFO",
            "--",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        worker = Worker(name, process, log)
        self.started.append(worker)
        return worker

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.started)
        while waiting and time.monotonic() < deadline:
            for worker in list(waiting):
                if worker.process.poll() is not None:
                    self.fail(f"worker {worker.name} exited with {worker.process.returncode}")
                if f"{worker.name}@" in worker.text() and " ready." in worker.text():
                    waiting.remove(worker)
            time.sleep(0.5)
        if waiting:
            self.fail(f"workers not ready within {timeout:.0f} s: {[w.name for w in waiting]}")

    def logs(self) -> str:
        return "\n".join(
            f"----- {w.name} ({w.log}) -----\n{w.text()[-6000:]}" for w in self.started
        )

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n{self.logs()}", pytrace=False)

    def stop(self, timeout: float = 30) -> None:
        for worker in self.started:
            _signal_group(worker.process, signal.SIGTERM)
        for worker in self.started:
            with suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=timeout)
            _wait_group_gone(worker.process, timeout)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _wait_group_gone(process: subprocess.Popen, timeout: float) -> None:
    """The worker's pool processes leave with it; any left after ``timeout`` are killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    _signal_group(process, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)
