"""``publicdata run --parallel N``: the runs of one ``publicdata run`` on N long-lived worker processes.

On Linux a worker is a ``fork`` of this process: it starts with the project, Great Expectations and
the Definitions already imported and built (each spawned worker imported them again, about 5 s of
CPU, and Great Expectations once more at its first quality check). Before the fork this process
imports what a worker's runs import lazily and collects its garbage; the child then leaves every
connection it inherited alone — each engine gets a fresh pool, the parent's pools and kept
connections are held, never closed (``assets/storage/engine.py``, ``arrow_read.py``); the exit
handlers and progress listeners registered before the fork are dropped — and opens its own Dagster
instance. Elsewhere (``fork`` is unsafe on macOS) a worker is started with ``spawn`` and imports and
builds everything itself. Either way it executes the runs handed to it one after another in process,
exactly as the runner does with ``--parallel 1`` (``orchestration/runs.py``): same jobs, tags and
run config, every run recorded in the data directory's instance. Only the outcome (run id, success,
failure text) and the stage progress reports (counts only) come back over the worker's pipe.

Why not Dagster's multiprocess executor: it starts a process per *step*, and each one imports the
project again (``python -X importtime -c "import orchestration.definitions"``: 4.7 s CPU), i.e.
about 15 s of imports per partition run (county ingest, exchange load, quality check) and more per
dataset after ingest, against 158 s CPU for the whole 1M-row run. A worker pays that import once.

Runs of one *lane* (a dataset: its exchange table, staging and quality files) never run at once, and
keep their order; lanes go largest first. A worker that dies (killed, out of memory) fails the run it
had — the run is marked failed in the instance with the reason — and is replaced; the others go on.
Ctrl-C reaches the workers (one process group), which end their runs; the pool then stops them.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, NoReturn, Protocol

import dagster as dg

from assets.common.progress import StageProgress, listening, report
from assets.landing.paths import LandingPath
from assets.storage.engine import one_line_error
from orchestration.exiting import end_on_sigterm, sigterm_default
from orchestration.lanes import delivered_bytes
from orchestration.memory import freeze_between_runs, freeze_survivors, release_memory
from orchestration.runs import RunOutcome
from orchestration.settings import Settings

log = logging.getLogger(__name__)

# a fork on Linux; spawn where forking a process that imported system frameworks is unsafe (macOS)
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
# imported by a worker's runs, not yet by this process when the pool starts: imported here once,
# before the fork, instead of in every worker (Great Expectations 1.5 s of CPU)
WORKER_MODULES = (
    "assets.quality.findings",
    "dagster._core.execution.execute_in_process",
    "dagster._core.executor.in_process",
    "orchestration.compute_logs",  # Dagster's local compute log manager under it
    "pyarrow.dataset",
)
STOP_SECONDS = 10.0  # how long stopping workers may take before they are terminated
# spawned workers, --parallel unset: less to ingest than this stays in one process (worker_count)
AUTO_MIN_BYTES = 4 * 2**20

OnStart = Callable[[int, "Run"], None]
OnDone = Callable[[int, "Run", RunOutcome], None]


class Run(Protocol):
    run_id: str

    @property
    def lane(self) -> str: ...

    @property
    def label(self) -> str: ...

    def execute(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> RunOutcome: ...


def _prepare_fork() -> None:
    """In the parent, before forking workers: what they will import is imported, and no garbage is
    left for a child's collector to find (an unreachable engine's connections would be closed
    there); a process that freezes between runs freezes now, so the children share those pages."""
    for name in WORKER_MODULES:
        with suppress(ImportError):  # only saves the workers an import; Dagster may move its own
            importlib.import_module(name)
    if not freeze_survivors(collect=False):  # frozen, a child's collector never walks it
        gc.collect()


def _after_fork() -> None:
    """In a forked worker, first: nothing it inherited acts on its own — the exit handlers and
    progress listeners registered before the fork are the parent's, and every engine gets a fresh
    pool (its parent's connections are kept, never used or closed)."""
    from assets.common.progress import forget_listeners
    from assets.storage.engine import forget_inherited_engines

    atexit._clear()
    forget_listeners()
    forget_inherited_engines()


def _worker_main(
    connection: Connection, settings: Settings, inherited: dg.Definitions | None = None
) -> None:
    """A worker: build once, then run what the parent sends until it sends ``None``.
    ``inherited``: the parent's Definitions, given to a worker forked from it."""
    from assets.common.files import private_umask
    from assets.common.workdays import use_calendar_dir

    if inherited is not None:
        _after_fork()
    end_on_sigterm()
    private_umask()
    use_calendar_dir(settings.calendar_dir)  # as Settings.load does in the parent
    broken = ""
    defs = instance = None
    try:
        from orchestration.assembly import build_definitions
        from orchestration.runner import dagster_instance

        defs = inherited or build_definitions(settings)
        instance = dagster_instance(settings)
        freeze_between_runs(now=True)  # a worker only runs partitions, then ends
    except Exception as exc:  # every run handed over fails with the reason, nothing hangs
        broken = f"工作进程无法启动：{one_line_error(exc)}"

    def forward(event: StageProgress) -> None:
        connection.send(("progress", event))

    with listening(forward):
        while True:
            try:
                run = connection.recv()
            except (EOFError, KeyboardInterrupt):
                break
            if run is None:
                break
            if broken or defs is None or instance is None:
                outcome = RunOutcome(run.run_id, False, broken)
            else:
                try:
                    outcome = run.execute(defs, instance)
                except KeyboardInterrupt:
                    break
                except Exception as exc:
                    outcome = RunOutcome(run.run_id, False, one_line_error(exc))
                release_memory()  # the next run starts near the base, not at this one's peak
                end_on_sigterm()  # the run's interrupt handling may have set it otherwise
            connection.send(("done", outcome))
    _leave(instance)


def _leave(instance: dg.DagsterInstance | None) -> NoReturn:
    """End the worker: its connections closed, then :func:`~orchestration.exiting.exit_now` (exit
    handlers run, no interpreter teardown — which freed the worker's heap object by object while
    ``publicdata run`` waited on it before its summary: closing the pool at 1M rows 1.53 → 0.11 s)."""
    from assets.storage.arrow_read import dispose_connections
    from assets.storage.engine import dispose_engines
    from orchestration.exiting import exit_now

    code = 0
    try:
        if instance is not None:
            instance.dispose()
        dispose_connections()
        dispose_engines()
    except Exception:  # noqa: BLE001 - still ends; the parent sees the code
        log.exception("worker cleanup failed")
        code = 1
    exit_now(code)


class _Worker:
    def __init__(self, context: Any, settings: Settings, defs: dg.Definitions | None) -> None:
        self.connection, child = context.Pipe()
        # daemonic: a parent that exits without closing the pool (killed test runner, an error
        # outside the ``with``) terminates its workers instead of waiting on them at exit
        self.process: BaseProcess = context.Process(
            target=_worker_main,
            args=(child, settings, defs),
            name="publicdata-worker",
            daemon=True,
        )
        with sigterm_default():
            self.process.start()
        child.close()
        self.current: tuple[int, Run] | None = None

    def send(self, index: int, run: Run) -> None:
        self.current = (index, run)
        # a dead worker's pipe refuses the run: its sentinel says so and the run fails with the reason
        with suppress(OSError, ValueError):
            self.connection.send(run)


class WorkerPool:
    """N workers for the duration of a ``with`` block; :meth:`run` executes a batch of runs."""

    def __init__(
        self,
        settings: Settings,
        instance: dg.DagsterInstance,
        size: int,
        on_progress: Callable[[StageProgress], None] | None = None,
        *,
        defs: dg.Definitions | None = None,
        start_method: str = START_METHOD,
    ) -> None:
        self._settings = settings
        self._instance = instance
        self._size = max(1, size)
        self._on_progress = on_progress
        self._context = multiprocessing.get_context(start_method)
        # a forked worker runs this process's Definitions; a spawned one builds its own
        self._fork = start_method == "fork"
        self._defs = defs if self._fork else None
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        if self._fork:
            _prepare_fork()
        self._workers = [self._start() for _ in range(self._size)]
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(interrupted=exc_type is not None)

    def _start(self) -> _Worker:
        if self._fork and self._defs is None:
            from orchestration.assembly import build_definitions

            self._defs = build_definitions(self._settings)
        return _Worker(self._context, self._settings, self._defs)

    def close(self, *, interrupted: bool = False) -> None:
        for worker in self._workers:
            if not interrupted:
                with suppress(OSError, ValueError):
                    worker.connection.send(None)
        for worker in self._workers:
            worker.process.join(STOP_SECONDS if not interrupted else STOP_SECONDS / 2)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(STOP_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
            if worker.current is not None:  # stopped mid-run (Ctrl-C): the UI says so
                mark_run_failed(self._instance, worker.current[1].run_id, "运行被中断")
        self._workers = []

    def run(
        self,
        runs: Sequence[Run],
        on_start: OnStart | None = None,
        on_done: OnDone | None = None,
    ) -> list[RunOutcome]:
        """Execute ``runs`` (in their order within a lane; first the lane with the most work left,
        by the runs' ``weight`` where they have one, else the lane of the earliest pending run) and
        return their outcomes in the order given."""
        outcomes: list[RunOutcome | None] = [None] * len(runs)
        pending = list(enumerate(runs))
        busy_lanes: set[str] = set()
        # the work left in each lane: the lane with the most goes first, so that the runs left at
        # the end are of several lanes, not one lane's runs one after another with a worker idle
        left: dict[str, int] = {}
        for run in runs:
            left[run.lane] = left.get(run.lane, 0) + getattr(run, "weight", 0)

        def next_run() -> tuple[int, Run] | None:
            free = [p for p, (_index, run) in enumerate(pending) if run.lane not in busy_lanes]
            if not free:
                return None
            position = max(free, key=lambda p: (left[pending[p][1].lane], -p))
            item = pending.pop(position)
            left[item[1].lane] -= getattr(item[1], "weight", 0)
            return item

        def finish(worker: _Worker, outcome: RunOutcome) -> None:
            assert worker.current is not None
            index, run = worker.current
            worker.current = None
            busy_lanes.discard(run.lane)
            outcomes[index] = outcome
            if on_done:
                on_done(index, run, outcome)

        while pending or any(w.current for w in self._workers):
            for worker in list(self._workers):
                if worker.current is None and not worker.process.is_alive():
                    worker = self._replace(worker)
                if worker.current is None and (item := next_run()) is not None:
                    busy_lanes.add(item[1].lane)
                    if on_start:
                        on_start(*item)
                    worker.send(*item)
            by_handle: dict[Any, _Worker] = {}
            for worker in self._workers:
                if worker.current is not None:
                    by_handle[worker.connection] = worker
                    by_handle[worker.process.sentinel] = worker
            for handle in wait(list(by_handle)):
                worker = by_handle[handle]
                if worker.current is None:
                    continue
                if handle is worker.connection:
                    self._receive(worker, finish)
                else:
                    self._lost(worker, finish)
        return [o for o in outcomes if o is not None]

    def _receive(self, worker: _Worker, finish: Callable[[_Worker, RunOutcome], None]) -> None:
        try:
            while worker.connection.poll():
                kind, payload = worker.connection.recv()
                if kind == "progress":
                    if self._on_progress:
                        self._on_progress(payload)
                elif kind == "done":
                    finish(worker, payload)
                    return
        except (EOFError, OSError):
            return  # the process sentinel reports the death

    def _lost(
        self,
        worker: _Worker,
        finish: Callable[[_Worker, RunOutcome], None],
    ) -> None:
        """The worker died with a run in hand: drain what it sent, fail its run, replace it."""
        self._receive(worker, finish)
        if worker.current is None:  # it answered before it went
            self._replace(worker)
            return
        worker.process.join()
        code = worker.process.exitcode
        reason = f"工作进程意外退出（退出码 {code}{_signal_name(code)}），本次运行未完成"
        _, run = worker.current
        mark_run_failed(self._instance, run.run_id, reason)
        finish(worker, RunOutcome(run.run_id, False, reason))
        self._replace(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.join()
        worker.connection.close()
        position = self._workers.index(worker)
        self._workers[position] = self._start()
        return self._workers[position]


def _signal_name(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"，信号 {signal.Signals(-code).name}"
        except ValueError:
            return ""
    return ""


def mark_run_failed(instance: dg.DagsterInstance, run_id: str, reason: str) -> None:
    """A run its worker left unfinished is marked failed in the instance (the UI shows why)."""
    try:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, message=reason)
    except Exception as exc:  # the outcome still says why; the instance may be what failed
        log.warning("无法把运行 %s 标为失败：%s", run_id, one_line_error(exc))


class InProcessRuns:
    """``--parallel 1``: the runs in this process, one after another (the runner's way so far)."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs = defs
        self._instance = instance

    def run(
        self, runs: Sequence[Run], on_start: OnStart | None = None, on_done: OnDone | None = None
    ) -> list[RunOutcome]:
        outcomes = []
        for index, run in enumerate(runs):
            if on_start:
                on_start(index, run)
            outcome = run.execute(self.defs, self._instance)
            release_memory()
            outcomes.append(outcome)
            if on_done:
                on_done(index, run, outcome)
        return outcomes


def _relay(event: StageProgress) -> None:
    """A worker's stage report, to this process's listeners (the CLI's progress line)."""
    report(
        None,
        event.stage,
        event.dataset_id,
        event.title,
        rows=event.rows,
        finished=event.finished,
    )


@contextmanager
def run_executor(
    settings: Settings, instance: dg.DagsterInstance, local: InProcessRuns, workers: int
) -> Iterator[InProcessRuns | WorkerPool]:
    if workers <= 1:
        yield local
        return
    with WorkerPool(settings, instance, workers, on_progress=_relay, defs=local.defs) as pool:
        yield pool


def worker_count(settings: Settings, to_run: Sequence[LandingPath], datasets: int) -> int:
    """Workers for this run: ``--parallel`` (at most one per dataset); unset, one per CPU when
    there is something to ingest, else none (the runs in the CLI's process). A forked worker starts
    with the CLI's imports: even a small run gains (2,000 rows in 21 files: 29.0 -> 18.4 s wall, the
    same CPU), and one delivery's quality follow-up and catalog run beside its governance. A spawned
    worker imports the project (~5 s CPU): none for less than ``AUTO_MIN_BYTES`` to ingest, nor for
    one dataset's deliveries, whose runs never run at once."""
    workers = min(settings.parallel_workers(), max(1, datasets))
    if settings.parallel is not None:
        return workers
    if not to_run or (
        START_METHOD != "fork"
        and (
            sum(map(delivered_bytes, to_run)) < AUTO_MIN_BYTES
            or len({f.dataset_id for f in to_run}) < 2
        )
    ):
        return 1
    return workers
