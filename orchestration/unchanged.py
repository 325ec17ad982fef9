"""An unchanged rerun decided without Dagster.

A ``publicdata run`` that finds every delivery already judged and every dataset's exchange content
what governance last ran on starts no run. Deciding the second half needs the Dagster instance (each
governance asset's latest data version, and whether that run failed): importing Dagster and opening
the instance's storages was 1.0 s of the 1.2 s such a rerun took.

So each run that ends with every dataset current leaves a *witness* beside the instance
(``<dagster home>/publicdata-unchanged.json``, owner-only): the datasets' exchange fingerprints it
found current, and the instance's state — its runs (count, last update) and asset events (count,
last id), read from the embedded SQLite instance's own files, and its ``dagster.yaml``. The next run
takes the witness only when all of it still holds: the instance holds the same runs and events (no
run, materialization, observation, check or wipe since: anything the UI, a schedule or a sensor did
shows there), no delivery is new or changed (the plan, as always), every dataset's exchange
fingerprint is the witnessed one, and the catalog has nothing to publish. Then it reports "nothing
changed" — the same summary — having imported no Dagster and written nothing at all. Otherwise, or
on any doubt (no witness, another format, an instance on PostgreSQL, a file that cannot be read), it
takes the usual path, which records its decisions in the instance and leaves a new witness.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
from pathlib import Path

from assets.aggregation.incremental import exchange_fingerprint
from assets.common.catalog import load_catalog
from assets.common.city import load_city
from assets.common.files import create_private_file
from assets.landing.paths import scan_landing
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.planning import catalog_publication_needed, plan_deliveries
from orchestration.report import PipelineReport
from orchestration.settings import Settings

log = logging.getLogger(__name__)

WITNESS_NAME = "publicdata-unchanged.json"
WITNESS_FORMAT = 1


def witness_path(settings: Settings) -> Path:
    return settings.dagster_home / WITNESS_NAME


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (no checkpoint on close: the instance's files are left as found)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def instance_state(home: Path) -> dict[str, object] | None:
    """What changes whenever anything is recorded in the embedded instance under ``home``: its
    runs and asset events, and its configuration. None for any other instance, or when it cannot
    be read."""
    config = home / "dagster.yaml"
    runs = home / "history" / "runs.db"
    events = home / "history" / "runs" / "index.db"
    try:
        text = config.read_bytes()
        if b"postgres" in text or not runs.is_file() or not events.is_file():
            return None
        with contextlib.closing(_read_only(runs)) as connection:
            run_state = connection.execute(
                "SELECT count(*), max(update_timestamp) FROM runs"
            ).fetchone()
        with contextlib.closing(_read_only(events)) as connection:
            event_state = connection.execute("SELECT count(*), max(id) FROM event_logs").fetchone()
    except (OSError, sqlite3.Error):
        return None
    return {
        "config": hashlib.sha256(text).hexdigest(),
        "runs": [run_state[0], str(run_state[1])],
        "events": list(event_state),
    }


def forget_witness(settings: Settings) -> None:
    """Before a run that may change anything: no witness of the state before it."""
    with contextlib.suppress(FileNotFoundError):
        witness_path(settings).unlink()


def leave_witness(settings: Settings, fingerprints: dict[str, str]) -> None:
    """After a run that ended with every dataset current (``fingerprints``: each one's exchange
    fingerprint) and wrote its last to the instance."""
    state = instance_state(settings.dagster_home)
    if state is None:
        return
    path = witness_path(settings)
    partial = create_private_file(path.with_name(f".{path.name}.{os.getpid()}"))
    body = {
        "format": WITNESS_FORMAT,
        "instance": state,
        "datasets": dict(sorted(fingerprints.items())),
    }
    partial.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, path)


def _witness(settings: Settings) -> dict | None:
    try:
        found = json.loads(witness_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("format") != WITNESS_FORMAT:
        return None
    return found


def unchanged_report(settings: Settings) -> PipelineReport | None:
    """The report of this run when the witness proves nothing changed (see the module), else None:
    run the pipeline."""
    witness = _witness(settings)
    if witness is None or instance_state(settings.dagster_home) != witness.get("instance"):
        return None
    ensure_platform_schema(settings.platform_url)
    catalog = load_catalog(settings.catalog_dir)
    if set(catalog) != set(witness.get("datasets") or {}):
        return None
    city = load_city(settings.city_config)
    files, invalid = scan_landing(
        settings.data_dir, catalog, city.county_codes, settings.today_date()
    )
    platform_engine = get_engine(settings.platform_url)
    plan = plan_deliveries(files, catalog, platform_engine, get_engine(settings.exchange_url))
    if plan.to_run:
        return None
    fingerprints = {ds: exchange_fingerprint(plan.slices.get(ds, {})) for ds in catalog}
    if fingerprints != witness["datasets"]:
        return None
    if catalog_publication_needed(platform_engine, settings.data_dir):
        return None
    log.info("nothing changed since the witnessed run: no Dagster run, nothing recorded")
    return PipelineReport(
        settings=settings,
        unrecognized_files=[{"path": path, "reason": reason} for path, reason in invalid],
        skipped=plan.skipped,
        datasets_unchanged=sorted(catalog),
        nothing_changed=True,
        without_instance=True,
    )
