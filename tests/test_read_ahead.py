"""Landing files read ahead (assets/landing/read_ahead.py, ahead_reads.py): a read written by the reader process and
taken by an ingest is the read the ingest would have made itself; each file is read once (whoever
claims it first); an ingest waits for the reader's file at hand and reads the file itself when the
reader refused it, died over it or never came to it; the directory goes with the run."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.landing import ahead_reads
from assets.landing.ahead_reads import load_read, read_key, save_read, take_read
from assets.landing.generator import generate
from assets.landing.limits import ReadLimits
from assets.landing.paths import file_checksum, parse_landing_path, scan_landing
from assets.landing.read_ahead import AheadFile, ReadAhead, sweep_read_ahead, use_read_ahead
from assets.landing.reader import LandingRead, read_landing_file
from assets.landing.rejections import FileRejected, RowRejection
from orchestration.parallel import START_METHOD
from tests.reader_files import csv_bytes, header_of, person

pytestmark = pytest.mark.skipif(
    START_METHOD != "fork", reason="the reader is forked, as the workers are (Linux)"
)


@pytest.fixture(autouse=True)
def _no_read_ahead_left():
    yield
    use_read_ahead(None)


@pytest.fixture
def directory(tmp_path) -> Path:
    """A read-ahead directory this process's ingest takes reads from."""
    directory = tmp_path / "ahead"
    directory.mkdir()
    use_read_ahead(directory)
    return directory


LIMITS = ReadLimits()


def _same(left: LandingRead, right: LandingRead) -> None:
    assert list(left.items) == list(right.items)
    for name, array in left.items.items():
        other = right.items[name]
        assert type(other) is type(array), name
        assert other.type == array.type, name
        assert other.equals(array), name
    assert left.source_rows.dtype == right.source_rows.dtype == np.int64
    assert np.array_equal(left.source_rows, right.source_rows)
    for field in (
        "encoding",
        "file_format",
        "rows_read",
        "rejections",
        "unknown_headers",
        "missing_optional",
        "skipped",
    ):
        assert getattr(left, field) == getattr(right, field), field


@pytest.fixture
def irregular_csv(tmp_path, catalog) -> Path:
    """A GB18030 delivery with a title row, an unknown column, no phone column (optional), a ragged
    row, a 合计 row and rare characters: every part of a read is there."""
    entry = catalog["household_registration"]
    columns = [c for c in entry.columns if c != "phone"]
    rows = [["2026年10月海原县户籍人口信息"], [*header_of(entry, columns), "备注"]]
    for i in range(40):
        values = person(i, name="刘䶮" if i == 3 else None)
        rows.append([*(values[c] for c in columns), "x"])
    rows.insert(10, ["只有一格"])
    rows.append(["合计", "40"])
    path = tmp_path / "landing" / "640521" / "household_registration" / "2026-10.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_bytes(rows, "gb18030"))
    return path


def test_a_saved_read_loads_back_as_the_same_read(tmp_path, catalog, irregular_csv, city):
    entry = catalog["household_registration"]
    read = read_landing_file(irregular_csv, entry)
    assert read.rejections and read.skipped and read.unknown_headers and read.missing_optional
    save_read(read, tmp_path / "r.arrow")
    _same(load_read(tmp_path / "r.arrow"), read)
    # workbooks' reads, and arrays in chunks beside whole ones, of text and of nothing
    data = tmp_path / "generated"
    generate(data, rows=6_000, seed=7, city=city, catalog=catalog)
    files, _ = scan_landing(data, catalog, city.county_codes)
    workbooks = [f for f in files if f.path.suffix == ".xlsx"]
    assert workbooks
    for landing in workbooks:
        read = read_landing_file(landing.path, catalog[landing.dataset_id])
        save_read(read, tmp_path / "g.arrow")
        _same(load_read(tmp_path / "g.arrow"), read)
    chunked = LandingRead(
        items={
            "a": pa.chunked_array([["甲", None], ["=1+1", "<b>"]]),
            "b": pa.array(["x", "y", None, ""]),
            "c": pa.nulls(4, pa.string()),
        },
        source_rows=np.array([2, 3, 5, 6], dtype=np.int64),
        encoding="gb18030",
        file_format="csv",
        rows_read=5,
        rejections=[RowRejection(4, "field_count", "第 4 行字段数与表头不符")],
    )
    save_read(chunked, tmp_path / "c.arrow")
    _same(load_read(tmp_path / "c.arrow"), chunked)


def _reader_claims(directory: Path, path: Path, entry, limits, release: threading.Event | None):
    """What the reader does, in this process: claim ``path`` under its lock, then (once ``release``
    is set) write its read."""
    key = read_key(path, file_checksum(path), entry, limits)
    fd, temporary = tempfile.mkstemp(prefix=f"{key}.", suffix=".lock", dir=directory)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.link(temporary, directory / f"{key}.claim")
    os.unlink(temporary)
    if release is not None:
        release.wait(30)
        save_read(read_landing_file(path, entry, limits), directory / f"{key}.arrow")
    return fd


def test_an_ingest_waits_for_the_file_the_reader_is_reading_and_takes_its_read(
    directory, catalog, irregular_csv
):
    entry, limits = catalog["household_registration"], LIMITS
    release = threading.Event()
    holder: list[int] = []
    reader = threading.Thread(
        target=lambda: holder.append(
            _reader_claims(directory, irregular_csv, entry, limits, release)
        )
    )
    reader.start()
    while not holder and not list(directory.glob("*.claim")):
        time.sleep(0.01)
    taken: list[LandingRead | None] = []
    ingest = threading.Thread(
        target=lambda: taken.append(
            take_read(irregular_csv, file_checksum(irregular_csv), entry, limits)
        )
    )
    ingest.start()
    time.sleep(0.3)
    assert ingest.is_alive() and not taken  # waiting on the reader's lock
    release.set()
    reader.join()
    os.close(holder[0])  # the reader lets go of the claim: the read is there
    ingest.join(30)
    assert taken and taken[0] is not None
    _same(taken[0], read_landing_file(irregular_csv, entry, limits))
    assert not list(directory.glob("*.arrow"))  # taken once, then gone


def test_a_file_the_ingest_claimed_first_is_never_read_by_the_reader(
    directory, catalog, irregular_csv
):
    entry, limits = catalog["household_registration"], LIMITS
    assert take_read(irregular_csv, file_checksum(irregular_csv), entry, limits) is None
    ahead_reads.read_one(directory, AheadFile(irregular_csv, entry, limits))
    assert not list(directory.glob("*.arrow"))
    assert len(list(directory.glob("*.claim"))) == 1


def test_a_read_is_taken_only_for_the_same_bytes_entry_and_limits(
    directory, catalog, irregular_csv
):
    entry, limits = catalog["household_registration"], LIMITS
    ahead_reads.read_one(directory, AheadFile(irregular_csv, entry, limits))
    checksum = file_checksum(irregular_csv)
    assert take_read(irregular_csv, checksum, entry, ReadLimits(max_rows=10)) is None
    assert take_read(irregular_csv, "0" * 64, entry, limits) is None
    assert take_read(irregular_csv, checksum, catalog["petition_records"], limits) is None
    assert take_read(irregular_csv, checksum, entry, limits) is not None
    use_read_ahead(None)
    assert take_read(irregular_csv, checksum, entry, limits) is None  # no read-ahead here


def test_a_file_the_reader_refused_or_died_over_is_read_by_the_ingest(tmp_path, directory, catalog):
    entry, limits = catalog["household_registration"], LIMITS
    broken = tmp_path / "landing" / "640521" / "household_registration" / "2026-09.csv"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(csv_bytes([["不是表头"], ["1"]]))
    with pytest.raises(FileRejected):  # refused (the reader goes on to its next file)
        ahead_reads.read_one(directory, AheadFile(broken, entry, limits))
    assert list(directory.glob("*.claim")) and not list(directory.glob("*.arrow"))
    assert take_read(broken, file_checksum(broken), entry, limits) is None

    good = broken.with_name("2026-10.csv")
    good.write_bytes(csv_bytes([header_of(entry, entry.columns), list(person(1).values())]))
    # a reader that dies holding its claim: the kernel drops its lock, the ingest does not hang
    child = multiprocessing.get_context("fork").Process(
        target=lambda: (_reader_claims(directory, good, entry, limits, None), time.sleep(60))
    )
    child.start()
    key = read_key(good, file_checksum(good), entry, limits)
    while not (directory / f"{key}.claim").exists():
        time.sleep(0.01)
    child.kill()
    child.join()
    assert take_read(good, file_checksum(good), entry, limits) is None


def test_the_reader_reads_ahead_what_ingest_then_takes_with_the_same_stage(tmp_path, catalog, city):
    data = tmp_path / "data"
    generate(data, rows=6_000, seed=11, city=city, catalog=catalog)
    files, _ = scan_landing(data, catalog, city.county_codes)
    limits = ReadLimits()
    staging = data / "aggregation"
    ahead = ReadAhead([AheadFile(f.path, catalog[f.dataset_id], limits) for f in files], staging)
    assert (ahead.directory.stat().st_mode & 0o777) == 0o700  # raw rows: owner only
    deadline = time.monotonic() + 60
    while len(list(ahead.directory.glob("*.arrow"))) < len(files) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(ahead.directory.glob("*.arrow"))) == len(files)
    use_read_ahead(ahead.directory)
    for index, landing in enumerate(files):
        entry = catalog[landing.dataset_id]
        outcomes = []
        for staging_dir in (tmp_path / "taken", tmp_path / "read"):
            outcomes.append(
                ingest_landing_file(
                    parse_landing_path(data, landing.path, catalog, city.county_codes),
                    entry,
                    department_id=entry.provider,
                    staging_dir=staging_dir,
                    batch_id=f"{index:036d}",
                    ingested_at=datetime(2026, 11, 2, tzinfo=UTC),
                    limits=limits,
                )
            )
        taken, itself = outcomes
        assert taken.loaded and itself.loaded
        assert (taken.rows_read, taken.rows_loaded, taken.rejections, taken.skipped) == (
            itself.rows_read,
            itself.rows_loaded,
            itself.rejections,
            itself.skipped,
        )
        assert read_stage(taken.staged_path).equals(read_stage(itself.staged_path))
    assert not list(ahead.directory.glob("*.arrow"))  # every read taken (the second ingest read)
    ahead.close()
    assert not ahead.directory.exists()
    ahead.close()  # twice is harmless


def test_a_stopped_reader_reads_no_further_and_a_left_directory_is_swept(tmp_path, catalog, city):
    data = tmp_path / "data"
    generate(data, rows=30_000, seed=5, city=city, catalog=catalog)
    files, _ = scan_landing(data, catalog, city.county_codes)
    ahead = ReadAhead(
        [AheadFile(f.path, catalog[f.dataset_id], ReadLimits()) for f in files],
        data / "aggregation",
    )
    ahead.stop()
    ahead._process.join(60)
    assert not ahead._process.is_alive()
    assert len(list(ahead.directory.glob("*.claim"))) < len(files)
    left = ahead.directory  # as a killed run would leave it
    assert sweep_read_ahead(data / "aggregation") == 1
    assert not left.exists()
    assert sweep_read_ahead(tmp_path / "nowhere") == 0
    # closed while it reads (the run ending, say on Ctrl-C): ended, not waited for; nothing left
    busy = ReadAhead(
        [AheadFile(f.path, catalog[f.dataset_id], ReadLimits()) for f in files],
        data / "aggregation",
    )
    busy.close()
    assert not busy._process.is_alive() and busy._process.exitcode is not None
    assert not busy.directory.exists()
