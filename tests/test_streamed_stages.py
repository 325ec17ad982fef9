"""Governance one (county, period) slice at a time and the operation publish a row group at a time
(issue 13, memory) give what the whole-dataset versions give, on SQLite and PostgreSQL: on generated
deliveries with duplicates within slices (the generator's defects, plus added copies) and the same
records repeated in other slices, the governed rows, quarantine, duplicates, reconciliation and
counts are equal; the published table, its k, suppression and report are equal."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.desensitization.desensitize import desensitize
from assets.desensitization.policy import load_policy
from assets.exchange.load import load_exchange_slice
from assets.governance import slices
from assets.governance.govern import govern
from assets.governance.records import read_exchange, read_governed, write_governed
from assets.governance.slices import govern_dataset
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.operation.guards import scan_for_leaks
from assets.operation.streamed import publish_governed
from assets.operation.writer import publish, read_published
from assets.operation.zone_scan import scan_published
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
AS_OF = date(2026, 11, 20)
KEY = b"publicdata-test-key-0123456789ab"
DATASETS = ("household_registration", "social_insurance_enrollment", "medical_institutions")


@pytest.fixture(scope="module")
def slice_frames(tmp_path_factory) -> dict[str, list[pd.DataFrame]]:
    """Per dataset, its exchange slices as the ingest stages them: generated deliveries over two
    periods; each first slice also repeats some of its rows (exact duplicates within the slice),
    and its first rows are delivered again by the next county (the same records in another slice)."""
    data_dir = tmp_path_factory.mktemp("landing")
    catalog = {d: CATALOG[d] for d in DATASETS}
    generate(data_dir, rows=6000, seed=11, city=CITY, catalog=catalog, as_of=AS_OF, periods=2)
    files, _ = scan_landing(data_dir, catalog, CITY.county_codes)
    frames: dict[str, list[pd.DataFrame]] = {}
    for landing in sorted(files, key=lambda f: f.relative_path):
        outcome = ingest_landing_file(
            landing,
            CATALOG[landing.dataset_id],
            department_id="dept",
            staging_dir=data_dir / "staging",
            batch_id=str(uuid.uuid4()),
            ingested_at=datetime(2026, 11, 20, 8, len(frames), tzinfo=UTC),
            shrink_ratio=None,
        )
        assert outcome.status == "loaded", outcome.reason
        frames.setdefault(landing.dataset_id, []).append(read_stage(outcome.staged_path))
    for parts in frames.values():
        first, second = parts[0], parts[1]
        repeated = first.head(15).assign(
            source_row=first["source_row"].max() + 1 + pd.RangeIndex(15)
        )
        copies = first.head(10).assign(
            county_code=second["county_code"].iloc[0],
            period=second["period"].iloc[0],
            source_file=second["source_file"].iloc[0],
            file_checksum=second["file_checksum"].iloc[0],
            source_row=second["source_row"].max() + 1 + pd.RangeIndex(10),
        )
        parts[0] = pd.concat([first, repeated], ignore_index=True)
        parts[1] = pd.concat([second, copies], ignore_index=True)
    return frames


def _load(engine, frames: dict[str, list[pd.DataFrame]]) -> None:
    for dataset_id, parts in frames.items():
        for part in parts:
            load_exchange_slice(
                engine,
                CATALOG[dataset_id],
                part,
                county_code=part["county_code"].iloc[0],
                period=part["period"].iloc[0],
            )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    columns = sorted(frame.columns)
    text = frame[columns].astype("string").fillna("<NA>")
    return text.sort_values(columns).reset_index(drop=True)


def test_per_slice_governance_equals_whole_dataset(db_url, slice_frames, tmp_path, monkeypatch):
    monkeypatch.setattr(slices, "ROW_GROUP_ROWS", 20)  # several row groups per slice
    engine = get_engine(db_url)
    _load(engine, slice_frames)
    for dataset_id in DATASETS:
        entry = CATALOG[dataset_id]
        whole = govern(read_exchange(engine, entry), entry, city=CITY, as_of=AS_OF)
        path = tmp_path / f"{dataset_id}.parquet"
        sliced = govern_dataset(engine, entry, path, city=CITY, as_of=AS_OF)

        assert len(slice_frames[dataset_id]) >= 6  # 3 counties × 2 periods
        assert whole.reconciliation.duplicates > 0 and whole.reconciliation.quarantined > 0
        assert pq.ParquetFile(path).num_row_groups > len(slice_frames[dataset_id])
        # the governed file: the same rows (in the same order), with the same types
        reference = tmp_path / f"{dataset_id}.whole.parquet"
        write_governed(reference, whole.governed)
        governed, expected = read_governed(path), read_governed(reference)
        assert governed.dtypes.to_dict() == expected.dtypes.to_dict()
        if db_url.startswith("sqlite"):  # PostgreSQL returns a table's rows in no set order
            pd.testing.assert_frame_equal(governed, expected)
        pd.testing.assert_frame_equal(_sorted(governed), _sorted(expected))
        assert sliced.governed.empty and list(sliced.governed.columns) == list(
            whole.governed.columns
        )
        for records in ("quarantine", "duplicates"):
            pd.testing.assert_frame_equal(
                _sorted(getattr(sliced, records)), _sorted(getattr(whole, records))
            )
        pd.testing.assert_frame_equal(
            sliced.reconciliation.by_partition, whole.reconciliation.by_partition
        )
        assert sliced.reconciliation.as_metadata() == whole.reconciliation.as_metadata()
        assert sliced.violations == whole.violations
        assert sliced.standardized_cells == whole.standardized_cells
        # a record repeated in another county's slice is no duplicate there
        copied = whole.duplicates.loc[
            whole.duplicates["county_code"] == slice_frames[dataset_id][1]["county_code"].iloc[0]
        ]
        assert not set(copied["source_row"]) & set(
            slice_frames[dataset_id][1]["source_row"].tail(10)
        )


def _published(engine, dataset_id: str) -> pd.DataFrame:
    table = sa.Table(operation_table_name(dataset_id), sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        return pd.read_sql(sa.select(table), connection)


@pytest.mark.parametrize("k_threshold", [5, 40])
def test_streamed_publish_equals_one_shot(db_url, slice_frames, tmp_path, monkeypatch, k_threshold):
    monkeypatch.setattr(slices, "ROW_GROUP_ROWS", 23)  # chunks that cut through classes
    exchange = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    _load(exchange, slice_frames)
    engine = get_engine(db_url)
    policy = load_policy().model_copy(update={"k_threshold": k_threshold})
    suppressed = 0
    for dataset_id in DATASETS:
        entry = CATALOG[dataset_id]
        path = tmp_path / f"{dataset_id}.parquet"
        govern_dataset(exchange, entry, path, city=CITY, as_of=AS_OF)
        assert pq.ParquetFile(path).num_row_groups > 2

        one_shot = desensitize(
            read_governed(path, arrow_strings=True),
            entry,
            levels=None,
            policy=policy,
            key=KEY,
            city=CITY,
        )
        first = publish(engine, entry, one_shot)
        expected = _published(engine, dataset_id)

        outcome, report, seen = publish_governed(
            engine, entry, path, levels=None, detected=None, policy=policy, key=KEY, city=CITY
        )
        streamed = _published(engine, dataset_id)
        assert len(streamed) == outcome.rows == first.rows == len(one_shot.frame)
        pd.testing.assert_frame_equal(_sorted(streamed), _sorted(expected))
        assert list(streamed.columns) == list(expected.columns)
        assert (outcome.k, outcome.suppressed) == (first.k, first.suppressed)
        assert report == one_shot.report
        assert list(report.transformations) == list(one_shot.report.transformations)
        assert seen.columns == [str(c) for c in one_shot.frame.columns]
        pd.testing.assert_frame_equal(seen.head, one_shot.frame.head(5))
        suppressed += report.suppressed
    if k_threshold == 40:
        assert suppressed > 0  # small classes were suppressed, the same rows either way


def test_streamed_publish_stops_on_a_leak_before_the_swap(db_url, tmp_path, slice_frames):
    """A cleartext identifier in a later chunk stops the publish; the old version stays whole."""
    exchange = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    _load(exchange, slice_frames)
    engine = get_engine(db_url)
    entry = CATALOG["medical_institutions"]
    path = tmp_path / "medical.parquet"
    govern_dataset(exchange, entry, path, city=CITY, as_of=AS_OF)
    policy = load_policy()
    publish_governed(
        engine, entry, path, levels=None, detected=None, policy=policy, key=KEY, city=CITY
    )
    before = _published(engine, "medical_institutions")

    governed = read_governed(path)
    mobile = "13812345678"
    governed.loc[len(governed) - 1, "institution_name"] = f"联系电话{mobile}"
    leaky = Path(tmp_path / "leaky.parquet")
    governed.to_parquet(leaky, index=False, row_group_size=50)
    with pytest.raises(ValueError, match="泄露扫描"):
        publish_governed(
            engine, entry, leaky, levels=None, detected=None, policy=policy, key=KEY, city=CITY
        )
    pd.testing.assert_frame_equal(_published(engine, "medical_institutions"), before)
    assert not any(t.endswith("__next") for t in sa.inspect(engine).get_table_names())


def test_published_scan_of_counted_distinct_values_finds_what_the_whole_table_scan_finds(
    db_url, tmp_path, slice_frames
):
    exchange = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    _load(exchange, slice_frames)
    engine = get_engine(db_url)
    entry = CATALOG["medical_institutions"]
    path = tmp_path / "medical.parquet"
    govern_dataset(exchange, entry, path, city=CITY, as_of=AS_OF)
    assert scan_published(engine, "medical_institutions") is None  # nothing published yet
    publish_governed(
        engine, entry, path, levels=None, detected=None, policy=load_policy(), key=KEY, city=CITY
    )
    clean = scan_published(engine, "medical_institutions")
    whole = read_published(engine, "medical_institutions", strings="arrow")
    assert clean is not None and clean.found == scan_for_leaks(whole) == {}
    assert (clean.rows, clean.columns) == whole.shape
    # a cleartext mobile written into the zone behind the writer's back is found
    table = sa.Table(
        operation_table_name("medical_institutions"), sa.MetaData(), autoload_with=engine
    )
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.institution_name.in_(list(whole["institution_name"].iloc[:2])))
            .values(institution_name="联系电话13812345678")
        )
    leaky = scan_published(engine, "medical_institutions")
    expected = scan_for_leaks(read_published(engine, "medical_institutions", strings="arrow"))
    assert leaky is not None and leaky.found == expected
    # one distinct value written into two or more rows: counted once per row, as the column scan does
    assert expected["institution_name"]["cn_mobile_phone"] >= 2
