"""``orchestration/memory.py``: after a run that grew the process, a full collection; after one that
did not, none (a full collection in a process holding many objects cost most of a small run)."""

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from orchestration import memory

ROOT = Path(__file__).resolve().parents[1]


def _full_collections(action) -> int:
    seen: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(callback)
    try:
        action()
    finally:
        gc.callbacks.remove(callback)
    return len(seen)


def test_a_full_collection_only_after_the_process_grew():
    memory.release_memory()  # settled
    assert _full_collections(memory.release_memory) == 0

    grown = bytearray(memory.COLLECT_AFTER_GROWTH + 64 * 2**20)  # touched: resident
    assert memory._rss() - memory._settled_rss >= memory.COLLECT_AFTER_GROWTH
    assert _full_collections(memory.release_memory) == 1
    del grown
    memory.release_memory()
    assert _full_collections(memory.release_memory) == 0


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def freezing():
    memory.freeze_between_runs()
    try:
        yield
    finally:
        memory._freezing = False
        gc.unfreeze()  # the test session is not a short-lived process


def test_once_freezing_each_release_collects_the_run_s_cycles_then_freezes_the_survivors(freezing):
    kept = _Node()
    dropped = weakref.ref(_Node())  # the run's garbage: unreachable, in a cycle
    assert dropped() is not None
    memory.release_memory()
    assert dropped() is None  # collected before the freeze, not frozen with the survivors
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for generation in range(3) for o in gc.get_objects(generation))
    # a full collection after the freeze does not walk the frozen survivors
    walked: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            walked.append(len(gc.get_objects(2)))

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert walked and walked[0] < gc.get_freeze_count()


def test_without_freezing_nothing_is_frozen():
    memory.release_memory()
    assert gc.get_freeze_count() == 0


def test_survivors_are_frozen_at_once_only_in_a_process_that_freezes(freezing):
    memory._freezing = False
    memory.freeze_survivors()
    assert gc.get_freeze_count() == 0
    memory._freezing = True
    memory.freeze_survivors()
    assert gc.get_freeze_count() > 0


def test_before_a_fork_the_survivors_are_frozen_without_a_collection(freezing):
    """``freeze_survivors(collect=False)`` (the pool, before forking): no full collection, the
    start's garbage frozen with the rest — out of the children's collectors' sight — not freed."""
    gc.collect()
    lost = _Node()
    gone = weakref.ref(lost)
    del lost
    assert _full_collections(lambda: memory.freeze_survivors(collect=False)) == 0
    assert gc.get_freeze_count() > 0 and gone() is not None
    gc.collect()
    assert gone() is not None  # frozen: the collector does not walk it
    gc.unfreeze()
    gc.collect()
    assert gone() is None


_STARTING = """
import gc, sys
from orchestration import memory
before = gc.get_threshold()
memory.collect_rarely_while_starting()
memory.collect_rarely_while_starting()  # once: the second call keeps the first's thresholds
starting = gc.get_threshold()
import orchestration.cli, orchestration.runner  # the start: no young collection in between
young = gc.get_count()[0]
memory.freeze_between_runs()
memory.freeze_survivors()  # the first run: collected, frozen, the thresholds back
print(before == gc.get_threshold(), starting[0], starting[1:] == before[1:], young > before[0])
"""


def test_the_command_collects_rarely_while_it_starts_then_as_usual():
    """``publicdata`` (``orchestration/console.py``) raises the youngest generation's threshold
    before its imports; the first run's freeze puts it back. In a child process: the test session
    must not freeze."""
    done = subprocess.run(
        [sys.executable, "-c", _STARTING],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    restored, gen0, older_kept, deferred = done.stdout.split()
    assert restored == "True" and older_kept == "True"
    assert int(gen0) == memory.STARTUP_GEN0_THRESHOLD
    assert deferred == "True"  # more than 700 allocations waited: the imports were not collected


def test_the_command_entry_point_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.console", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("publicdata ")


_PAUSED = """
import gc
from orchestration import memory
with memory.paused_while_importing():
    inside = gc.isenabled()
    with memory.paused_while_importing():  # nested: the outer block decides
        pass
    still = gc.isenabled()
after_block = gc.isenabled()
with memory.paused_while_importing():
    memory.freeze_survivors()  # the first run's freeze turns the collector back on
    after_freeze = gc.isenabled()
gc.disable()
with memory.paused_while_importing():  # off already (by someone else): left off
    pass
print(inside, still, after_block, after_freeze, gc.isenabled())
"""


def test_the_run_s_imports_pause_the_collector_until_the_first_freeze():
    done = subprocess.run(
        [sys.executable, "-c", _PAUSED], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False", "True", "True", "False"]
