"""One county's changed delivery re-publishes only that county (issue 13, incremental): the other
counties' rows are carried over from the published table when their carry key — governed rows,
plan, key, kept rows, code — is the one the zone kept, and the table is then what a whole publish
gives. On SQLite and PostgreSQL, on generated household data (personal data, k-anonymity)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.check_chars import id_check_char
from assets.common.city import load_city
from assets.desensitization.policy import load_policy
from assets.exchange.load import load_exchange_slice
from assets.governance import slices
from assets.governance.records import governed_slices, read_governed
from assets.governance.slices import govern_dataset
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.operation import carry
from assets.operation.streamed import plan_governed, publish_governed
from assets.operation.writer import withdraw
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
AS_OF = date(2026, 11, 20)
KEY = b"publicdata-test-key-0123456789ab"
DATASET = "household_registration"
ENTRY = CATALOG[DATASET]
ID_NUMBER = "64050219900101011" + id_check_char("64050219900101011")


@pytest.fixture(scope="module")
def county_frames(tmp_path_factory) -> list[pd.DataFrame]:
    """The dataset's exchange slices, one per county, as the ingest stages them."""
    data_dir = tmp_path_factory.mktemp("landing")
    generate(data_dir, rows=4000, seed=7, city=CITY, catalog={DATASET: ENTRY}, as_of=AS_OF)
    files, _ = scan_landing(data_dir, {DATASET: ENTRY}, CITY.county_codes)
    frames = []
    for landing in sorted(files, key=lambda f: f.relative_path):
        outcome = ingest_landing_file(
            landing,
            ENTRY,
            department_id="dept",
            staging_dir=data_dir / "staging",
            batch_id=str(uuid.uuid4()),
            ingested_at=datetime(2026, 11, 20, 8, len(frames), tzinfo=UTC),
            shrink_ratio=None,
        )
        assert outcome.status == "loaded", outcome.reason
        frames.append(read_stage(outcome.staged_path))
    assert len({f["county_code"].iloc[0] for f in frames}) == len(frames) >= 3
    return frames


def _load(engine, frame: pd.DataFrame) -> None:
    load_exchange_slice(
        engine,
        ENTRY,
        frame,
        county_code=frame["county_code"].iloc[0],
        period=frame["period"].iloc[0],
    )


def _publish(engine, path, *, key=KEY, scan_carried=False):
    return publish_governed(
        engine,
        ENTRY,
        path,
        levels=None,
        detected=None,
        policy=load_policy(),
        key=key,
        city=CITY,
        scan_carried=scan_carried,
    )


def _published(engine) -> pd.DataFrame:
    table = sa.Table(operation_table_name(DATASET), sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        frame = pd.read_sql(sa.select(table), connection)
    columns = sorted(frame.columns)
    text = frame[columns].astype("string").fillna("<NA>")
    return text.sort_values(columns).reset_index(drop=True)


def _changed(frame: pd.DataFrame) -> pd.DataFrame:
    """The county's delivery again, its last record gone (a new batch, as a new delivery is)."""
    return frame.iloc[:-1].assign(batch_id=str(uuid.uuid4()))


@pytest.fixture
def governed(tmp_path, county_frames, monkeypatch):
    monkeypatch.setattr(slices, "ROW_GROUP_ROWS", 300)  # several row groups per county
    exchange = get_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    for frame in county_frames:
        _load(exchange, frame)
    path = tmp_path / f"{DATASET}.parquet"

    def govern() -> None:
        govern_dataset(exchange, ENTRY, path, city=CITY, as_of=AS_OF)

    govern()
    return exchange, path, govern


def _whole(engine, path, *, key=KEY):
    """The same governed file published whole into the same zone (its kept keys forgotten first):
    the table, outcome and report a publish without carrying gives."""
    with engine.begin() as connection:
        for sql, params in carry.forget_keys_sql(DATASET):
            connection.execute(sa.text(sql), params)
    outcome, report, seen = _publish(engine, path, key=key)
    assert seen.carried == ()
    return _published(engine), outcome, report


def test_one_changed_county_is_published_again_and_the_others_carried(
    db_url, county_frames, governed
):
    exchange, path, govern = governed
    engine = get_engine(db_url)
    first, _, seen = _publish(engine, path)
    assert seen.carried == ()  # nothing published yet
    counties = sorted(f["county_code"].iloc[0] for f in county_frames)
    assert sorted(carry.kept_counties(engine, DATASET)) == counties

    changed = county_frames[0]["county_code"].iloc[0]
    _load(exchange, _changed(county_frames[0]))
    govern()
    outcome, report, seen = _publish(engine, path)

    assert seen.carried == tuple(c for c in counties if c != changed)
    carried = _published(engine)
    kept = {c: k.key for c, k in carry.kept_counties(engine, DATASET).items()}
    assert seen.measure_emptied(engine, DATASET) == []
    whole, expected, expected_report = _whole(engine, path)
    pd.testing.assert_frame_equal(carried, whole)
    assert (outcome.rows, outcome.k, outcome.suppressed) == (
        expected.rows,
        expected.k,
        expected.suppressed,
    )
    assert outcome.rows == first.rows - 1 or outcome.suppressed != first.suppressed
    assert report == expected_report
    # the zone kept what a whole publish keeps: the next change carries again
    assert kept == {c: k.key for c, k in carry.kept_counties(engine, DATASET).items()}
    assert sorted(kept) == counties
    assert not any(t.endswith("__next") for t in sa.inspect(engine).get_table_names())


@pytest.mark.parametrize("alongside", [False, True], ids=["after-the-swap", "alongside"])
def test_the_leak_check_scans_carried_rows_in_the_zone(db_url, county_frames, governed, alongside):
    """The published table's leak check (``PublishedRows.measure_leaks``): a whole publish is the
    chunks the writer scanned before writing them (nothing read back); with counties carried over,
    the table is read back and scanned in the zone, so a cleartext ID number put into a carried
    county's rows behind the writer's back is found — also when the carried rows are scanned on a
    thread of their own while the others are published (``scan_carried``)."""
    exchange, path, govern = governed
    engine = get_engine(db_url)
    outcome, _, seen = _publish(engine, path, scan_carried=alongside)
    assert seen.carried_scan is None
    whole = seen.measure_leaks(engine, DATASET)
    assert whole is not None
    assert (whole.rows, whole.zone_rows, whole.found) == (outcome.rows, 0, {})
    assert whole.columns == len(_published(engine).columns)

    counties = sorted(f["county_code"].iloc[0] for f in county_frames)
    name = operation_table_name(DATASET)
    with engine.begin() as connection:  # one row of a county that will be carried
        connection.execute(
            sa.text(
                f'UPDATE "{name}" SET "name" = :value WHERE "county_code" = :county '
                f'AND "id_number" = (SELECT min("id_number") FROM "{name}" WHERE "county_code" = :county)'
            ),
            {"value": f"身份证 {ID_NUMBER}", "county": counties[-1]},
        )
    _load(exchange, _changed(county_frames[0]))
    govern()
    outcome, _, seen = _publish(engine, path, scan_carried=alongside)
    assert counties[-1] in seen.carried
    assert (seen.carried_scan is not None) == alongside  # scanned already, or scanned now
    carried = seen.measure_leaks(engine, DATASET)
    assert carried is not None and carried.found == {"name": {"cn_id_number": 1}}
    # the carried counties' rows read back, the changed county's scanned as it was written
    published = _published(engine)
    assert carried.zone_rows == published["county_code"].isin(seen.carried).sum() > 0
    assert carried.rows == outcome.rows == carried.zone_rows + seen.rows


def test_nothing_is_carried_when_the_plan_changes_or_nothing_changed(
    db_url, county_frames, governed
):
    exchange, path, govern = governed
    engine = get_engine(db_url)
    _publish(engine, path)
    _, _, seen = _publish(engine, path)  # the same again: written whole, the same table
    assert seen.carried == ()
    _load(exchange, _changed(county_frames[1]))
    govern()
    other_key = b"another-test-key-0123456789abcdef"
    _, report, seen = _publish(engine, path, key=other_key)  # pseudonyms change everywhere
    assert seen.carried == ()
    published = _published(engine)
    whole, _, expected_report = _whole(engine, path, key=other_key)
    pd.testing.assert_frame_equal(published, whole)
    assert report == expected_report


def test_a_county_whose_kept_rows_change_gets_another_key(governed):
    """k-anonymity is decided over the whole dataset: a row of another county kept or suppressed
    by a change elsewhere changes that county's key, and only its."""
    _, path, _ = governed
    plan = plan_governed(
        ENTRY, path, levels=None, detected=None, policy=load_policy(), key=KEY, city=CITY
    )
    listed = governed_slices(path)
    assert listed is not None and sum(s.rows for s in listed) == plan.rows_in
    fingerprint = carry.plan_fingerprint(plan, path)
    keys = carry.county_keys(plan, listed, fingerprint)
    assert None not in keys.values() and len(set(keys.values())) == len(keys)

    last = listed[-1]
    kept = plan.kept.copy()
    kept[last.start + last.rows - 1] = not kept[last.start + last.rows - 1]
    flipped = carry.county_keys(dataclasses.replace(plan, kept=kept), listed, fingerprint)
    assert {c for c in keys if keys[c] != flipped[c]} == {last.county_code}
    # and another plan (a generalization level) changes every county's
    levels = {c: level + 1 for c, level in plan.hierarchy_levels.items()}
    other = carry.plan_fingerprint(dataclasses.replace(plan, hierarchy_levels=levels), path)
    assert not set(carry.county_keys(plan, listed, other).values()) & set(keys.values())


def test_a_withdrawal_forgets_the_kept_keys(db_url, county_frames, governed):
    exchange, path, govern = governed
    engine = get_engine(db_url)
    _publish(engine, path)
    withdraw(engine, DATASET, county_code=county_frames[2]["county_code"].iloc[0])
    assert carry.kept_counties(engine, DATASET) == {}
    _load(exchange, _changed(county_frames[0]))
    govern()
    _, _, seen = _publish(engine, path)
    assert seen.carried == ()  # the table held no longer what the keys named
    published = _published(engine)
    pd.testing.assert_frame_equal(published, _whole(engine, path)[0])


def test_a_published_table_of_other_columns_is_written_whole(db_url, county_frames, governed):
    exchange, path, govern = governed
    engine = get_engine(db_url)
    _publish(engine, path)
    with engine.begin() as connection:  # changed behind the writer's back
        connection.exec_driver_sql(
            f'ALTER TABLE "{operation_table_name(DATASET)}" ADD COLUMN extra TEXT'
        )
    _load(exchange, _changed(county_frames[0]))
    govern()
    _, _, seen = _publish(engine, path)
    assert seen.carried == ()
    published = _published(engine)
    pd.testing.assert_frame_equal(published, _whole(engine, path)[0])


def test_a_column_of_another_type_falls_back_to_a_whole_publish(pg_url, county_frames, governed):
    """The same columns, one of another type (PostgreSQL can alter it in place): the copy is
    refused before any row moves, and the publish is done whole."""
    exchange, path, govern = governed
    engine = get_engine(pg_url)
    _publish(engine, path)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f'ALTER TABLE "{operation_table_name(DATASET)}" ALTER COLUMN gender TYPE varchar(8)'
        )
    _load(exchange, _changed(county_frames[0]))
    govern()
    _, _, seen = _publish(engine, path)
    assert seen.carried == ()
    columns = sa.inspect(engine).get_columns(operation_table_name(DATASET))
    assert {c["name"]: str(c["type"]) for c in columns}["gender"] == "TEXT"
    published = _published(engine)
    pd.testing.assert_frame_equal(published, _whole(engine, path)[0])


def test_the_governed_file_names_each_slice_and_a_rerun_keeps_the_names(governed):
    _, path, govern = governed
    before = governed_slices(path)
    assert before is not None and all(s.key for s in before)
    starts = {s.start for s in before}
    assert len(starts) == len(before) and 0 in starts
    govern()  # every slice reused: the same rows, the same names
    assert governed_slices(path) == before
    assert np.sum([s.rows for s in before]) == len(read_governed(path))


def test_a_county_left_without_rows_is_published_whole(db_url, county_frames, governed):
    """The changed county's delivery is all quarantined (no ID number in any row): its slice is
    there with no governed row, nothing is left to desensitize, so nothing is carried either (the
    table is written whole), and the county's rows are gone from it."""
    exchange, path, govern = governed
    engine = get_engine(db_url)
    _publish(engine, path)
    gone = county_frames[0]["county_code"].iloc[0]
    _load(exchange, _changed(county_frames[0]).assign(id_number=None))
    govern()
    listed = governed_slices(path)
    assert listed is not None and [s.rows for s in listed if s.county_code == gone] == [0]
    _, _, seen = _publish(engine, path)
    assert seen.carried == ()
    published = _published(engine)
    assert gone not in set(published["county_code"]) and len(published)
    pd.testing.assert_frame_equal(published, _whole(engine, path)[0])
