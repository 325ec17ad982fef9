"""The jobs' executor comes from the settings (PUBLICDATA_EXECUTOR), and a run on the multiprocess
executor, recorded in the production instance (the repository's dagster.yaml on PostgreSQL), runs each
step in a process of its own and leaves the exchange table an in-process run leaves."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dagster as dg
import pytest
from pydantic import ValidationError

from orchestration.definitions import build_definitions
from orchestration.execution import execute
from orchestration.runner import QUIET_RUN_CONFIG
from orchestration.settings import Settings
from tests.executor_fixtures import (
    DATASET,
    PARTITION,
    add_period,
    dagster_database,
    deliver,
    exchange_rows,
    in_process_rows,
    production_home,
    same_rows,
    step_events,
)
from tests.helpers import settings_for

JOB = f"ingest_{DATASET}"


def test_the_setting_chooses_the_jobs_executor(tmp_path, monkeypatch):
    for setting in ("in_process", "multiprocess", "celery"):
        defs = build_definitions(settings_for(tmp_path, executor=setting))
        assert defs.resolve_job_def(JOB).executor_def.name == setting
    monkeypatch.setenv("PUBLICDATA_EXECUTOR", "threads")
    with pytest.raises(ValidationError, match="PUBLICDATA_EXECUTOR"):
        Settings.load(tmp_path)


def test_the_celery_broker_from_the_environment_stays_a_reference(tmp_path, monkeypatch):
    """A broker URL with a password goes into the executor's config as an ``env`` reference, never
    as its value; the backend is the broker unless set."""
    monkeypatch.setenv("PUBLICDATA_CELERY_BROKER", "redis://:s3cret@redis.internal:6379/2")
    config = Settings.load(tmp_path).celery_config()
    assert config["broker"] == {"env": "PUBLICDATA_CELERY_BROKER"}
    assert config["backend"] == {"env": "PUBLICDATA_CELERY_BROKER"}
    assert "s3cret" not in repr(config)
    default = settings_for(tmp_path, celery_broker="redis://127.0.0.1:6379/0").celery_config()
    assert default["broker"] == default["backend"] == "redis://127.0.0.1:6379/0"


@pytest.fixture
def dagster_pg_url(postgres_server) -> Iterator[str]:
    with dagster_database(postgres_server) as url:
        yield url


@pytest.mark.slow
@pytest.mark.postgres
def test_multiprocess_run_in_the_postgres_instance(tmp_path, dagster_pg_url, monkeypatch, catalog):
    landing = deliver(tmp_path / "data", catalog)
    expected = in_process_rows(tmp_path, landing, catalog)

    production_home(tmp_path, dagster_pg_url, monkeypatch)
    monkeypatch.setenv("PUBLICDATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PUBLICDATA_EXECUTOR", "multiprocess")
    settings = Settings.load()
    instance = dg.DagsterInstance.get()
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    add_period(instance)

    result = execute(settings, instance, JOB, partition_key=PARTITION, run_config=QUIET_RUN_CONFIG)
    assert result.success

    with dg.DagsterInstance.get() as reader:  # read back from PostgreSQL by a new instance
        run = reader.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        started = step_events(reader, result.run_id, dg.DagsterEventType.STEP_START)
    pids = {entry.step_key: entry.dagster_event.pid for entry in started}
    assert len(pids) >= 2, pids  # aggregation, exchange (and the checks run with them)
    assert os.getpid() not in pids.values()
    assert len(set(pids.values())) == len(pids), "each step in a process of its own"

    rows = exchange_rows(settings.exchange_url, catalog)
    assert set(rows["batch_id"]) == {result.run_id}
    same_rows(rows, expected)
