"""The reads a read-ahead (:mod:`assets.landing.read_ahead`) leaves and the ingest takes: each
read as an Arrow IPC file named by :func:`read_key`, and the claims that have each file read once
(see that module's docstring)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import suppress
from pathlib import Path

import numpy as np
import pyarrow as pa

from assets.common.catalog import CatalogEntry
from assets.landing.limits import ReadLimits
from assets.landing.paths import file_checksum
from assets.landing.read_ahead import AheadFile, read_ahead_directory
from assets.landing.reader import LandingRead, read_landing_file
from assets.landing.rejections import RowRejection

_SOURCE_ROW = "source_row"  # the IPC file's last column; the items are named in its metadata
_META = b"publicdata.landing_read"


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
    directory = read_ahead_directory()
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


def read_one(directory: Path, ahead: AheadFile) -> None:
    """Claim ``ahead``'s file and leave its read, unless an ingest claimed it first; a refusal
    or failure is raised with the claim let go (the ingest then reads the file itself)."""
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
