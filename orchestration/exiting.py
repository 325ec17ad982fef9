"""Ending a process without the interpreter's teardown.

When ``publicdata`` (or a ``--parallel`` worker) is done, Python's normal exit runs the exit handlers,
then frees every module and object one by one — Dagster, pandas, Arrow, SQLAlchemy and, in a worker,
Great Expectations: 0.4 s of an unchanged rerun's 2.2 s, 1.5 s for a worker at 1M rows, spent
freeing memory the operating system takes back at once. :func:`exit_now` keeps what matters of a
normal exit — the non-daemon threads joined, the exit handlers run (database connections closed,
multiprocessing's resources released, log handlers flushed), stdout and stderr flushed — then ends the
process with ``os._exit``.

And a ``--parallel`` worker ends on SIGTERM whatever dispositions it inherited (:func:`end_on_sigterm`).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

log = logging.getLogger(__name__)


def exit_code(code: object) -> int:
    """The process exit status ``sys.exit(code)`` would give (a text is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with suppress(Exception):
        sys.stderr.write(f"{code}\n")
    return 1


def exit_now(code: int = 0) -> NoReturn:
    """End the process as a normal exit would, minus the teardown of the heap."""
    try:
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon and thread.is_alive():
                thread.join()
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - still ends; the status says it did not end cleanly
        log.exception("exit handlers failed")
        code = code or 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(code)


def end_on_sigterm() -> None:
    """SIGTERM ends a worker, as the pool's ``terminate`` (and multiprocessing's, for a parent that
    exits without closing the pool) expects. A worker inherits its parent's dispositions: a process
    started in the background ignores SIGINT, and Dagster sets SIGTERM to SIGINT's disposition around
    each run it executes (its interrupt handling). A test session started so ignored SIGTERM
    from then on, and its workers with it: a parent exiting without closing the pool waited forever.
    A worker is started with SIGTERM at its default (:func:`sigterm_default`: an ignored signal sent
    before the worker could reset it would be lost), and resets it after each run."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def sigterm_default() -> Iterator[None]:
    """SIGTERM at its default disposition while a worker is started (forked or spawned: the child
    starts with it), then as it was; in the main thread only, where dispositions can be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
