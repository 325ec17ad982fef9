"""Workers forked from ``publicdata run`` (orchestration/parallel.py): a forked worker opens its own
database connections and leaves its parent's alone (used, closed or collected, they would break
the parent's session or SQLite's locks), runs only the exit handlers it registered itself, reports
its progress only over its pipe, and a fork never copies a half-written progress line. Spawned
workers (the start method off Linux) still work."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assets.common.notify import send
from assets.common.progress import listening, report
from assets.landing.paths import LandingPath
from assets.storage.engine import get_engine
from orchestration import parallel
from orchestration.lanes import governance_runs
from orchestration.parallel import (
    AUTO_MIN_BYTES,
    START_METHOD,
    WorkerPool,
    worker_count,
)
from orchestration.progress_line import still_while_forking
from orchestration.runner import dagster_instance
from orchestration.runs import RunOutcome
from tests.helpers import settings_for
from tests.test_notify import Receiver

pytestmark = pytest.mark.slow

_BACKEND = {
    "sqlite": "SELECT 1",
    "postgresql": "SELECT pg_backend_pid()",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def zone_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zone.sqlite'}"
    return request.getfixturevalue("pg_url")


@dataclass(frozen=True)
class _LookAround:
    """Reports, from inside the worker, what it inherited: whether its engine for ``url`` still has
    the parent's pool, the backend its own query ran on, and a stage report it made."""

    url: str
    parent_pool: int
    lane: str = "look"
    label: str = "look"
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def execute(self, defs, instance) -> RunOutcome:
        engine = get_engine(self.url)
        same_pool = id(engine.pool) == self.parent_pool
        with engine.connect() as connection:
            backend = connection.exec_driver_sql(_BACKEND[engine.dialect.name]).scalar_one()
        report(None, "ingest", "look", "看一看", rows=7)
        return RunOutcome(self.run_id, True, f"{same_pool} {backend}")


@pytest.mark.skipif(START_METHOD != "fork", reason="workers are forked on Linux only")
def test_a_forked_worker_leaves_its_parents_connections_handlers_and_listeners_alone(
    tmp_path, zone_url
):
    engine = get_engine(zone_url)
    dialect = engine.dialect.name
    parent = engine.connect()  # held open across the fork, as the CLI's pool holds its own
    before = parent.exec_driver_sql(_BACKEND[dialect]).scalar_one()
    marker = tmp_path / "handler-ran.txt"
    pid = os.getpid()

    def handler() -> None:  # the parent's: must not run when a worker ends
        if os.getpid() != pid:
            marker.write_text(str(os.getpid()))

    heard_here: list[str] = []
    relayed: list[int] = []
    atexit.register(handler)
    settings = settings_for(tmp_path / "data")
    try:
        with listening(lambda event: heard_here.append(event.dataset_id)):
            pool = WorkerPool(
                settings,
                dagster_instance(settings),
                1,
                on_progress=lambda event: relayed.append(event.rows),
            )
            with pool:
                process = pool._workers[0].process
                outcomes = pool.run([_LookAround(zone_url, id(engine.pool))])
    finally:
        atexit.unregister(handler)
    assert outcomes[0].success, outcomes
    same_pool, backend = outcomes[0].error.split()
    assert same_pool == "False"  # its own pool, not the parent's
    if dialect == "postgresql":
        assert int(backend) != before  # its own server session
    assert process.exitcode == 0
    assert not marker.exists()  # the parent's exit handler stayed the parent's
    assert relayed == [7]  # its report came back over the pipe ...
    assert heard_here == []  # ... and reached no listener it copied from the parent
    # the parent's connection survived the worker: same session, still answering
    assert parent.exec_driver_sql(_BACKEND[dialect]).scalar_one() == before
    parent.close()


@dataclass(frozen=True)
class _Notify:
    """Sends one notification from inside the worker; its delivery comes back as the error text."""

    url: str
    lane: str = "notify"
    label: str = "notify"
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def execute(self, defs, instance) -> RunOutcome:
        delivery = send(self.url, "工单通知", "来自工作进程")
        return RunOutcome(self.run_id, delivery.ok, delivery.error or "")


@pytest.mark.skipif(START_METHOD != "fork", reason="workers are forked on Linux only")
def test_a_forked_worker_notifies_after_its_parent_has(tmp_path):
    # apprise keeps module-level thread pools; a worker forked from a process that had notified got
    # them without their threads, and its first notice timed out after 60 s
    receiver = Receiver()
    url = f"json://127.0.0.1:{receiver.port}/"
    settings = settings_for(tmp_path / "data")
    try:
        assert send(url, "工单通知", "来自主进程").ok  # the pools exist in the parent now
        with WorkerPool(settings, dagster_instance(settings), 1) as pool:
            outcomes = pool.run([_Notify(url), _Notify(url)])
    finally:
        receiver.close()
    assert [o.success for o in outcomes] == [True, True], [o.error for o in outcomes]
    bodies = [body for _, body in receiver.received]
    assert (
        len(bodies) == 3
        and sum("来自工作进程" in json.dumps(b, ensure_ascii=False) for b in bodies) == 2
    )


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_spawned_and_forked_workers_run_alike(tmp_path, method):
    if method == "fork" and START_METHOD != "fork":
        pytest.skip("workers are forked on Linux only")
    settings = settings_for(tmp_path / "data")
    url = f"sqlite:///{tmp_path / 'zone.sqlite'}"
    pool = WorkerPool(settings, dagster_instance(settings), 2, start_method=method)
    with pool:
        outcomes = pool.run([_LookAround(url, 0), _LookAround(url, 0, lane="other")])
    assert [o.success for o in outcomes] == [True, True], outcomes
    assert {o.error for o in outcomes} == {"False 1"}


def test_a_fork_waits_for_the_progress_line_to_finish_its_redraw():
    """The display's lock is held across the fork: a fork started while the refresh thread redraws
    (holds the lock) happens only after it let go."""

    class Display:
        def __init__(self) -> None:
            self._lock = threading.RLock()

    display = Display()
    still_while_forking(display)
    drawing = threading.Event()
    released: list[float] = []

    def redraw() -> None:
        with display._lock:
            drawing.set()
            time.sleep(0.5)
            released.append(time.monotonic())

    thread = threading.Thread(target=redraw)
    thread.start()
    drawing.wait()
    child = os.fork()
    if child == 0:
        os._exit(0)
    forked = time.monotonic()
    thread.join()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert forked >= released[0]
    assert display._lock.acquire(blocking=False)  # released again in the parent
    display._lock.release()


def test_governance_groups_leave_room_for_the_jobs_that_go_along(catalog):
    weights = dict.fromkeys(catalog, 100)
    runs = governance_runs("govern_and_publish", sorted(catalog), catalog, weights, 2, 300)
    groups = [{key.path[-1] for key in run.selection} for run in runs]
    # seven equal datasets: the first group, whose worker takes the jobs alongside, gets two
    assert [len(group) for group in groups] == [2, 5]
    assert groups[0] | groups[1] == set(catalog)
    even = governance_runs("govern_and_publish", sorted(catalog), catalog, weights, 2)
    assert sorted(len({key.path[-1] for key in run.selection}) for run in even) == [3, 4]


_GE_IMPORT = """
import sys
import assets.quality.validation  # imports Great Expectations
deferred = sorted(m for m in ("scipy.spatial", "scipy.stats._stats_py", "altair.vegalite")
                  if m in sys.modules)
from scipy import stats
import altair
print(deferred, stats.norm.cdf(0.0), callable(altair.Chart), "scipy.stats._stats_py" in sys.modules)
"""


def test_great_expectations_import_defers_what_no_suite_uses():
    done = subprocess.run(
        [sys.executable, "-c", _GE_IMPORT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # not loaded by the import; loaded whole at first use
    assert done.stdout.split() == ["[]", "0.5", "True", "True"]


def _delivery(tmp_path: Path, county: str, dataset: str, size: int) -> LandingPath:
    relative = f"landing/{county}/{dataset}/2026-10.csv"
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return LandingPath(county, dataset, "2026-10", path, relative)


def test_any_delivery_gets_forked_workers_and_spawned_ones_only_for_enough_work(
    tmp_path, monkeypatch
):
    settings = settings_for(tmp_path / "data", parallel=None)
    large = [_delivery(tmp_path, "640502", "household_registration", AUTO_MIN_BYTES)]
    small = [_delivery(tmp_path, "640521", "household_registration", 1000)]
    two = [*small, _delivery(tmp_path, "640521", "market_entities", AUTO_MIN_BYTES)]
    cpus = settings.parallel_workers()
    assert cpus > 1 or os.cpu_count() == 1
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    # a forked worker costs nothing: even one small delivery's follow-up runs beside its governance
    assert worker_count(settings, large, 7) == cpus
    assert worker_count(settings, small, 7) == cpus
    assert worker_count(settings, two, 7) == cpus
    assert worker_count(settings, [], 7) == 1  # nothing to ingest: nothing to run beside
    assert worker_count(settings_for(tmp_path / "data", parallel=1), two, 7) == 1
    monkeypatch.setattr(parallel, "START_METHOD", "spawn")
    # a spawned worker imports the project: only for enough bytes of more than one dataset
    assert worker_count(settings, large, 7) == 1
    assert worker_count(settings, small, 7) == 1
    assert (
        worker_count(settings, [*small, _delivery(tmp_path, "640502", "market_entities", 9)], 7)
        == 1
    )
    assert worker_count(settings, two, 7) == cpus
    assert worker_count(settings_for(tmp_path / "data", parallel=2), small, 7) == 2
