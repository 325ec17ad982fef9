"""Incremental reruns through real Dagster runs, on SQLite and PostgreSQL: a rerun with no changed
delivery writes no row in any zone and starts no run; one changed county's file ingests only its
partition and governs and publishes only its dataset, to the same result as a full recompute; a file
rejected before is still reported; ``--force`` recomputes everything."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.aggregation.keys import landing_key
from assets.classification.keys import classification_key
from assets.governance.keys import governance_key
from assets.governance.records import governed_path, read_governed
from assets.landing.generator import generate
from assets.operation.keys import operation_key
from assets.storage.engine import dispose_engines, get_engine
from orchestration.cli import main
from orchestration.runner import dagster_instance, run_pipeline
from tests.helpers import settings_for

AS_OF = date(2026, 11, 20)
ROOT = Path(__file__).resolve().parents[1]

# ``publicdata run --json`` through the command's entry point; at exit, on stderr, which of the
# libraries and modules only runs need were loaded
_RERUN_PROBE = """
import atexit, json, sys
RUN_ONLY = (
    "pandas", "numpy", "pyarrow", "great_expectations", "assets.aggregation.ingest",
    "assets.governance.govern", "assets.operation.writer", "orchestration.assembly",
)
atexit.register(lambda: print(json.dumps([m for m in RUN_ONLY if m in sys.modules]), file=sys.stderr))
sys.argv = ["publicdata", "run", "--data-dir", sys.argv[1], "--json"]
from orchestration.console import entry
entry()
"""

pytestmark = pytest.mark.slow


def _zone_snapshot(settings) -> dict[str, tuple[int, str]]:
    """Every table of every zone: its row count and a hash of its sorted rows."""
    out: dict[str, tuple[int, str]] = {}
    for url in sorted(set(settings.zone_urls.values())):
        engine = get_engine(url)
        for name in sorted(sa.inspect(engine).get_table_names()):
            table = sa.Table(name, sa.MetaData(), autoload_with=engine)
            with engine.connect() as connection:
                rows = sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
            digest = hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()
            out[f"{url}#{name}"] = (len(rows), digest)
    return out


def _stage_keys(catalog, dataset_id: str) -> list[dg.AssetKey]:
    keys = [governance_key(dataset_id), classification_key(dataset_id)]
    if not catalog[dataset_id].is_prohibited:
        keys.append(operation_key(dataset_id))
    return keys


def _materializations(instance, key: dg.AssetKey) -> int:
    return len(instance.fetch_materializations(key, limit=1000).records)


def _published(settings, catalog) -> dict[str, pd.DataFrame]:
    """The operation tables and governed files, in a stable order, for comparing two runs."""
    engine = get_engine(settings.operation_url)
    out = {}
    for dataset_id, entry in catalog.items():
        governed = read_governed(governed_path(settings.data_dir, dataset_id))
        out[f"governed/{dataset_id}"] = governed.sort_values(list(governed.columns)).reset_index(
            drop=True
        )
        if entry.is_prohibited:
            continue
        with engine.connect() as connection:
            frame = pd.read_sql(sa.text(f"SELECT * FROM operation_{dataset_id}"), connection)
        out[f"operation/{dataset_id}"] = frame.sort_values(list(frame.columns)).reset_index(
            drop=True
        )
    return out


@pytest.fixture
def delivered(tmp_path, city, catalog, db_url):
    manifest = generate(tmp_path, rows=700, seed=7, city=city, catalog=catalog, as_of=AS_OF)
    # one file the platform rejects whole: it must still be reported by a rerun that skips it
    emptied = next(f for f in manifest.files if f.path.endswith(".csv"))
    (tmp_path / emptied.path).write_bytes(b"")
    yield settings_for(tmp_path, db_url), manifest, emptied
    dispose_engines()


def test_unchanged_rerun_writes_nothing_and_starts_no_run(delivered, catalog):
    settings, manifest, emptied = delivered
    first = run_pipeline(settings).summary()
    assert {p["path"] for p in first["runs"]["failed"]} == {emptied.path}
    instance = dagster_instance(settings)
    runs_before = len(instance.get_run_records())
    materialized = {
        key: _materializations(instance, key)
        for dataset_id in catalog
        for key in _stage_keys(catalog, dataset_id)
    }
    zones = _zone_snapshot(settings)

    again = run_pipeline(settings)
    summary = again.summary()

    # no row in any zone changed, none was added or removed
    assert _zone_snapshot(settings) == zones
    # no run started: no ingest, no governance, no publish, no follow-up
    assert len(instance.get_run_records()) == runs_before
    for key, count in materialized.items():
        assert _materializations(instance, key) == count, key
    runs = summary["runs"]
    assert runs["partitions"] == 0 and runs["post_ingest"] == 0
    assert runs["skipped_unchanged"] == len(manifest.files)
    assert runs["datasets_recomputed"] == [] and sorted(runs["datasets_unchanged"]) == sorted(
        catalog
    )
    # every file still reported as last judged, the rejected one with its reason
    by_path = {f["path"]: f for f in summary["files"]}
    assert set(by_path) == {f.path for f in manifest.files}
    assert all(f["unchanged"] for f in summary["files"])
    assert by_path[emptied.path]["status"] == "rejected"
    assert by_path[emptied.path]["reason_code"] == "empty_file"
    assert summary["totals"] == first["totals"]
    assert summary["quality"]["opened"] == [] and summary["catalog"]["new_version"] is False

    # the decision is in the Dagster instance: an observation per dataset, 内容未变化
    for dataset_id in {f.dataset_id for f in manifest.files}:
        observed = instance.fetch_observations(landing_key(dataset_id), limit=1).records
        assert observed, dataset_id
        metadata = observed[0].asset_observation.metadata
        assert metadata["decision"].value == "unchanged"
    for dataset_id in catalog:
        observed = instance.fetch_observations(governance_key(dataset_id), limit=1).records
        assert observed and observed[0].asset_observation.metadata["decision"].value == "unchanged"

    # the CLI says so too
    env = {"PUBLICDATA_DATABASE_URL": settings.platform_url}
    result = CliRunner(env=env).invoke(
        main, ["run", "--data-dir", str(settings.data_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["runs"]["skipped_unchanged"] == len(manifest.files)
    assert len(instance.get_run_records()) == runs_before
    assert _zone_snapshot(settings) == zones

    # the command itself, in a process of its own: it says the same and loads none of the stages'
    # code, nor pandas, numpy, Arrow or Great Expectations (an unchanged rerun is mostly imports)
    done = subprocess.run(
        [sys.executable, "-c", _RERUN_PROBE, str(settings.data_dir)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    alone = json.loads(done.stdout)
    assert alone["runs"] == printed["runs"] and alone["files"] == printed["files"]
    assert alone["totals"] == printed["totals"]
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == [], loaded
    assert len(instance.get_run_records()) == runs_before
    assert _zone_snapshot(settings) == zones


def test_one_changed_file_recomputes_its_dataset_only_and_force_recomputes_all(delivered, catalog):
    settings, manifest, emptied = delivered
    run_pipeline(settings)
    instance = dagster_instance(settings)
    changed = next(
        f
        for f in manifest.files
        if f.path.endswith(".csv") and f.path != emptied.path and f.dataset_id != emptied.dataset_id
    )
    counts = {
        dataset_id: {k: _materializations(instance, k) for k in _stage_keys(catalog, dataset_id)}
        for dataset_id in catalog
    }
    # the county redelivers the period without its last record
    path = settings.data_dir / changed.path
    lines = path.read_bytes().rstrip(b"\r\n").split(b"\n")
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n")

    report = run_pipeline(settings)
    summary = report.summary()
    runs = summary["runs"]
    assert runs["partitions"] == 1, runs
    assert runs["skipped_unchanged"] == len(manifest.files) - 1
    assert runs["datasets_recomputed"] == [changed.dataset_id]
    by_path = {f["path"]: f for f in summary["files"]}
    assert by_path[changed.path]["status"] == "loaded" and "unchanged" not in by_path[changed.path]
    assert by_path[changed.path]["rows_read"] == changed.rows - 1
    assert by_path[emptied.path]["status"] == "rejected" and by_path[emptied.path]["unchanged"]
    for dataset_id, before in counts.items():
        for key, count in before.items():
            expected = count + 1 if dataset_id == changed.dataset_id else count
            assert _materializations(instance, key) == expected, key
    incremental = _published(settings, catalog)
    zones = _zone_snapshot(settings)

    # publicdata run --force: every delivery ingested again, every dataset governed and published again, and the
    # result is the incremental one
    env = {"PUBLICDATA_DATABASE_URL": settings.platform_url}
    result = CliRunner(env=env).invoke(
        main, ["run", "--data-dir", str(settings.data_dir), "--json", "--force"]
    )
    assert result.exit_code == 0, result.output
    forced = json.loads(result.stdout)
    assert forced["runs"]["force"] is True
    assert forced["runs"]["partitions"] == len(manifest.files)
    assert forced["runs"]["skipped_unchanged"] == 0
    assert sorted(forced["runs"]["datasets_recomputed"]) == sorted(catalog)
    for dataset_id, before in counts.items():
        for key, count in before.items():
            extra = 2 if dataset_id == changed.dataset_id else 1
            assert _materializations(instance, key) == count + extra, key
    full = _published(settings, catalog)
    assert full.keys() == incremental.keys()
    for name, frame in full.items():
        pd.testing.assert_frame_equal(frame, incremental[name], obj=name)
    # the exchange tables are the same rows (an identical delivery replaces nothing)
    exchange = {k: v for k, v in _zone_snapshot(settings).items() if "#exchange_" in k}
    assert exchange == {k: v for k, v in zones.items() if "#exchange_" in k}
