"""`publicdata run --parallel`: partition runs and the per-dataset governance runs on worker processes
(orchestration/parallel.py), through real Dagster runs on SQLite and PostgreSQL. Two workers give the
same exchange, governed and operation tables, tickets and summary as one process; every run is in the
data directory's instance with its tags; a file rejected whole is reported while the others load; a
worker that dies fails only the run it had."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from assets.aggregation.partitions import COUNTY_TAG, county_tags, period_partitions_name
from assets.governance.records import governed_path, read_governed
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.storage.engine import SQLITE_BUSY_SECONDS, dispose_engines, get_engine
from assets.storage.tables import exchange_table, quality_tickets
from orchestration.lanes import governance_runs
from orchestration.parallel import WorkerPool
from orchestration.runner import (
    _batch_order,
    add_partitions,
    dagster_instance,
    post_ingest_batches,
    run_pipeline,
)
from orchestration.runs import PartitionRun, RunOutcome
from tests.conftest import _server_engine
from tests.helpers import settings_for

AS_OF = date(2026, 11, 20)

pytestmark = pytest.mark.slow

VOLATILE = {"batch_id", "ingested_at"}  # differ between any two runs, parallel or not


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_urls(request, tmp_path):
    """Two empty zone databases of one backend: one for the sequential run, one for the parallel."""
    if request.param == "sqlite":
        yield [
            f"sqlite:///{tmp_path / 'sequential.sqlite'}",
            f"sqlite:///{tmp_path / 'par.sqlite'}",
        ]
        dispose_engines()
        return
    first = request.getfixturevalue("pg_url")
    name = f"publicdata_test_{uuid.uuid4().hex[:12]}"
    server = _server_engine()
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield [first, sa.engine.make_url(first).set(database=name).render_as_string(False)]
    finally:
        dispose_engines()
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def delivered(tmp_path, city, catalog):
    """The same generated deliveries in two data directories, one CSV emptied (rejected whole)."""
    source = tmp_path / "source"
    manifest = generate(source, rows=700, seed=11, city=city, catalog=catalog, as_of=AS_OF)
    emptied = next(f for f in manifest.files if f.path.endswith(".csv"))
    (source / emptied.path).write_bytes(b"")
    dirs = []
    for name in ("sequential", "parallel"):
        shutil.copytree(source / "landing", tmp_path / name / "landing")
        dirs.append(tmp_path / name)
    return dirs, manifest, emptied


def _exchange(settings, catalog) -> dict[str, pd.DataFrame]:
    engine = get_engine(settings.exchange_url)
    out = {}
    for dataset_id, entry in catalog.items():
        table = exchange_table(entry)
        with engine.connect() as connection:
            frame = pd.read_sql(sa.select(table), connection)
        frame = frame.drop(columns=sorted(VOLATILE & set(frame.columns)))
        out[dataset_id] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def _published(settings, catalog) -> dict[str, pd.DataFrame]:
    out = {}
    engine = get_engine(settings.operation_url)
    for dataset_id, entry in catalog.items():
        governed = read_governed(governed_path(settings.data_dir, dataset_id))
        governed = governed.drop(columns=sorted(VOLATILE & set(governed.columns)))
        out[f"governed/{dataset_id}"] = governed.sort_values(list(governed.columns)).reset_index(
            drop=True
        )
        if entry.is_prohibited:
            continue
        with engine.connect() as connection:
            frame = pd.read_sql(sa.text(f"SELECT * FROM operation_{dataset_id}"), connection)
        frame = frame.drop(columns=sorted(VOLATILE & set(frame.columns)))
        out[f"operation/{dataset_id}"] = frame.sort_values(list(frame.columns)).reset_index(
            drop=True
        )
    return out


def _tickets(settings) -> list[tuple]:
    """The quality tickets without their running numbers and times (the order two datasets of one
    county are checked in may differ between workers)."""
    columns = ["county_code", "dataset_id", "rule_id", "origin", "period", "checked_period"]
    columns += ["dimension", "severity", "failed_count", "total", "status", "due_date"]
    with get_engine(settings.platform_url).connect() as connection:
        rows = connection.execute(sa.select(*(quality_tickets.c[c] for c in columns))).all()
    return sorted(tuple(str(v) for v in row) for row in rows)


def _comparable(summary: dict, data_dir: Path) -> dict:
    """The summary without what names this data directory, its databases or its runs."""
    out = {k: v for k, v in summary.items() if k not in ("data_dir", "zones", "dagster_home")}
    runs = dict(out["runs"])
    runs["failed"] = sorted(
        (f.get("path") or f.get("job"), f["error"]) for f in summary["runs"]["failed"]
    )
    runs.pop("post_ingest")  # governance runs in one run per worker's group of datasets
    out["runs"] = runs
    out["catalog"] = {k: v for k, v in summary["catalog"].items() if k != "created_at"}
    out["operation"] = {k: v for k, v in summary["operation"].items() if k != "zone"}
    out["quality"] = {
        k: len(v) if isinstance(v, list) else v for k, v in summary["quality"].items()
    }
    return out


def test_two_workers_give_the_sequential_result_and_record_every_run(delivered, two_urls, catalog):
    (seq_dir, par_dir), manifest, emptied = delivered
    key = "a-configured-key-of-32-bytes!!!!"  # one pseudonymization key for both directories
    sequential = settings_for(seq_dir, two_urls[0], parallel=1, pseudonym_key=key)
    parallel = settings_for(par_dir, two_urls[1], parallel=2, pseudonym_key=key)

    seq_summary = run_pipeline(sequential).summary()
    shown: list[tuple[str, int, int]] = []
    par_report = run_pipeline(parallel, progress=lambda *a: shown.append(a))
    par_summary = par_report.summary()

    # the file rejected whole is reported as failed, the other files loaded, in both
    for summary in (seq_summary, par_summary):
        failed = {f["path"] for f in summary["runs"]["failed"] if "path" in f}
        assert failed == {emptied.path}, summary["runs"]["failed"]
        assert not [f for f in summary["runs"]["failed"] if "job" in f]
        statuses = {f["path"]: f["status"] for f in summary["files"]}
        assert statuses.pop(emptied.path) == "rejected"
        assert set(statuses.values()) == {"loaded"}, statuses
    assert _comparable(par_summary, par_dir) == _comparable(seq_summary, seq_dir)
    # the workers took what was read ahead for them; nothing of it is left
    assert not list(parallel.staging_dir.glob(".read-ahead-*"))
    assert par_summary["runs"]["post_ingest"] > seq_summary["runs"]["post_ingest"]

    # the same tables, rows and tickets
    seq_exchange, par_exchange = _exchange(sequential, catalog), _exchange(parallel, catalog)
    for dataset_id, frame in seq_exchange.items():
        assert len(frame) > 0, dataset_id
        pd.testing.assert_frame_equal(par_exchange[dataset_id], frame, obj=dataset_id)
    seq_published, par_published = _published(sequential, catalog), _published(parallel, catalog)
    assert par_published.keys() == seq_published.keys()
    for name, frame in seq_published.items():
        pd.testing.assert_frame_equal(par_published[name], frame, obj=name)
    assert _tickets(parallel) == _tickets(sequential) != []

    # every run of the parallel run is in the data directory's instance, with the CLI's tags
    instance = dagster_instance(parallel)
    records = {r.dagster_run.run_id: r.dagster_run for r in instance.get_run_records()}
    assert set(par_report.batch_ids) | set(par_report.post_ingest_runs) == set(records)
    by_file = {
        records[run_id].tags["publicdata/source_file"]: records[run_id]
        for run_id in par_report.batch_ids
    }
    assert set(by_file) == {f.path for f in manifest.files}
    for path, run in by_file.items():
        assert run.tags["publicdata/trigger"] == "cli"
        assert run.tags["dagster/partition"].startswith(run.tags[COUNTY_TAG])
        expected = (
            dg.DagsterRunStatus.FAILURE if path == emptied.path else dg.DagsterRunStatus.SUCCESS
        )
        assert run.status == expected, path
    governance = [
        records[i]
        for i in par_report.post_ingest_runs
        if records[i].job_name == "govern_and_publish"
    ]
    assert len(governance) == 2
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in governance)
    # the follow-up and the catalog went to the workers with governance, after both groups started
    started = {i: instance.get_run_record_by_id(i).start_time for i in par_report.post_ingest_runs}
    jobs = [records[i].job_name for i in par_report.post_ingest_runs]
    assert jobs.index("quality_ticket_followup") < jobs.index("govern_and_publish")  # stage order
    followup = next(i for i in started if records[i].job_name == "quality_ticket_followup")
    assert started[followup] > max(started[r.run_id] for r in governance)

    # the progress line counted every file, ending on all of them done
    assert shown[-1][1:] == (len(manifest.files), len(manifest.files))
    assert max(done for _, done, _ in shown) == len(manifest.files)
    assert any("数据集" in label for label, _, _ in shown)


def test_governance_groups_balance_the_largest_datasets_first(catalog):
    weights = {d: i * 100 for i, d in enumerate(sorted(catalog))}
    runs = governance_runs("govern_and_publish", sorted(catalog), catalog, weights, 2)
    assert len(runs) == 2
    largest = max(weights, key=weights.get)
    assert any(key.path[-1] == largest for key in runs[0].selection)
    covered = {key.path[-1] for run in runs for key in run.selection}
    assert covered == set(catalog)  # every dataset in exactly one group
    assert sum(len(run.selection) for run in runs) == len({k for r in runs for k in r.selection})
    one = governance_runs("govern_and_publish", sorted(catalog), catalog, weights, 1)
    assert [run.selection for run in one] == [None]  # all datasets, one run: as before


def test_post_ingest_jobs_before_the_publish_go_to_the_workers_with_it():
    planned = [("followup", ["f"]), ("catalog", ["c"]), ("publish", ["g0", "g1"]), ("ws", ["w"])]
    one = post_ingest_batches(planned, "publish", 1)
    assert one == [[job] for job in planned]  # one process: one job after the other
    two = post_ingest_batches(planned, "publish", 2)
    assert two == [planned[:3], [planned[3]]]  # the workspace still follows the publish
    assert _batch_order(two[0], "publish") == ["g0", "g1", "f", "c"]
    nothing_stale = [job for job in planned if job[0] != "publish"]
    assert post_ingest_batches(nothing_stale, "publish", 2) == [[job] for job in nothing_stale]


@dataclass(frozen=True)
class _DyingRun:
    """A run whose worker dies mid-run (as one killed, or out of memory, would)."""

    lane: str = "dying"
    label: str = "dying"
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def execute(self, defs, instance) -> RunOutcome:
        os._exit(7)


def test_a_dying_worker_fails_its_run_and_the_others_load(tmp_path, city, catalog):
    generate(tmp_path, rows=300, seed=3, city=city, catalog=catalog, as_of=AS_OF)
    settings = settings_for(tmp_path)
    files, _ = scan_landing(tmp_path, catalog, city.county_codes, AS_OF)
    landings = [f for f in files if f.dataset_id == "medical_institutions"][:2]
    instance = dagster_instance(settings)
    add_partitions(
        instance, period_partitions_name(landings[0].dataset_id), {f.period for f in landings}
    )
    runs = [_DyingRun()] + [PartitionRun(f, county_tags(city, f.county_code)) for f in landings]
    with WorkerPool(settings, instance, 2) as pool:
        outcomes = pool.run(runs)
    assert [o.run_id for o in outcomes] == [r.run_id for r in runs]
    assert not outcomes[0].success and "退出码 7" in outcomes[0].error
    assert all(o.success for o in outcomes[1:]), outcomes
    for run in runs[1:]:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS


@dataclass(frozen=True)
class _ExitMarkingRun:
    """A run that leaves an exit handler in its worker (as Dagster, SQLAlchemy and multiprocessing
    do): it must still run when the worker ends."""

    marker: str
    lane: str = "marking"
    label: str = "marking"
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def execute(self, defs, instance) -> RunOutcome:
        import atexit

        atexit.register(Path(self.marker).write_text, f"exit handler of {os.getpid()}")
        return RunOutcome(self.run_id, True)


def test_a_worker_ends_with_its_exit_handlers_run_and_code_zero(tmp_path):
    """Workers end by ``os._exit`` after their exit handlers (no interpreter teardown to wait on):
    the handlers ran, the exit code is 0."""
    settings = settings_for(tmp_path)
    marker = tmp_path / "marker.txt"
    with WorkerPool(settings, dagster_instance(settings), 1) as pool:
        process = pool._workers[0].process
        outcomes = pool.run([_ExitMarkingRun(str(marker))])
    assert outcomes[0].success, outcomes
    assert process.exitcode == 0
    assert marker.read_text() == f"exit handler of {process.pid}"


def _hammer(url: str, worker: int, count: int) -> int:
    """Read-then-write transactions on one SQLite file; returns how many failed."""
    engine = get_engine(url)
    failed = 0
    for i in range(count):
        try:
            with engine.begin() as connection:
                seen = connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one()
                connection.execute(
                    sa.text("INSERT INTO t (worker, i, seen) VALUES (:w, :i, :s)"),
                    {"w": worker, "i": i, "s": seen},
                )
        except sa.exc.OperationalError:
            failed += 1
    return failed


def _hold(url: str, seconds: float) -> None:
    """One long write transaction (a large load), while the others write."""
    import time

    with get_engine(url).begin() as connection:
        connection.execute(sa.text("INSERT INTO t (worker, i, seen) VALUES (-1, 0, 0)"))
        time.sleep(seconds)


def test_concurrent_sqlite_writers_wait_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'zone.sqlite'}"
    with get_engine(url).begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (worker INT, i INT, seen INT)"))
    with get_engine(url).connect() as connection:
        busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    assert busy == SQLITE_BUSY_SECONDS * 1000
    dispose_engines()
    context = multiprocessing.get_context("spawn")
    # concurrent.futures, not multiprocessing.Pool: Pool's exit terminates its workers, and one
    # blocked on the task queue's lock then hangs the join (seen once in CI)
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        holding = pool.submit(_hold, url, 3.0)
        hammers = [pool.submit(_hammer, url, worker, 200) for worker in (1, 2)]
        results = [hammer.result(timeout=600) for hammer in hammers]
        holding.result(timeout=600)
    assert results == [0, 0]
    with get_engine(url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 401


_LEFT_OPEN = """
import os, signal, sys
# as a process started in the background, after Dagster mapped SIGTERM to SIGINT's disposition
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
from pathlib import Path
from orchestration.parallel import WorkerPool
from orchestration.runner import dagster_instance
from tests.helpers import settings_for

settings = settings_for(Path(sys.argv[1]))
pool = WorkerPool(settings, dagster_instance(settings), 2).__enter__()
print(" ".join(str(w.process.pid) for w in pool._workers), flush=True)
# the process ends here without closing the pool
"""


def test_a_parent_exiting_without_closing_the_pool_does_not_wait_on_its_workers(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _LEFT_OPEN, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,  # a parent joining its idle non-daemonic workers at exit never ends
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    for pid in pids:  # the workers went with their parent
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@dataclass(frozen=True)
class _WeighedRun:
    """A run that does nothing, of a lane and a weight."""

    lane: str
    label: str
    weight: int = 0
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def execute(self, defs, instance) -> RunOutcome:
        return RunOutcome(self.run_id, True)


def test_the_lane_with_the_most_work_left_goes_first(tmp_path):
    """A free worker takes the first run of the lane with the most work left, so that a lane of
    many runs does not end alone; runs without a weight keep their order; each lane keeps its own."""
    settings = settings_for(tmp_path)
    runs = [
        _WeighedRun("big", "big-1", 50),
        _WeighedRun("big", "big-2", 50),
        _WeighedRun("small", "small-1", 30),
        _WeighedRun("small", "small-2", 30),
        _WeighedRun("small", "small-3", 30),
        _WeighedRun("post", "post-1"),
        _WeighedRun("post", "post-2"),
    ]
    started: list[str] = []
    with WorkerPool(settings, dagster_instance(settings), 1) as pool:
        outcomes = pool.run(runs, on_start=lambda _i, run: started.append(run.label))
    assert [o.run_id for o in outcomes] == [r.run_id for r in runs]
    # work left: big 100 > small 90; small 90 > big 50; small 60 > big 50; big 50 > small 30; …
    assert started == ["big-1", "small-1", "small-2", "big-2", "small-3", "post-1", "post-2"]
