"""The spine end to end: generated deliveries → county aggregation → exchange platform, through real
Dagster runs recorded in the data directory's instance, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from assets.landing.generator import Manifest, generate
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table, ingest_rejections
from orchestration.runner import dagster_instance, run_pipeline
from tests.helpers import settings_for

AS_OF = date(2026, 11, 20)

pytestmark = pytest.mark.slow


def _exchange_snapshot(settings, catalog) -> dict[str, pd.DataFrame]:
    engine = get_engine(settings.exchange_url)
    out = {}
    for dataset_id, entry in catalog.items():
        table = exchange_table(entry)
        with engine.connect() as connection:
            out[dataset_id] = pd.read_sql(
                sa.select(table).order_by(table.c.county_code, table.c.period, table.c.source_row),
                connection,
            )
    return out


@pytest.fixture
def generated(tmp_path, city, catalog):
    manifest = generate(tmp_path, rows=700, seed=7, city=city, catalog=catalog, as_of=AS_OF)
    return tmp_path, manifest


def test_every_row_is_accounted_for_and_reruns_change_nothing(generated, db_url, catalog):
    data_dir, manifest = generated
    settings = settings_for(data_dir, db_url)
    report = run_pipeline(settings)
    summary = report.summary()

    assert not report.failed_partitions, report.failed_partitions
    assert len(summary["files"]) == len(manifest.files)
    by_path = {f["path"]: f for f in summary["files"]}
    for delivered in manifest.files:
        record = by_path[delivered.path]
        assert record["status"] == "loaded"
        assert record["rows_read"] == delivered.rows
        assert record["rows_read"] == record["rows_loaded"] + record["rows_rejected"]
    assert {f["encoding"] for f in summary["files"]} >= {"gb18030", "xlsx"}
    assert summary["zones"].keys() == {"exchange", "operation", "platform"}

    snapshot = _exchange_snapshot(settings, catalog)
    for dataset_id, frame in snapshot.items():
        expected = sum(f["rows_loaded"] for f in summary["files"] if f["dataset"] == dataset_id)
        assert len(frame) == expected
        assert summary["totals"]["by_dataset"][dataset_id]["rows_loaded"] == expected
    assert summary["totals"]["all"]["rows_read"] == sum(f.rows for f in manifest.files)

    # the runs are in the data directory's Dagster instance, for `make ui`
    instance = dagster_instance(settings)
    # one run per landing file, then one per post-ingest job (catalog, quality, operation stages)
    assert len(instance.get_run_records()) == len(manifest.files) + len(report.post_ingest_runs)

    # a second run over the same files changes nothing in the exchange tables (not even batch ids)
    run_pipeline(settings)
    again = _exchange_snapshot(settings, catalog)
    for dataset_id in catalog:
        pd.testing.assert_frame_equal(snapshot[dataset_id], again[dataset_id])


def test_bad_files_are_rejected_whole_and_good_data_survives(generated, db_url, catalog):
    data_dir, manifest = generated
    settings = settings_for(data_dir, db_url)
    run_pipeline(settings)
    before = _exchange_snapshot(settings, catalog)

    csv_files = [f for f in manifest.files if f.path.endswith(".csv")]
    xlsx_files = [f for f in manifest.files if f.path.endswith(".xlsx")]
    broken_xlsx = xlsx_files[0]
    emptied = csv_files[0]
    ragged = csv_files[1]
    (data_dir / broken_xlsx.path).write_bytes((data_dir / broken_xlsx.path).read_bytes()[:300])
    (data_dir / emptied.path).write_bytes(b"")
    # a changed delivery of another partition: one extra ragged line at the end
    with open(data_dir / ragged.path, "ab") as handle:
        handle.write(
            "只有一列\n".encode(ragged.encoding if ragged.encoding != "utf-8-sig" else "utf-8")
        )

    report = run_pipeline(settings)
    summary = report.summary()
    by_path = {f["path"]: f for f in summary["files"]}
    assert by_path[broken_xlsx.path]["status"] == "rejected"
    assert by_path[broken_xlsx.path]["reason"]
    assert by_path[emptied.path]["status"] == "rejected"
    assert by_path[emptied.path]["reason_code"] == "empty_file"
    assert {p["path"] for p in report.failed_partitions} == {broken_xlsx.path, emptied.path}

    changed = by_path[ragged.path]
    assert changed["status"] == "loaded"
    assert changed["rows_rejected"] == 1 and changed["rows_read"] == ragged.rows + 1
    engine = get_engine(settings.platform_url)
    with engine.connect() as connection:
        rejected = connection.execute(
            sa.select(ingest_rejections.c.source_row, ingest_rejections.c.reason_code).where(
                ingest_rejections.c.relative_path == ragged.path
            )
        ).all()
    assert [(row, code) for row, code in rejected] == [(ragged.rows + 2, "field_count")]

    after = _exchange_snapshot(settings, catalog)
    for dataset_id in catalog:
        # rejected files keep their partition's previous version; everything else is unchanged too
        keep = lambda f: f.loc[f["source_file"] != ragged.path].reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(keep(before[dataset_id]), keep(after[dataset_id]))
    assert (after[ragged.dataset_id]["source_file"] == ragged.path).sum() == ragged.rows


def test_manifest_round_trip(generated):
    data_dir, manifest = generated
    loaded = Manifest.load(data_dir / "ground_truth" / "manifest.json")
    assert len(loaded.files) == len(manifest.files)
