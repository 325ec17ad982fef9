"""The data directory's compute logs (``orchestration/compute_logs.py``): what a run's step writes
to stdout and stderr — from Python, at the descriptor, from a child process — is in Dagster's
compute log files, read back the way the UI reads them, and still reaches the terminal; no ``tail``
or watcher process is started for it."""

import io
import logging
import os
import subprocess
import sys
import threading

import dagster as dg
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager

from orchestration import compute_logs
from orchestration.compute_logs import MirroredComputeLogManager, mirrored
from orchestration.runner import dagster_instance
from orchestration.settings import Settings

CHILD = "print('子进程 child line', flush=True)"

_popen = threading.local()  # the processes started on this thread, while recording
_popen.commands = None


def _audit(event: str, args: tuple) -> None:
    if event == "subprocess.Popen" and getattr(_popen, "commands", None) is not None:
        _popen.commands.append([str(a) for a in args[1] or ()])


sys.addaudithook(_audit)  # audit hooks stay for the process; this one records only when asked


@dg.op
def chatty() -> None:
    print("标准输出 stdout line", flush=True)  # noqa: T201 - what a step may write
    # below Python: straight to the descriptor, and a child process writing to it
    os.write(sys.stderr.fileno(), "标准错误 stderr line at the descriptor\n".encode())
    subprocess.run([sys.executable, "-c", CHILD], check=True, stdout=sys.stdout)


@dg.job
def chatty_job() -> None:
    chatty()


def _log_key(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    [event] = instance.all_logs(run_id, of_type=dg.DagsterEventType.LOGS_CAPTURED)
    file_key = event.dagster_event.logs_captured_data.file_key
    return list(instance.compute_log_manager.build_log_key_for_run(run_id, file_key))


def _captured(instance: dg.DagsterInstance, run_id: str) -> tuple[str, str]:
    """The run's stdout and stderr as the UI reads them (the manager's ``get_log_data``)."""
    data = instance.compute_log_manager.get_log_data(_log_key(instance, run_id))
    return (data.stdout or b"").decode(), (data.stderr or b"").decode()


def test_a_runs_output_is_in_its_compute_logs_and_on_the_terminal_without_helper_processes(
    tmp_path, capfd
):
    instance = dagster_instance(Settings.load(tmp_path / "data"))
    assert isinstance(instance.compute_log_manager, MirroredComputeLogManager)
    _popen.commands = []
    try:
        result = chatty_job.execute_in_process(instance=instance)
    finally:
        started, _popen.commands = _popen.commands, None
    assert result.success
    stdout, stderr = _captured(instance, result.run_id)
    assert "标准输出 stdout line" in stdout and "子进程 child line" in stdout
    assert "标准错误 stderr line at the descriptor" in stderr
    terminal = capfd.readouterr()
    assert "标准输出 stdout line" in terminal.out and "子进程 child line" in terminal.out
    assert "标准错误 stderr line at the descriptor" in terminal.err
    # the only process started is the step's own child: no tail -F, no watch_orphans.py
    assert started == [[sys.executable, "-c", CHILD]]
    instance.dispose()


def test_a_stock_manager_reads_the_same_files(tmp_path):
    instance = dagster_instance(Settings.load(tmp_path / "data"))
    result = chatty_job.execute_in_process(instance=instance)
    log_key = _log_key(instance, result.run_id)
    ours = instance.compute_log_manager.get_log_data(log_key)
    stock = LocalComputeLogManager(
        str(instance.get_ref().compute_logs_data.config_dict["base_dir"])
    )
    theirs = stock.get_log_data(log_key)
    assert (theirs.stdout, theirs.stderr) == (ours.stdout, ours.stderr)
    assert b"stdout line" in theirs.stdout and stock.is_capture_complete(log_key)
    instance.dispose()


def test_a_stream_without_a_descriptor_is_left_alone(tmp_path):
    stream = io.StringIO()
    path = tmp_path / "logs" / "out.log"
    with mirrored(stream, str(path)):
        stream.write("stays in the stream")
    assert stream.getvalue() == "stays in the stream"
    assert path.exists() and path.read_bytes() == b""


def test_the_log_is_complete_when_the_terminal_is_gone(tmp_path):
    reader, writer = os.pipe()
    os.close(reader)  # nobody reads the terminal any more: every write to it fails
    path = tmp_path / "out.log"
    with os.fdopen(writer, "wb") as stream:
        with mirrored(stream, str(path)):
            for _ in range(100):
                os.write(stream.fileno(), b"x" * 10_000)
        assert stream.fileno() == writer  # the descriptor points at the terminal pipe again
    assert path.read_bytes() == b"x" * 1_000_000


def test_a_child_that_outlives_the_capture_is_waited_for_briefly_then_left_writing_the_log(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(compute_logs, "DRAIN_SECONDS", 0.1)
    path = tmp_path / "out.log"
    code = "import time; time.sleep(1); print('late line', flush=True)"
    with (
        caplog.at_level(logging.WARNING, logger="orchestration.compute_logs"),
        mirrored(sys.stdout, str(path)),
    ):
        child = subprocess.Popen([sys.executable, "-c", code], stdout=sys.stdout)
    assert "still holds the captured stream" in caplog.text
    child.wait(timeout=30)
    for mirror in [t for t in threading.enumerate() if t.name == "compute-log-mirror"]:
        mirror.join(timeout=30)
    assert path.read_text() == "late line\n"
