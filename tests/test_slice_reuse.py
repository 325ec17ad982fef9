"""Governance keeps each exchange slice's outcome (``assets/governance/slice_cache.py``) and a rerun
governs again only the slices whose outcome may differ (issue 13, one changed county), on SQLite and
PostgreSQL: with one county's slice redelivered, the governed file, quarantine, duplicates,
reconciliation and counts equal a full recompute's, and the other slices are neither read nor governed
again (their kept files untouched); a day that crosses a future-dated value, or a day earlier than the
one a slice was governed on, governs again and still equals the full recompute. Through real Dagster
runs, an incremental ``publicdata run`` and ``--force`` give the same operation tables and records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.governance.keys import governance_key
from assets.governance.records import SLICES_METADATA, read_governed
from assets.governance.rules import rule_registry
from assets.governance.slice_cache import cache_dir
from assets.governance.slices import SliceCount, govern_dataset
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.operation.keys import operation_key
from assets.storage.engine import dispose_engines, get_engine
from assets.storage.tables import (
    classification_register,
    governance_duplicates,
    governance_quarantine,
    governance_reconciliation,
)
from orchestration.cli import main
from orchestration.runner import dagster_instance, run_pipeline
from tests.helpers import settings_for
from tests.test_incremental import _published
from tests.test_streamed_stages import _load as _load_slices
from tests.test_streamed_stages import _sorted

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
AS_OF = date(2026, 11, 20)
DATASET = "household_registration"


@pytest.fixture(scope="module")
def slice_parts(tmp_path_factory) -> list[pd.DataFrame]:
    """The dataset's exchange slices as the ingest stages them (three counties, two periods)."""
    data_dir = tmp_path_factory.mktemp("landing")
    catalog = {DATASET: CATALOG[DATASET]}
    generate(data_dir, rows=3000, seed=5, city=CITY, catalog=catalog, as_of=AS_OF, periods=2)
    files, _ = scan_landing(data_dir, catalog, CITY.county_codes)
    parts = []
    for i, landing in enumerate(sorted(files, key=lambda f: f.relative_path)):
        outcome = ingest_landing_file(
            landing,
            CATALOG[DATASET],
            department_id="dept",
            staging_dir=data_dir / "staging",
            batch_id=str(uuid.uuid4()),
            ingested_at=datetime(2026, 11, 20, 8, i, tzinfo=UTC),
            shrink_ratio=None,
        )
        assert outcome.status == "loaded", outcome.reason
        parts.append(read_stage(outcome.staged_path))
    return parts


def _load(engine, part: pd.DataFrame) -> None:
    _load_slices(engine, {DATASET: [part]})


def _assert_same(result, path, expected, expected_path) -> None:
    """The same governed file (rows in the same order, same types) and the same records."""
    pd.testing.assert_frame_equal(read_governed(path), read_governed(expected_path))
    for records in ("quarantine", "duplicates"):
        pd.testing.assert_frame_equal(
            _sorted(getattr(result, records)), _sorted(getattr(expected, records))
        )
    pd.testing.assert_frame_equal(
        result.reconciliation.by_partition, expected.reconciliation.by_partition
    )
    assert result.reconciliation.as_metadata() == expected.reconciliation.as_metadata()
    assert result.violations == expected.violations
    assert result.standardized_cells == expected.standardized_cells
    assert list(result.governed.columns) == list(expected.governed.columns)


def _kept_files(path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(cache_dir(path).iterdir())}


def _loaded(db_url, slice_parts, tmp_path):
    """The dataset's slices loaded into the exchange table; the engine, entry and governed path."""
    engine = get_engine(db_url)
    for part in slice_parts:
        _load(engine, part)
    return engine, CATALOG[DATASET], tmp_path / "governance" / f"{DATASET}.parquet"


def test_a_changed_slice_is_governed_again_the_others_are_taken_as_kept(
    db_url, slice_parts, tmp_path
):
    engine, entry, path = _loaded(db_url, slice_parts, tmp_path)
    first = SliceCount()
    govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=first)
    assert len(first.governed) == len(slice_parts) >= 6 and first.reused == []
    kept_before = _kept_files(path)

    # nothing changed: every slice taken as kept, nothing read again or rewritten
    again = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=again)
    assert again.governed == [] and len(again.reused) == len(slice_parts)
    assert _kept_files(path) == kept_before
    full_path = tmp_path / "full" / f"{DATASET}.parquet"
    full = govern_dataset(engine, entry, full_path, city=CITY, as_of=AS_OF, keep_slices=False)
    assert not cache_dir(full_path).exists()
    _assert_same(result, path, full, full_path)

    # one county redelivers a period without its last record (a new load of that slice)
    changed = (
        slice_parts[2]
        .iloc[:-1]
        .assign(
            batch_id=str(uuid.uuid4()), ingested_at=pd.Timestamp(datetime(2026, 11, 21, tzinfo=UTC))
        )
    )
    _load(engine, changed)
    key = (changed["county_code"].iloc[0], changed["period"].iloc[0])
    count = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=count)
    assert count.governed == [key]
    assert len(count.reused) == len(slice_parts) - 1
    kept_after = _kept_files(path)
    rewritten = {name for name, mtime in kept_after.items() if kept_before.get(name) != mtime}
    assert len(rewritten) == 3  # the changed slice's records and stamp; nothing else
    full = govern_dataset(engine, entry, full_path, city=CITY, as_of=AS_OF, keep_slices=False)
    _assert_same(result, path, full, full_path)
    assert result.reconciliation.rows_in == sum(len(p) for p in slice_parts) - 1


def test_kept_rows_are_read_from_the_governed_file_and_a_file_that_lacks_them_governs_again(
    db_url, slice_parts, tmp_path
):
    engine, entry, path = _loaded(db_url, slice_parts, tmp_path)
    govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF)
    # the slices' governed rows are kept once, in the governed file (an earlier format's copy beside
    # the records is removed)
    legacy = cache_dir(path) / f"{next(cache_dir(path).glob('*.json')).stem}.governed.parquet"
    legacy.write_bytes(b"PAR1")
    full_path = tmp_path / "full" / f"{DATASET}.parquet"
    full = govern_dataset(engine, entry, full_path, city=CITY, as_of=AS_OF, keep_slices=False)

    again = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=again)
    assert len(again.reused) == len(slice_parts) and again.governed == []
    _assert_same(result, path, full, full_path)
    assert not legacy.exists()
    assert {p.name.split(".", 1)[1] for p in cache_dir(path).iterdir()} == {
        "json",
        "quarantine.parquet",
        "duplicates.parquet",
    }

    # the governed file gone, or rewritten without the footer that names each slice's rows: the
    # kept records alone prove nothing about rows, so every slice is governed again
    for damage in ("removed", "no footer"):
        if damage == "removed":
            path.unlink()
        else:
            pd.read_parquet(path).to_parquet(path, index=False)
        count = SliceCount()
        result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=count)
        assert count.reused == [] and len(count.governed) == len(slice_parts), damage
        _assert_same(result, path, full, full_path)

    # a slice the file lists with other rows (here: another slice's) is governed again, the others
    # are taken from the file
    listed = json.loads(pq.read_metadata(path).metadata[SLICES_METADATA])
    listed[0]["key"], listed[1]["key"] = listed[1]["key"], listed[0]["key"]
    table = pq.read_table(path)
    table = table.replace_schema_metadata(
        {**table.schema.metadata, SLICES_METADATA: json.dumps(listed)}
    )
    with pq.ParquetWriter(path, table.schema) as writer:
        for start, rows in ((s["start"], s["rows"]) for s in listed):
            writer.write_table(table.slice(start, rows), row_group_size=100_000)
    swapped = {
        (listed[0]["county"], listed[0]["period"]),
        (listed[1]["county"], listed[1]["period"]),
    }
    count = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=count)
    assert set(count.governed) == swapped and len(count.reused) == len(slice_parts) - 2
    _assert_same(result, path, full, full_path)


def _not_future_dates(engine, entry, tmp_path) -> pd.Series:
    """Every governed value of the dataset's columns under a not-future rule."""
    path = tmp_path / "scratch" / f"{DATASET}.parquet"
    govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, keep_slices=False)
    columns = [r.columns[0] for r in rule_registry(entry).values() if r.kind == "not_future"]
    frame = read_governed(path, columns)
    return pd.concat([frame[c] for c in columns]).dropna()


def _future_free(path) -> dict[tuple[str, str], bool]:
    metas = (json.loads(p.read_text()) for p in cache_dir(path).glob("*.json"))
    return {tuple(m["slice"]): m["future_free"] for m in metas}


def test_the_day_crossing_a_future_value_or_going_back_governs_again(db_url, slice_parts, tmp_path):
    engine = get_engine(db_url)
    entry = CATALOG[DATASET]
    for part in slice_parts:
        _load(engine, part)
    dates = _not_future_dates(engine, entry, tmp_path)
    assert len(dates) > 100
    # a day before the latest dates: some values are in the future on it, none on AS_OF
    early = (dates.max() - timedelta(days=400)).date()
    path = tmp_path / "governance" / f"{DATASET}.parquet"
    on_early = govern_dataset(engine, entry, path, city=CITY, as_of=early)
    free = _future_free(path)
    assert not all(free.values()) and len(free) == len(slice_parts)

    def full_on(day: date):
        full_path = tmp_path / f"full-{day}" / f"{DATASET}.parquet"
        full = govern_dataset(engine, entry, full_path, city=CITY, as_of=day, keep_slices=False)
        return full, full_path

    # the day moves forward: the slices that held a value in the future are governed again, the
    # others (no value in the future then, so none now) are taken as kept
    later = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF, count=later)
    assert set(later.governed) == {key for key, ok in free.items() if not ok}
    assert set(later.reused) == {key for key, ok in free.items() if ok}
    expected, expected_path = full_on(AS_OF)
    _assert_same(result, path, expected, expected_path)
    assert result.violations != on_early.violations

    # the day goes back: nothing is taken as kept (a value may have crossed it)
    back = SliceCount()
    result = govern_dataset(engine, entry, path, city=CITY, as_of=early, count=back)
    assert back.reused == [] and len(back.governed) == len(slice_parts)
    expected, expected_path = full_on(early)
    _assert_same(result, path, expected, expected_path)
    assert result.violations == on_early.violations


def _records(settings) -> dict[str, pd.DataFrame]:
    """Quarantine, duplicate, reconciliation and classification records, without run ids/times."""
    engine = get_engine(settings.platform_url)
    out = {}
    for table in (
        governance_quarantine,
        governance_duplicates,
        governance_reconciliation,
        classification_register,
    ):
        drop = {"id", "run_id", "reconciled_at", "classified_at"}
        columns = [c for c in table.columns if c.name not in drop]
        with engine.connect() as connection:
            rows = connection.execute(sa.select(*columns)).all()
        frame = pd.DataFrame(rows, columns=[c.name for c in columns])
        assert len(frame), table.name
        out[table.name] = _sorted(frame)
    return out


def _governance_metadata(instance, dataset_id: str) -> dict[str, int]:
    event = instance.get_latest_materialization_event(governance_key(dataset_id))
    metadata = event.asset_materialization.metadata
    return {k: metadata[k].value for k in ("slices_governed", "slices_reused")}


def _carried(instance, dataset_id: str) -> list[str]:
    event = instance.get_latest_materialization_event(operation_key(dataset_id))
    return list(event.asset_materialization.metadata["carried_counties"].value)


@pytest.mark.slow
def test_incremental_run_equals_forced_recompute(tmp_path, catalog, city, db_url):
    generate(tmp_path, rows=600, seed=3, city=city, catalog=catalog, as_of=AS_OF)
    settings = settings_for(tmp_path, db_url, today=AS_OF)
    try:
        run_pipeline(settings)
        instance = dagster_instance(settings)
        files, _ = scan_landing(tmp_path, catalog, city.county_codes)
        changed = next(
            f
            for f in sorted(files, key=lambda f: f.relative_path)
            if f.dataset_id == DATASET and f.path.suffix == ".csv"
        )
        first = _governance_metadata(instance, DATASET)
        slices = first["slices_governed"]
        assert slices > 1 and first["slices_reused"] == 0
        lines = changed.path.read_bytes().rstrip(b"\r\n").split(b"\n")
        changed.path.write_bytes(b"\n".join(lines[:-1]) + b"\n")

        report = run_pipeline(settings)
        assert report.datasets_recomputed == [DATASET]
        # only the redelivered slice was governed; the others were taken as kept
        assert _governance_metadata(instance, DATASET) == {
            "slices_governed": 1,
            "slices_reused": slices - 1,
        }
        # and only its county was desensitized again: the others' rows were carried over
        assert _carried(instance, DATASET) == sorted(set(city.county_codes) - {changed.county_code})
        incremental = _published(settings, catalog)
        records = _records(settings)

        env = {"PUBLICDATA_DATABASE_URL": settings.platform_url, "PUBLICDATA_TODAY": "2026-11-20"}
        result = CliRunner(env=env).invoke(
            main, ["run", "--data-dir", str(settings.data_dir), "--json", "--force"]
        )
        assert result.exit_code == 0, result.output
        assert _governance_metadata(instance, DATASET) == {
            "slices_governed": slices,
            "slices_reused": 0,
        }
        assert _carried(instance, DATASET) == []  # --force publishes every county again
        full = _published(settings, catalog)
        assert full.keys() == incremental.keys()
        for name, frame in full.items():
            pd.testing.assert_frame_equal(frame, incremental[name], obj=name)
        for name, frame in _records(settings).items():
            pd.testing.assert_frame_equal(frame, records[name], obj=name)
    finally:
        dispose_engines()
