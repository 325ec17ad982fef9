"""Scale-out: a partition job on the Celery executor, its steps run by two real Celery workers
(`dagster-celery worker start`, concurrency 1 each) through Redis, recorded in the production Dagster
instance (dagster.yaml on PostgreSQL), with the zones on PostgreSQL; its exchange table equals the
in-process run's on the same landing file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import dagster as dg
import pytest

from orchestration.execution import execute
from orchestration.runner import QUIET_RUN_CONFIG
from orchestration.settings import Settings
from tests.executor_fixtures import (
    DATASET,
    PARTITION,
    REPO,
    Workers,
    add_period,
    claimed_redis_db,
    dagster_database,
    deliver,
    exchange_rows,
    in_process_rows,
    production_home,
    same_rows,
    step_events,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JOB = f"ingest_{DATASET}"
RUN_TIMEOUT_S = 600  # a busy 2-core CI machine; a lost task would otherwise wait for ever
TODAY = "2026-11-20"


@pytest.fixture
def redis_db() -> Iterator[int]:
    with claimed_redis_db() as n:
        yield n


@pytest.fixture
def dagster_pg_url(postgres_server) -> Iterator[str]:
    with dagster_database(postgres_server) as url:
        yield url


@pytest.fixture
def deployment(tmp_path, dagster_pg_url, pg_url, redis_db, monkeypatch) -> dict[str, str]:
    """The environment of every process of the deployment (this one, the workers): DAGSTER_HOME
    with the repository's dagster.yaml on PostgreSQL, the data directory, the zones on PostgreSQL,
    the Celery executor with this test's Redis database."""
    production_home(tmp_path, dagster_pg_url, monkeypatch)
    broker = f"redis://127.0.0.1:6379/{redis_db}"
    env = {
        "PUBLICDATA_HOME": str(tmp_path / "data"),
        "PUBLICDATA_DATABASE_URL": pg_url,
        "PUBLICDATA_EXECUTOR": "celery",
        "PUBLICDATA_CELERY_BROKER": broker,
        "PUBLICDATA_CELERY_BACKEND": broker,
        "PUBLICDATA_TODAY": TODAY,
        "PUBLICDATA_QUALITY_AS_OF": TODAY,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def workers(tmp_path, deployment) -> Iterator[Workers]:
    """Two Celery workers, one task at a time each, on the shipped worker config."""
    directory = tmp_path / "workers"
    directory.mkdir()
    pool = Workers(directory, REPO / "dagster_celery.yaml", dict(os.environ))
    try:
        for name in ("publicdata-w1", "publicdata-w2"):
            pool.start(name)
        pool.wait_ready()
        yield pool
    finally:
        pool.stop()


def _run_with_timeout(workers: Workers, settings: Settings, instance: dg.DagsterInstance):
    outcome: dict = {}

    def launch() -> None:
        try:
            outcome["result"] = execute(
                settings, instance, JOB, partition_key=PARTITION, run_config=QUIET_RUN_CONFIG
            )
        except BaseException as exc:  # reported below with the workers' logs
            outcome["error"] = exc

    thread = threading.Thread(target=launch, name="celery-run", daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT_S)
    if thread.is_alive():
        workers.fail(f"the Celery run did not finish within {RUN_TIMEOUT_S} s")
    if "error" in outcome:
        workers.fail(f"launching the Celery run raised {outcome['error']!r}")
    return outcome["result"]


def test_partition_job_on_two_celery_workers_equals_the_in_process_run(
    tmp_path, deployment, workers, catalog
):
    landing = deliver(tmp_path / "data", catalog)
    expected = in_process_rows(tmp_path, landing, catalog)
    assert len(expected) == 30

    settings = Settings.load()
    assert settings.executor == "celery"
    instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the repository's dagster.yaml
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    add_period(instance)

    result = _run_with_timeout(workers, settings, instance)
    if not result.success:
        workers.fail(f"the Celery run {result.run_id} failed")

    # recorded in PostgreSQL: a fresh instance object reads the run back
    with dg.DagsterInstance.get() as reader:
        run = reader.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == str(PARTITION)
        succeeded = step_events(reader, result.run_id, dg.DagsterEventType.STEP_SUCCESS)
        engine = step_events(reader, result.run_id, dg.DagsterEventType.ENGINE_EVENT)
    steps = {entry.step_key for entry in succeeded}
    assert any("aggregation" in step for step in steps), steps
    assert any("exchange" in step for step in steps), steps
    # every step was executed by one of the two workers, none in this process
    ran_on = {
        entry.step_key: entry.dagster_event.engine_event_data.metadata["Celery worker"].value
        for entry in engine
        if "Celery worker" in entry.dagster_event.engine_event_data.metadata
    }
    assert set(ran_on) == steps, (ran_on, steps)
    workers_used = {name.split("@")[0] for name in ran_on.values()}
    assert workers_used <= {"publicdata-w1", "publicdata-w2"}, ran_on

    rows = exchange_rows(settings.exchange_url, catalog)
    assert set(rows["batch_id"]) == {result.run_id}
    same_rows(rows, expected)
