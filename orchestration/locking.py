"""One run at a time per data directory, and the Dagster instance created by one process at a time.

Two ``publicdata run`` on one data directory would race on everything the run creates: Dagster's
instance storage (two processes stamping ``alembic_version`` in a fresh ``runs.db`` leave two heads,
and every later run fails), its dynamic partitions, the zone tables and the staging files. So every
command that changes a data directory holds ``<data dir>/.publicdata.lock`` (an advisory ``flock``,
released by the kernel when the process ends, even when it is killed); a second command is refused at
once with :class:`DataDirBusy`, saying which process holds the directory. Commands that only open the
Dagster instance (``publicdata ui``) wait on a second lock, ``<dagster home>/.instance.lock``, while
another process creates or migrates it.

The locks are re-entrant within a process (``publicdata demo`` holds the run lock around generating
and running; the runner takes it again).
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from assets.common.files import private_dir
from assets.common.workdays import CHINA_TZ

RUN_LOCK = ".publicdata.lock"
INSTANCE_LOCK = ".instance.lock"

# exit status of a command refused because another holds the data directory (EX_TEMPFAIL: try later)
BUSY_EXIT_CODE = 75

_held: dict[str, tuple[int, int]] = {}  # lock path → (descriptor, depth) held by this process
_guard = threading.Lock()


class DataDirBusy(RuntimeError):
    """Another process holds the data directory; ``str()`` says which, in Chinese."""


def _holder(descriptor: int) -> str:
    try:
        text = os.pread(descriptor, 512, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    return text


@contextmanager
def _flock(path: Path, *, wait: bool) -> Iterator[None]:
    key = str(path)
    with _guard:
        if key in _held:
            descriptor, depth = _held[key]
            _held[key] = (descriptor, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                descriptor, depth = _held[key]
                _held[key] = (descriptor, depth - 1)
        return

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        holder = _holder(descriptor)
        os.close(descriptor)
        raise DataDirBusy(holder) from None
    except BaseException:
        os.close(descriptor)
        raise
    stamp = f"进程 {os.getpid()}（{socket.gethostname()}），开始于 {datetime.now(CHINA_TZ):%Y-%m-%d %H:%M:%S%z}"
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, stamp.encode("utf-8"), 0)
    with _guard:
        _held[key] = (descriptor, 1)
    try:
        yield
    finally:
        with _guard:
            _, depth = _held.pop(key)
        os.ftruncate(descriptor, 0)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


@contextmanager
def exclusive_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold the data directory for this process, or raise :class:`DataDirBusy` at once."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _flock(data_dir / RUN_LOCK, wait=False):
            yield
    except DataDirBusy as busy:
        holder = f"（{busy.args[0]}）" if busy.args and busy.args[0] else ""
        raise DataDirBusy(
            f"数据目录 {data_dir} 正由另一个 publicdata 命令使用{holder}。"
            "同一数据目录同一时间只能运行一个命令：请等它结束后再运行。"
        ) from None


@contextmanager
def instance_creation(dagster_home: Path) -> Iterator[None]:
    """Wait until no other process is creating or migrating the Dagster instance in ``dagster_home``,
    and keep others waiting while this one does."""
    private_dir(dagster_home)
    with _flock(dagster_home / INSTANCE_LOCK, wait=True):
        yield
