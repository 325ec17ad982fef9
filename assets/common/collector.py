"""Python's cyclic garbage collector paused around loops that build many short-lived containers.

Reading a SQLite result builds a tuple per row (65,536 at a time); each tuple counts towards the
collector's thresholds, so a large read set off full collections over the whole heap (Dagster,
Great Expectations and pandas objects included) about once per batch: 0.26 s each, 7.8 s of CPU
over the two workers of a 1M-row run, a tenth of it. Those tuples hold only text, numbers and None
and form no cycles: reference counting frees them when the batch is dropped, and the collector has
nothing to find in them.

Only for such loops: anything that may build reference cycles runs with the collector on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block (reference counting still frees memory); back on
    afterwards if it was on, also when the block raises."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
