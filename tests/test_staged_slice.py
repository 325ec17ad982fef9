"""Governance and the quality suite read a slice from the staged file it was loaded from when the
file's stamp (checksum, batch, rows, load times) proves it holds the exchange slice
(``assets/exchange/stamps.py``): the same frame as the table read, on SQLite and PostgreSQL; the
table is read when the staged file is another delivery's, is gone, or no staging directory is given."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow.parquet as pq
import pytest

from assets.aggregation.ingest import ingest_landing_file, read_stage_table, staged_path
from assets.exchange import stamps
from assets.exchange.load import load_exchange_slice
from assets.exchange.stamps import slice_stamps, staged_slice, table_stamp
from assets.governance import slices as governance_slices
from assets.governance.slices import read_exchange_slice
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.quality import findings
from assets.quality.findings import read_partition
from assets.storage.engine import get_engine

DATASET = "household_registration"
AS_OF = date(2026, 11, 20)


def _stage(landing, entry, staging_dir, at):
    outcome = ingest_landing_file(
        landing,
        entry,
        department_id=entry.provider,
        staging_dir=staging_dir,
        batch_id=str(uuid.uuid4()),
        ingested_at=at,
    )
    assert outcome.loaded, outcome
    return outcome


@pytest.fixture
def loaded(tmp_path, db_url, city, catalog):
    """One county's delivery of the dataset staged and loaded into the exchange table."""
    generate(tmp_path, rows=600, seed=11, city=city, catalog=catalog, as_of=AS_OF)
    files, _ = scan_landing(tmp_path, catalog, city.county_codes, AS_OF)
    landing = next(f for f in files if f.dataset_id == DATASET)
    entry = catalog[DATASET]
    staging = tmp_path / "aggregation"
    at = datetime(2026, 11, 20, 2, 30, 15, 123456, tzinfo=UTC)
    outcome = _stage(landing, entry, staging, at)
    engine = get_engine(db_url)
    load_exchange_slice(
        engine,
        entry,
        read_stage_table(outcome.staged_path),
        county_code=landing.county_code,
        period=landing.period,
    )
    return engine, entry, staging, landing, outcome


def staged_slice_path(staging, landing):
    return staged_path(staging, DATASET, landing.county_code, landing.period)


def _refuse_table_reads(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("read from the table, not the staged file")

    monkeypatch.setattr(governance_slices, "read_arrow", refuse)
    monkeypatch.setattr(findings, "read_frame", refuse)


def test_the_staged_file_reads_as_the_table_does(loaded, monkeypatch):
    engine, entry, staging, landing, _ = loaded
    key = (landing.county_code, landing.period)
    assert (
        table_stamp(read_stage_table(staged_slice_path(staging, landing)))
        == (slice_stamps(engine, entry)[key])
    )
    from_table = read_exchange_slice(engine, entry, *key)
    partition = read_partition(engine, entry, *key)
    assert len(from_table) > 20
    _refuse_table_reads(monkeypatch)
    from_stage = read_exchange_slice(engine, entry, *key, staging_dir=staging)
    pd.testing.assert_frame_equal(from_stage, from_table)
    assert from_stage.dtypes.to_dict() == from_table.dtypes.to_dict()
    pd.testing.assert_frame_equal(read_partition(engine, entry, *key, staging), partition)


def test_a_staged_file_of_another_delivery_or_none_is_not_taken(loaded, monkeypatch):
    engine, entry, staging, landing, _ = loaded
    key = (landing.county_code, landing.period)
    from_table = read_exchange_slice(engine, entry, *key)
    assert staged_slice(engine, entry, staging, key) is not None
    assert staged_slice(engine, entry, None, key) is None
    # the loaded file in another layout (an item column missing) is not taken
    path = staged_slice_path(staging, landing)
    whole = pq.read_table(path)
    pq.write_table(whole.drop_columns([entry.columns[-1]]), path)
    assert staged_slice(engine, entry, staging, key) is None
    pq.write_table(whole, path)
    assert staged_slice(engine, entry, staging, key) is not None
    # the same file staged again (another ingest: another batch, another time) but not loaded
    _stage(landing, entry, staging, datetime(2026, 11, 21, tzinfo=UTC))
    assert staged_slice(engine, entry, staging, key) is None
    taken = []
    original = stamps.pq.read_table
    monkeypatch.setattr(
        stamps.pq, "read_table", lambda *a, **k: taken.append(a) or original(*a, **k)
    )
    pd.testing.assert_frame_equal(
        read_exchange_slice(engine, entry, *key, staging_dir=staging), from_table
    )
    assert taken  # the staged file was looked at, and refused
    staged_slice_path(staging, landing).unlink()
    assert staged_slice(engine, entry, staging, key) is None
    pd.testing.assert_frame_equal(
        read_exchange_slice(engine, entry, *key, staging_dir=staging), from_table
    )
    assert staged_slice(engine, entry, staging, ("640000", landing.period)) is None
