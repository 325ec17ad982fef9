"""The CLI's progress line during a run: besides the file count, the stage at work in datasets and
rows (治理 户籍人口 3/7 数据集 · 412,000 行), from the stage reports of ``assets/common/progress.py``."""

from __future__ import annotations

import os
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assets.common.catalog import CatalogEntry
from assets.common.progress import STAGE_LABELS, StageProgress, listening

Progress = Callable[[str, int, int], None]

# stages counted in files (one partition run each) rather than datasets
_FILE_STAGES = ("ingest", "quality")


def stage_totals(catalog: dict[str, CatalogEntry]) -> dict[str, int]:
    """Datasets each post-ingest stage works through (禁止开放 ones are never published)."""
    return {
        "governance": len(catalog),
        "classification": len(catalog),
        "operation": sum(1 for e in catalog.values() if not e.is_prohibited),
    }


class StageLine:
    """Turns stage reports into the progress line's text, keeping the file count the runner gives."""

    def __init__(self, progress: Progress, totals: dict[str, int]) -> None:
        self._progress = progress
        self._totals = totals
        self._done_files = 0
        self._total_files = 0
        self._finished: dict[str, set[str]] = defaultdict(set)
        self._rows: dict[str, int] = defaultdict(int)
        self._counted: dict[str, int] = defaultdict(int)  # finished reports (files) per stage
        self._running: dict[str, dict[str, int]] = defaultdict(dict)  # stage → dataset → rows

    def files(self, label: str, done: int, total: int) -> None:
        self._done_files, self._total_files = done, total
        self._progress(label, done, total)

    def text(self, event: StageProgress) -> str:
        """Rows of the finished reports plus the latest of each dataset still at work: with
        parallel workers (``publicdata run --parallel``) several datasets of a stage run at once."""
        stage = event.stage
        running = self._running[stage]
        if event.finished:
            running.pop(event.dataset_id, None)
            self._rows[stage] += event.rows
            self._finished[stage].add(event.dataset_id)
            self._counted[stage] += 1
        else:
            running[event.dataset_id] = event.rows
        rows = self._rows[stage] + sum(running.values())
        label = STAGE_LABELS.get(stage, stage)
        if stage in _FILE_STAGES:
            count = f"{self._counted[stage]}/{self._total_files} 文件"
        else:
            done = len(self._finished[stage] | running.keys())
            count = f"{done}/{self._totals.get(stage, done)} 数据集"
        return f"{label} {event.title} {count} · {rows:,d} 行"

    def stage(self, event: StageProgress) -> None:
        self._progress(self.text(event), self._done_files, self._total_files)


@contextmanager
def stage_progress(
    progress: Progress | None, catalog: dict[str, CatalogEntry]
) -> Iterator[Progress | None]:
    """Within the block, stage reports update ``progress``; yields the file-count callback to give
    the runner in its place."""
    if progress is None:
        yield None
        return
    line = StageLine(progress, stage_totals(catalog))
    with listening(line.stage):
        yield line.files


def still_while_forking(display: object) -> None:
    """Hold ``display``'s lock across every fork of this process while the display lives.

    ``publicdata run`` forks its workers (``orchestration/parallel.py``) while rich's refresh thread
    redraws the progress line a few times a second. A fork copies only the forking thread: had the
    refresh thread been writing at that instant, the child would start with the terminal stream's
    lock taken by a thread it does not have, and block at its first write to stderr. The thread
    redraws under the display's lock (rich's ``Live._lock``), so holding that lock during the fork
    means no write is under way."""
    if not hasattr(os, "register_at_fork") or getattr(display, "_lock", None) is None:
        return
    live = weakref.ref(display)  # the hook stays registered; the display may go
    held: list = []

    def before() -> None:
        current = live()
        if current is not None:
            current._lock.acquire()
            held.append(current._lock)

    def after() -> None:
        while held:
            held.pop().release()

    os.register_at_fork(before=before, after_in_parent=after, after_in_child=after)
