"""Giving freed memory back to the operating system between runs.

A worker process runs partition after partition: the memory a run freed stays with the process —
Arrow's allocator (mimalloc) keeps freed pages for reuse, glibc's heap keeps freed chunks below its
top — so each run started from the high-water mark of the ones before (a worker that had ingested
and checked three 1M-row partitions sat at 1.4 GB before governance started). After each run the
collector runs and both allocators hand back what they hold free: the next run starts near the
process's base, and peak RSS is one run's peak, not the sum of leftovers.

A process that only runs partitions and then ends — a worker, the ``publicdata`` command —
also freezes what survives each run (``gc.freeze``): the modules, Definitions and instance, several
hundred thousand objects that every full collection walked again (0.2 s each; 2.1 s of a worker's
CPU in a 1M-row run, 0.9 s frozen). Each run's garbage is collected before the freeze, so no cycle
is frozen (but the start's few thousand objects, frozen uncollected before a fork); what a later
run drops of the frozen objects is freed by reference counting as before.
Not in a process that goes on for long (a test session, the portal): a frozen object that later
becomes part of a garbage cycle is never collected.

Such a process also collects rarely while it starts (:func:`collect_rarely_while_starting`, from
``orchestration/console.py``): CPython collects its youngest generation every 700 allocations, and the
imports of Dagster, pandas, SQLAlchemy and the stages — some 2,000 modules, 400,000 objects — set off
thousands of collections that find nothing, the older generations' among them walking the growing
heap: 0.3 s of the 1.5 s the imports of an unchanged rerun took. The first :func:`freeze_survivors`
(the process's first run) collects and freezes what the start left, then puts the thresholds back."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)  # glibc only


# A full collection walks every tracked object: in a process holding many (a test session) it took
# most of the time of small runs. It runs only after a run that grew the process by this much.
COLLECT_AFTER_GROWTH = 256 * 2**20
_settled_rss = 0  # the process's resident size after the last release
_freezing = False  # freeze_between_runs() was called


# while the process starts, the youngest generation is collected every this many allocations
STARTUP_GEN0_THRESHOLD = 100_000
# the thresholds before the start, to restore at the first freeze
_startup_thresholds: tuple[int, int, int] | None = None


def collect_rarely_while_starting() -> None:
    """Raise the youngest generation's threshold until the first :func:`freeze_survivors`."""
    global _startup_thresholds
    if _startup_thresholds is None:
        _startup_thresholds = gc.get_threshold()
        gc.set_threshold(STARTUP_GEN0_THRESHOLD, *_startup_thresholds[1:])


def _rss() -> int:
    """Resident bytes of this process (Linux ``/proc``); 0 when unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_paused = False  # pause_while_importing() turned the collector off


@contextmanager
def paused_while_importing() -> Iterator[None]:
    """The collector off until the first :func:`freeze_survivors` or the end of the block, whichever
    comes first: ``publicdata run`` imports the stages, Dagster's execution and Great Expectations
    (some 2M container objects) before its first run, and even a collection every 100,000
    allocations walked each of them once before the freeze walks them all again (0.13 s of the
    serial start at 1M rows)."""
    global _paused
    if _paused or not gc.isenabled():
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        _resume()


def _resume() -> None:
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def freeze_between_runs(*, now: bool = False) -> None:
    """From now on :func:`release_memory` collects and freezes after every run (see the module's
    text); ``now``: also at once (a worker that has just built its Definitions)."""
    global _freezing
    _freezing = True
    if now:
        freeze_survivors()


def freeze_survivors(*, collect: bool = True) -> bool:
    """In a process that freezes between runs, collect and freeze now: before its first run, the
    imports and Definitions leave the collector's sight before the run's allocations (and Great
    Expectations' import) set off full collections. Elsewhere nothing. Whether it froze.

    ``collect=False``: freeze without collecting first — before forking workers, as the ``gc``
    documentation advises. The start's garbage (little: the collector was off while it imported)
    is frozen with the rest, and a child's collector never walks it; the full collection of some
    530,000 objects it spares took 0.47 s of the serial start at 1M rows."""
    global _startup_thresholds
    _resume()
    if _freezing:
        if collect:
            gc.collect()
        gc.freeze()
    if _startup_thresholds is not None:  # the start is over: the runs collect as usual
        gc.set_threshold(*_startup_thresholds)
        _startup_thresholds = None
    return _freezing


def release_memory() -> None:
    """Collect garbage (after a run that grew the process, or after every run once freezing) and
    return the free memory of Arrow's pool and of the C heap."""
    global _settled_rss
    rss = _rss()
    if _freezing:
        freeze_survivors()  # what the run left is collected, not the frozen heap
    elif rss == 0 or rss - _settled_rss >= COLLECT_AFTER_GROWTH:
        gc.collect()
    import pyarrow as pa  # loaded long before any run ends; not by the start it must precede

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        with suppress(OSError):
            trim(0)
    _settled_rss = _rss()
