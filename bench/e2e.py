"""End-to-end figures of issue 13: the read-and-write floor, ``publicdata run`` as a subprocess on the
same landing files, their ratio, an unchanged rerun's and one changed county's share of the full run,
and the pipeline process's peak RSS.

- floor: every landing file read once with pandas (``read_csv`` on the decoded text, ``read_excel``
  with calamine) and its rows written once into one SQLite table per dataset; no validation, no
  mapping, nothing else;
- pipeline: ``publicdata run --json`` on a copy of the same landing zone (its own data directory),
  wall time, CPU time (user + system) and peak RSS of the child (``os.wait4``'s rusage);
- unchanged rerun: the same command again with nothing changed;
- changed county: one county's CSV file of one dataset loses its last record (a changed delivery,
  rewritten in its own encoding), then the command again.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from assets.landing.paths import scan_landing

BENCH_KEY = "0123456789abcdef" * 4  # a fixed pseudonymization key: the bench's data is generated


@dataclass(frozen=True)
class ProcessRun:
    label: str
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    exit_code: int
    rows_loaded: int | None


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom):
            return encoding, data.decode(encoding)
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", data.decode("utf-16")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030", data.decode("gb18030")


def _read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        return pd.read_excel(path, dtype=str, engine="calamine")
    _, text = _decode(path.read_bytes())
    sep = "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
    return pd.read_csv(io.StringIO(text), dtype=str, sep=sep, keep_default_na=False)


def floor(data_dir: Path, files: list, database: Path) -> tuple[float, int, float]:
    """Seconds (wall, then CPU) to read every landing file with pandas and write its rows once
    into SQLite, and the rows written."""
    start = time.perf_counter()
    cpu = time.process_time()
    rows = 0
    connection = sqlite3.connect(database)
    try:
        for landing in files:
            frame = _read(landing.path)
            frame.columns = [f"c{i}" for i in range(frame.shape[1])]  # delivered headers vary
            table = f"floor_{landing.dataset_id}"
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            connection.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({columns})')
            present = {r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')}
            for column in frame.columns:
                if column not in present:
                    connection.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}"')
            marks = ", ".join("?" for _ in frame.columns)
            connection.executemany(
                f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',
                frame.itertuples(index=False, name=None),
            )
            connection.commit()
            rows += len(frame)
    finally:
        connection.close()
    return time.perf_counter() - start, rows, time.process_time() - cpu


def run_pipeline(label: str, data_dir: Path, env: dict[str, str]) -> ProcessRun:
    """``publicdata run --json`` in a child process; its wall and CPU time and peak RSS."""
    command = [sys.executable, "-m", "orchestration.console", "run", "--data-dir", str(data_dir)]
    command.append("--json")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        if child.returncode != 0:
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            print(f"({label}: exit {child.returncode}) " + " | ".join(tail), flush=True)
    rows = None
    try:
        import json

        rows = int(json.loads(stdout)["totals"]["all"]["rows_loaded"])
    except (ValueError, KeyError, TypeError):
        pass
    return ProcessRun(
        label=label,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # kilobytes on Linux
        exit_code=child.returncode,
        rows_loaded=rows,
    )


def change_one_county(files: list) -> str:
    """Drop the last record of the largest CSV file of the first county (a changed delivery), in its
    own encoding; returns its path relative to the data directory."""
    county = sorted({f.county_code for f in files})[0]
    csvs = [f for f in files if f.county_code == county and f.path.suffix.lower() == ".csv"]
    target = max(csvs, key=lambda f: f.path.stat().st_size)
    encoding, text = _decode(target.path.read_bytes())
    head = text.split("\n", 1)[0]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while records and not any(records[-1]):
        records.pop()
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(records[:-1])
    target.path.write_bytes(buffer.getvalue().encode(encoding))
    return target.relative_path


def _env(data_dir: Path, today: str) -> dict[str, str]:
    # PUBLICDATA_PARALLEL passes through: `PUBLICDATA_PARALLEL=1 python -m bench.run` is one process
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUBLICDATA_") or k == "PUBLICDATA_PARALLEL"
    }
    env.update(
        PUBLICDATA_HOME=str(data_dir),
        PUBLICDATA_TODAY=today,
        PUBLICDATA_PSEUDONYM_KEY=BENCH_KEY,
        PUBLICDATA_MAX_ROWS=str(10**9),
        PUBLICDATA_MAX_FILE_MB=str(10**5),
    )
    return env


def run(source_dir: Path, catalog, city, *, today: str, rerun: bool = True) -> dict:
    """Every end-to-end figure, printed and returned; ``source_dir`` holds the generated landing
    zone (copied, so the stage section can use the original)."""
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="publicdata-e2e-") as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(source_dir / "landing", data_dir / "landing")
        files, _ = scan_landing(data_dir, catalog, city.county_codes)
        seconds, rows, cpu = floor(data_dir, files, Path(tmp) / "floor.sqlite")
        figures["floor_seconds"] = round(seconds, 2)
        figures["floor_cpu_seconds"] = round(cpu, 2)
        figures["floor_rows"] = rows
        print(
            f"{'floor (pandas read + SQLite write)':36s} {rows:>10,d} rows {seconds:8.2f} s"
            f"  (CPU {cpu:.1f} s)"
        )

        env = _env(data_dir, today)
        full = run_pipeline("full", data_dir, env)
        _print_run("pipeline (publicdata run)", full, seconds, cpu)
        figures["pipeline"] = asdict(full)
        figures["pipeline_over_floor"] = round(full.seconds / seconds, 2)
        figures["pipeline_over_floor_cpu"] = round(full.cpu_seconds / cpu, 2)
        figures["peak_rss_mib"] = round(full.peak_rss_mib)
        if rerun:
            unchanged = run_pipeline("unchanged rerun", data_dir, env)
            _print_share("unchanged rerun", unchanged, full)
            figures["unchanged_rerun"] = asdict(unchanged)
            figures["unchanged_share"] = round(unchanged.seconds / full.seconds, 3)
            changed_file = change_one_county(files)
            changed = run_pipeline("one changed county", data_dir, env)
            _print_share(f"one changed county ({changed_file})", changed, full)
            figures["changed_file"] = changed_file
            figures["changed_county"] = asdict(changed)
            figures["changed_share"] = round(changed.seconds / full.seconds, 3)
    return figures


def _print_run(label: str, run: ProcessRun, floor_seconds: float, floor_cpu: float) -> None:
    print(
        f"{label:36s} {run.rows_loaded or 0:>10,d} rows {run.seconds:8.2f} s"
        f"  (CPU {run.cpu_seconds:.1f} s, peak RSS {run.peak_rss_mib:,.0f} MiB,"
        f" exit {run.exit_code})",
        flush=True,
    )
    print(
        f"{'pipeline ÷ floor':36s} {run.seconds / floor_seconds:10.2f} × wall,"
        f" {run.cpu_seconds / floor_cpu:.2f} × CPU",
        flush=True,
    )


def _print_share(label: str, run: ProcessRun, full: ProcessRun) -> None:
    print(
        f"{label[:60]:36s} {run.seconds:8.2f} s = {run.seconds / full.seconds:6.1%} of the full run"
        f"  (CPU {run.cpu_seconds:.1f} s, peak RSS {run.peak_rss_mib:,.0f} MiB, exit {run.exit_code})",
        flush=True,
    )
