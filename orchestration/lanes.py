"""How the runs of one ``publicdata run`` are weighed and grouped for the workers
(``orchestration/parallel.py``): each ingest run by the work delivered (a worker takes the lane
with the most left), the governance and publish by the stale datasets' work, and the file count of
the progress line while the partitions run."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assets.common.catalog import CatalogEntry
from assets.landing.paths import LandingPath
from assets.landing.read_ahead import AheadFile, ReadAhead, sweep_read_ahead, use_read_ahead
from orchestration.incremental import governance_selection
from orchestration.runs import JobRun, RunOutcome, job_run
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.parallel import Run

Progress = Callable[[str, int, int], None]


def delivered_bytes(path: LandingPath) -> int:
    try:
        return path.path.stat().st_size
    except OSError:
        return 0


# An Excel workbook's byte costs its ingest about this many times a text file's: the sheet is
# compressed (4.5 MB for 84,000 rows against 6.9 MB as CSV) and each cell is converted one by one
# (at 1M rows 2.1 s against 1.6 s for a file of four times the bytes)
WORKBOOK_BYTE_COST = 4


def delivered_work(landing: LandingPath) -> int:
    """A landing file's ingest work, in text-file bytes (``PartitionRun.weight``): the lanes with
    the most left go first, so that the lanes that take longest start first and the last ones to
    finish are short."""
    cost = WORKBOOK_BYTE_COST if landing.path.suffix.lower() in (".xlsx", ".xls") else 1
    return cost * delivered_bytes(landing)


@contextmanager
def reading_ahead(
    settings: Settings,
    catalog: dict[str, CatalogEntry],
    to_run: Sequence[LandingPath],
    forking: bool,
) -> Iterator[ReadAhead | None]:
    """The deliveries of ``to_run`` read ahead while this process prepares its workers
    (``assets/landing/read_ahead.py``), the costliest first; ``forking``: workers will be forked
    from this process (they take the reads), else nothing is read ahead. The reader's directory
    is this process's from here on (the workers inherit it) and is removed on leaving."""
    sweep_read_ahead(settings.staging_dir)
    if not forking or not to_run:
        yield None
        return
    order = sorted(to_run, key=lambda f: (-delivered_work(f), f.relative_path))
    limits = settings.read_limits
    ahead = ReadAhead(
        [
            AheadFile(f.path, catalog[f.dataset_id], limits)
            for f in order
            if f.dataset_id in catalog
        ],
        settings.staging_dir,
    )
    use_read_ahead(ahead.directory)
    try:
        yield ahead
    finally:
        use_read_ahead(None)
        ahead.close()


def governance_runs(
    job_name: str,
    stale: Sequence[str],
    catalog: dict[str, CatalogEntry],
    weights: dict[str, int],
    workers: int,
    alongside: int = 0,
) -> list[JobRun]:
    """The governance/publish job over the stale datasets: one run, or with workers one run per
    group of datasets, groups balanced by ``weights`` (the work of each: ``incremental.Staleness``),
    the largest dataset first. ``alongside``: the work of the jobs that go to the workers with the
    groups (``post_ingest_batches``), taken by the first worker free — the first group is left
    lighter by as much, so that it is that group's worker."""
    groups = min(workers, len(stale))
    if groups <= 1:
        everything = len(stale) == len(catalog)
        return [job_run(job_name, None if everything else governance_selection(stale, catalog))]
    bins: list[list[str]] = [[] for _ in range(groups)]
    loads = [0] * groups
    loads[0] = alongside
    for dataset_id in sorted(stale, key=lambda d: (-weights.get(d, 0), d)):
        target = min(range(groups), key=lambda i: (loads[i], len(bins[i])))
        bins[target].append(dataset_id)
        loads[target] += weights.get(dataset_id, 0)
    return [
        job_run(job_name, governance_selection(sorted(group), catalog), f"{job_name}#{i}")
        for i, group in enumerate(bins)
    ]


class FileTicker:
    """The file count of the progress line while partition runs start and end."""

    def __init__(self, progress: Progress | None, skipped: int, total: int) -> None:
        self._progress = progress
        self._done = skipped
        self._total = total
        self._running: list[str] = []

    def start(self, _index: int, run: Run) -> None:
        self._running.append(run.label)
        self._show()

    def done(self, _index: int, run: Run, _outcome: RunOutcome) -> None:
        self._running.remove(run.label)
        self._done += 1
        if self._running:
            self._show()

    def _show(self) -> None:
        if self._progress:
            self._progress(" · ".join(self._running), self._done, self._total)
