"""Reading landing files ahead, on the core a ``publicdata run``'s start leaves idle.

Before its workers fork, a run imports Dagster, the project and Great Expectations and builds its
Definitions: about 2.5 s at 1M rows in which one core has nothing to do. Reading the deliveries
(decoding, parsing CSV and XLSX, mapping the header: 3 s of CPU at 1M rows, two thirds of it the
workbooks) needs none of that. So, once the run knows which files it ingests, a process forked from
it reads them there, the costliest first, and leaves each read (:class:`LandingRead`) in a private
directory as an Arrow IPC file; the ingest run that comes to that file takes the read instead of
reading the file again. The reader stops when the workers have started (it ends the file at hand):
from then on both cores are theirs.

A read is taken only for the same bytes (the file's SHA-256, computed by the ingest as before),
the same catalog entry and the same limits; anything else, a file the reader refused or failed on,
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

import fcntl
import gc
import hashlib
import json
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

import numpy as np
import pyarrow as pa

from assets.common.catalog import CatalogEntry
from assets.landing.limits import ReadLimits
from assets.landing.paths import file_checksum
from assets.landing.reader import LandingRead, read_landing_file
from assets.landing.rejections import RowRejection

DIRECTORY_PREFIX = ".read-ahead-"
READER_NICENESS = 10  # the run's own start goes first when both want the core
_SOURCE_ROW = "source_row"  # the IPC file's last column; the items are named in its metadata
_META = b"publicdata.landing_read"

# where this process's ingest looks for reads; set in the run's process before its workers fork
_directory: Path | None = None


def use_read_ahead(directory: Path | None) -> None:
    """Where the ingest of this process (and of those it forks from now on) takes reads from;
    None: it reads every file itself."""
    global _directory
    _directory = directory


@dataclass(frozen=True)
class AheadFile:
    """A file to read ahead: its path, catalog entry and the run's limits."""

    path: Path
    entry: CatalogEntry
    limits: ReadLimits


def read_key(path: Path, checksum: str, entry: CatalogEntry, limits: ReadLimits | None) -> str:
    """The name of a read: the file (its path and bytes), its catalog entry and the limits it was
    read under."""
    text = "\0".join((str(path), checksum, repr(entry), repr(limits or ReadLimits())))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def take_read(
    path: Path, checksum: str, entry: CatalogEntry, limits: ReadLimits | None
) -> LandingRead | None:
    """The read of this file the reader left, or None (the caller reads the file itself). Claims
    the file first when the reader has not: the reader then passes it over."""
    directory = _directory
    if directory is None:
        return None
    key = read_key(path, checksum, entry, limits)
    claim = directory / f"{key}.claim"
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return None  # ours now: the reader never started it
    except FileExistsError:
        pass  # the reader's: wait for it below
    except OSError:  # the directory is gone (the ingest runs are over): read it here
        return None
    try:
        with open(claim, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)  # held by the reader while it reads
    except OSError:
        return None
    result = directory / f"{key}.arrow"
    try:
        return load_read(result)
    except (OSError, pa.ArrowException, ValueError, KeyError, TypeError):
        return None  # refused, failed or never written: the caller reads the file and says why
    finally:
        with suppress(OSError):
            result.unlink()


def save_read(read: LandingRead, path: Path) -> None:
    """Write ``read`` to ``path`` as an Arrow IPC file (written beside it, then renamed)."""
    names = list(read.items)
    columns = [*read.items.values(), pa.array(read.source_rows, type=pa.int64())]
    table = pa.Table.from_arrays(
        columns, names=[f"c{i}" for i in range(len(names))] + [_SOURCE_ROW]
    )
    meta = {
        "items": names,
        "chunked": [n for n, a in read.items.items() if isinstance(a, pa.ChunkedArray)],
        "encoding": read.encoding,
        "file_format": read.file_format,
        "rows_read": read.rows_read,
        "rejections": [_row(r) for r in read.rejections],
        "unknown_headers": list(read.unknown_headers),
        "missing_optional": list(read.missing_optional),
        "skipped": [_row(r) for r in read.skipped],
    }
    table = table.replace_schema_metadata({_META: json.dumps(meta, ensure_ascii=False)})
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        with pa.OSFile(str(part), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def load_read(path: Path) -> LandingRead:
    """A read :func:`save_read` wrote: the same items (arrays or chunked arrays, as they were),
    source rows, rejections and skipped rows."""
    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    meta = json.loads(table.schema.metadata[_META])
    chunked = set(meta["chunked"])
    items: dict[str, pa.Array | pa.ChunkedArray] = {}
    for index, name in enumerate(meta["items"]):
        column = table.column(index)
        items[name] = column if name in chunked else column.combine_chunks()
    source_rows = table.column(_SOURCE_ROW).to_numpy().astype(np.int64, copy=False)
    return LandingRead(
        items=items,
        source_rows=source_rows,
        encoding=meta["encoding"],
        file_format=meta["file_format"],
        rows_read=meta["rows_read"],
        rejections=[RowRejection(*r) for r in meta["rejections"]],
        unknown_headers=meta["unknown_headers"],
        missing_optional=meta["missing_optional"],
        skipped=[RowRejection(*r) for r in meta["skipped"]],
    )


def _row(rejection: RowRejection) -> list:
    return [rejection.source_row, rejection.reason_code, rejection.reason]


class ReadAhead:
    """The reader process of one run and its directory (see the module docstring)."""

    def __init__(self, files: Sequence[AheadFile], staging_dir: Path) -> None:
        staging_dir.mkdir(parents=True, exist_ok=True)
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
        """Stop the reader, wait for it, remove the directory and every read left in it."""
        self._stop.set()
        self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        shutil.rmtree(self.directory, ignore_errors=True)


STOP_SECONDS = 60.0  # the file at hand: a workbook at the row limit takes a while


def _reader_main(directory: Path, files: list[AheadFile], stop) -> None:  # noqa: ANN001 (Event)
    gc.freeze()  # the parent's objects: never walked here, their pages stay shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's: it stops this process
    with suppress(OSError):
        os.nice(READER_NICENESS)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the process's whole life)
    for ahead in files:
        if stop.is_set():
            return
        try:
            _read_one(directory, ahead)
        except Exception:  # noqa: BLE001 (the ingest reads the file itself and reports it)
            continue


def _read_one(directory: Path, ahead: AheadFile) -> None:
    key = read_key(ahead.path, file_checksum(ahead.path), ahead.entry, ahead.limits)
    fd, temporary = tempfile.mkstemp(prefix=f"{key}.", suffix=".lock", dir=directory)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.link(temporary, directory / f"{key}.claim")
        except FileExistsError:  # the ingest came first
            return
        save_read(
            read_landing_file(ahead.path, ahead.entry, ahead.limits), directory / f"{key}.arrow"
        )
    finally:
        os.unlink(temporary)
        os.close(fd)  # the lock goes with it: a waiting ingest takes the read (or reads itself)


def sweep_read_ahead(staging_dir: Path) -> int:
    """Remove the read-ahead directories a killed run left (the caller holds the data directory:
    no other run is using one); how many."""
    removed = 0
    if staging_dir.is_dir():
        for directory in staging_dir.glob(f"{DIRECTORY_PREFIX}*"):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed
