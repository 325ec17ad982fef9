"""``orchestration/exiting.py``: ``publicdata`` and the workers end with ``os._exit`` after what a
normal exit does that matters — non-daemon threads joined, exit handlers run, output flushed — and
with the status ``sys.exit`` would give."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from orchestration.exiting import exit_code


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_now_joins_threads_runs_exit_handlers_and_flushes(tmp_path):
    done = _python(
        """
        import atexit, sys, threading, time
        from pathlib import Path
        from orchestration.exiting import exit_now

        out = Path(sys.argv[1])
        def late():
            time.sleep(0.3)
            (out / "thread").write_text("joined")
        threading.Thread(target=late).start()
        atexit.register((out / "handler").write_text, "ran")
        sys.stdout.write("buffered, no newline")
        exit_now(3)
        """,
        str(tmp_path),
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered, no newline"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "handler").read_text() == "ran"


def test_the_status_is_the_one_sys_exit_gives():
    assert exit_code(None) == 0
    assert exit_code(0) == 0
    assert exit_code(75) == 75
    assert exit_code("数据目录不存在") == 1


def test_the_command_keeps_its_output_and_exit_status(tmp_path):
    version = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("publicdata ")
    usage = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert usage.returncode == 2 and "--no-such-option" in usage.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1, (missing.stdout, missing.stderr)
    assert missing.stderr.strip()
