"""Giving freed memory back to the operating system between runs.

A worker process runs partition after partition: the memory a run freed stays with the process —
Arrow's allocator (mimalloc) keeps freed pages for reuse, glibc's heap keeps freed chunks below its
top — so each run started from the high-water mark of the ones before (a worker that had ingested
and checked three 1M-row partitions sat at 1.4 GB before governance started). After each run the
collector runs and both allocators hand back what they hold free: the next run starts near the
process's base, and peak RSS is one run's peak, not the sum of leftovers."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from contextlib import suppress
from functools import cache

import pyarrow as pa


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)  # glibc only


def release_memory() -> None:
    """Collect garbage and return the free memory of Arrow's pool and of the C heap."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        with suppress(OSError):
            trim(0)
