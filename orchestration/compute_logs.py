"""The embedded Dagster instance's compute logs, mirrored by a thread instead of two processes.

Dagster's ``LocalComputeLogManager`` captures a run's stdout and stderr at the file-descriptor level
into files the UI shows (a run's "stdout" and "stderr"), and mirrors each file back to the terminal
with a ``tail -F`` process watched by a second Python process (``watch_orphans.py``, which kills the
``tail`` should the run's process die). That is four processes started and stopped for every run:
``publicdata run`` starts about 27 runs, and a 10,000-row run spent about 2.8 s of its 22 s on them.

:class:`MirroredComputeLogManager` writes the same files in the same places (a stock instance and
``dagster-webserver`` read them as before) and mirrors them with one thread per stream: the
stream's descriptor is pointed at a pipe, the thread copies what arrives to the log file and to the
original descriptor, and when the capture ends the descriptor is restored and the thread drains the
pipe. What a step writes — Python's ``print``, a C library's ``write(1, …)``, a child process's
output — lands in both places as before. The thread dies with the process: nothing is orphaned.

A child process that outlives its step and keeps the pipe open would hold the capture's end: the
thread is then given :data:`DRAIN_SECONDS` and left (a daemon thread) to go on copying into the
file. The pipeline starts no such process. It is configured by the data directory's ``dagster.yaml``
(``orchestration/runner.py``); production (``dagster.yaml`` at the top of the repository) keeps
Dagster's own manager. Dagster is pinned (``constraints.txt``): this relies on the pinned version's
``LocalComputeLogManager`` (its paths and completion marker, ``capture_logs``' contract) and is
covered by ``tests/test_compute_logs.py``, which also reads the files back with the stock manager.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import IO

from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._utils import ensure_file, touch_file

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
DRAIN_SECONDS = 5.0  # after the capture, how long the copy may take before it is left to finish


class MirroredComputeLogManager(LocalComputeLogManager):
    """Dagster's local compute logs, mirrored to the terminal by a thread (see the module)."""

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> MirroredComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Generator[CapturedLogContext, None, None]:
        out = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        err = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        with mirrored(sys.stdout, out), mirrored(sys.stderr, err):
            yield CapturedLogContext(log_key)
        touch_file(self.complete_artifact_path(log_key))  # as Dagster's: the capture is complete


def _descriptor(stream: IO) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a test runner's stand-in, a closed stream
        return None
    return fd if isinstance(fd, int) else None


@contextmanager
def mirrored(stream: IO, path: str) -> Generator[None, None, None]:
    """Everything written to ``stream``'s descriptor while inside: appended to ``path`` and still
    written to where the descriptor pointed before."""
    fd = _descriptor(stream)
    ensure_file(path)
    if fd is None:  # nothing to redirect (Dagster's manager leaves such a stream alone too)
        yield
        return
    stream.flush()
    original = os.dup(fd)
    reader, writer = os.pipe()
    copier = threading.Thread(
        target=_copy, args=(reader, path, original), name="compute-log-mirror", daemon=True
    )
    copier.start()
    os.dup2(writer, fd)
    os.close(writer)
    try:
        yield
    finally:
        try:
            stream.flush()
        finally:
            os.dup2(original, fd)  # the pipe's last writer here: the copy reads to its end
            copier.join(DRAIN_SECONDS)
            if copier.is_alive():
                log.warning("compute log %s: a process still holds the captured stream", path)
            else:
                os.close(original)


def _copy(reader: int, path: str, original: int) -> None:
    terminal = True  # mirroring stops if the terminal goes away; the file is still written
    with open(path, "ab", buffering=0) as sink:
        while chunk := os.read(reader, CHUNK_BYTES):
            sink.write(chunk)
            if terminal:
                terminal = _write_all(original, chunk)
    os.close(reader)


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:  # a closed pipe or terminal: keep the log, stop the mirror
        return False
    return True
