"""Reading landing files ahead, on the core a ``publicdata run``'s start leaves idle.

Before its workers fork, a run imports Dagster, the project and Great Expectations and builds its
Definitions: about 2.5 s at 1M rows in which one core has nothing to do. Reading the deliveries
(decoding, parsing CSV and XLSX, mapping the header: 3 s of CPU at 1M rows, two thirds of it the
workbooks) needs none of that. So, once the run knows which files it ingests, a process forked from
it (before the run has imported Arrow or the readers: the reader imports them itself, on that core)
reads them there, the costliest first, and leaves each read (``LandingRead``) in a private directory
as an Arrow IPC file (:mod:`assets.landing.ahead_reads`); the ingest run that comes to that file
takes the read instead of reading the file again. The reader stops when the workers have started
(it ends the file at hand): from then on both cores are theirs.

A read is taken only for the same bytes (the file's SHA-256, computed by the ingest as before),
the same path, catalog entry and limits; anything else, a file the reader refused or failed on,
or no read-ahead at all, and the ingest reads the file itself, exactly as it always did. The
result is the same either way (``tests/test_read_ahead.py``).

**Claims.** Each file is read once: the reader claims it by linking a claim file it already holds
an exclusive ``flock`` on; an ingest that finds no claim makes one (``O_EXCL``) and reads the file
itself, so the reader passes it over. An ingest that finds the reader's claim waits on its lock,
which the reader releases when the read is written or given up — or when it dies: the kernel
drops a dead process's locks, so nothing waits on a reader that is gone.

The reads hold delivered rows as they came (personal data, raw zone): the directory is created
owner-only in the staging directory and removed when the ingest runs are over; one a killed run
left is removed by the next run (:func:`sweep_read_ahead`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from assets.common.catalog import CatalogEntry
from assets.common.files import private_dir
from assets.landing.limits import ReadLimits

DIRECTORY_PREFIX = ".read-ahead-"
READER_NICENESS = 10  # the run's own start goes first when both want the core
# where this process's ingest looks for reads; set in the run's process before its workers fork
_directory: Path | None = None


def use_read_ahead(directory: Path | None) -> None:
    """Where the ingest of this process (and of those it forks from now on) takes reads from;
    None: it reads every file itself."""
    global _directory
    _directory = directory


def read_ahead_directory() -> Path | None:
    """Where this process's ingest takes reads from (``ahead_reads.take_read``), or None."""
    return _directory


@dataclass(frozen=True)
class AheadFile:
    """A file to read ahead: its path, catalog entry and the run's limits."""

    path: Path
    entry: CatalogEntry
    limits: ReadLimits


class ReadAhead:
    """The reader process of one run and its directory (see the module docstring)."""

    def __init__(self, files: Sequence[AheadFile], staging_dir: Path) -> None:
        private_dir(staging_dir)  # raw delivered data: owner-only, as the stages beside it
        self.directory = Path(tempfile.mkdtemp(prefix=DIRECTORY_PREFIX, dir=staging_dir))
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._process = context.Process(
            target=_reader_main,
            args=(self.directory, list(files), self._stop),
            name="publicdata-read-ahead",
            daemon=True,
        )
        self._process.start()

    def stop(self) -> None:
        """The reader ends the file at hand and reads no more."""
        self._stop.set()

    def close(self) -> None:
        """End the reader, remove the directory and every read left in it. Called when no ingest
        is to take a read any more (the ingest runs are over, or the run is ending): a file still
        being read is abandoned, not waited for (on Ctrl-C that could be a large workbook)."""
        self._stop.set()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        shutil.rmtree(self.directory, ignore_errors=True)


def _reader_main(directory: Path, files: list[AheadFile], stop) -> None:  # noqa: ANN001 (Event)
    gc.freeze()  # the parent's objects: never walked here, their pages stay shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's: it stops this process
    with suppress(OSError):
        os.nice(READER_NICENESS)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the process's whole life)
    # Arrow, pandas and the readers: imported here, on the idle core, while the run's process
    # imports its own (forked before it has them, the reader starts that much earlier)
    from assets.landing.ahead_reads import read_one

    for ahead in files:
        if stop.is_set():
            return
        try:
            read_one(directory, ahead)
        except Exception:  # noqa: BLE001 (the ingest reads the file itself and reports it)
            continue


def sweep_read_ahead(staging_dir: Path) -> int:
    """Remove the read-ahead directories a killed run left (the caller holds the data directory:
    no other run is using one); how many."""
    removed = 0
    if staging_dir.is_dir():
        for directory in staging_dir.glob(f"{DIRECTORY_PREFIX}*"):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed
