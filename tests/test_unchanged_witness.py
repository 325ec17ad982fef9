"""An unchanged rerun decided without Dagster (``orchestration/unchanged.py``): a run that ends with
every dataset current leaves a witness; the next run takes it only while the instance, the deliveries,
the exchange content and the catalog all still hold, reports what the usual path reports, imports no
Dagster and writes nothing; anything recorded in the instance, a changed delivery or a run that failed
sends the run down the usual path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from assets.governance.keys import governance_key
from assets.landing.generator import generate
from assets.storage.engine import dispose_engines
from orchestration.runner import dagster_instance, run_pipeline
from orchestration.unchanged import instance_state, unchanged_report, witness_path
from tests.helpers import settings_for

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 20)

_PROBE = """
import atexit, json, sys
NOT_LOADED = ("dagster", "pandas", "pyarrow", "great_expectations", "orchestration.runner")
atexit.register(lambda: print(json.dumps([m for m in NOT_LOADED if m in sys.modules]), file=sys.stderr))
sys.argv = ["publicdata", "run", "--data-dir", sys.argv[1], "--json"]
from orchestration.console import entry
entry()
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def delivered(tmp_path, city, catalog, db_url):
    manifest = generate(tmp_path, rows=400, seed=11, city=city, catalog=catalog, as_of=AS_OF)
    yield settings_for(tmp_path, db_url, today=AS_OF), manifest
    dispose_engines()


def test_a_clean_run_leaves_a_witness_the_next_run_takes_writing_nothing(delivered, catalog):
    settings, manifest = delivered
    first = run_pipeline(settings).summary()
    assert first["runs"]["failed"] == []
    witness = witness_path(settings)
    assert witness.exists() and stat.S_IMODE(witness.stat().st_mode) == 0o600
    assert set(json.loads(witness.read_text(encoding="utf-8"))["datasets"]) == set(catalog)

    state = instance_state(settings.dagster_home)
    fast = unchanged_report(settings)
    assert fast is not None and fast.nothing_changed
    quick = fast.summary()
    assert instance_state(settings.dagster_home) == state  # nothing recorded
    assert quick["runs"]["skipped_unchanged"] == len(manifest.files)
    assert quick["runs"]["datasets_unchanged"] == sorted(catalog)
    assert quick["totals"] == first["totals"]

    # the command, in a process of its own: the same summary, and no Dagster loaded
    env = {
        **os.environ,
        "PUBLICDATA_TODAY": AS_OF.isoformat(),
        "PUBLICDATA_DATABASE_URL": settings.platform_url,  # the test's zones (one database)
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(settings.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
    printed = json.loads(done.stdout)
    assert printed["runs"] == quick["runs"] and printed["files"] == quick["files"]
    assert instance_state(settings.dagster_home) == state

    # the usual path says the same, and records its decision in the instance
    witness.unlink()
    usual = run_pipeline(settings).summary()
    for section in ("runs", "files", "totals", "catalog", "quality", "operation"):
        assert usual[section] == quick[section], section
    assert instance_state(settings.dagster_home) != state
    assert witness.exists()  # left again by the usual path's unchanged run


def test_anything_recorded_or_delivered_since_sends_the_run_down_the_usual_path(delivered, catalog):
    settings, manifest = delivered
    run_pipeline(settings)
    assert unchanged_report(settings) is not None
    # an event in the instance (the UI, a sensor, a schedule): the witness no longer holds
    instance = dagster_instance(settings)
    instance.report_runless_asset_event(
        dg.AssetObservation(asset_key=governance_key(next(iter(catalog))))
    )
    assert unchanged_report(settings) is None
    run_pipeline(settings)  # the usual path: unchanged, a new witness
    assert unchanged_report(settings) is not None
    # a changed delivery
    changed = settings.data_dir / next(f.path for f in manifest.files if f.path.endswith(".csv"))
    changed.write_bytes(changed.read_bytes().rstrip(b"\r\n").rsplit(b"\n", 1)[0] + b"\n")
    assert unchanged_report(settings) is None
    report = run_pipeline(settings)
    assert report.batch_ids and not report.nothing_changed
    assert unchanged_report(settings) is not None  # the run that took it in left a witness
    # a run that fails leaves none
    broken = settings.data_dir / next(f.path for f in manifest.files if f.path.endswith(".csv"))
    broken.write_bytes(b"")
    report = run_pipeline(settings)
    assert report.failed_partitions
    assert not witness_path(settings).exists()
    assert unchanged_report(settings) is None
