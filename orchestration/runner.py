"""Running the pipeline from the CLI: every landing file's partition, recorded in the Dagster instance of
the data directory so that `make ui` afterwards shows the runs, materializations and checks."""

from __future__ import annotations

import json
import logging
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from assets.aggregation.partitions import county_tags, period_partitions_name
from assets.catalog_sync.keys import CATALOG_JOB_NAME
from assets.common.catalog import load_catalog
from assets.common.city import City, load_city
from assets.common.files import private_umask
from assets.landing.paths import LandingPath, scan_landing
from assets.landing.read_ahead import ReadAhead
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.sqlite_stage import sweep_databases
from assets.workspace.keys import WORKSPACE_JOB
from orchestration.incremental import (
    record_current_datasets,
    record_skipped_deliveries,
    stale_datasets,
)
from orchestration.lanes import FileTicker, delivered_work, governance_runs, reading_ahead
from orchestration.locking import exclusive_data_dir, instance_creation
from orchestration.memory import freeze_survivors
from orchestration.parallel import START_METHOD, InProcessRuns, run_executor, worker_count
from orchestration.planning import DeliveryPlan, catalog_publication_needed, plan_deliveries
from orchestration.progress_line import stage_progress
from orchestration.report import PipelineReport
from orchestration.runs import QUIET_RUN_CONFIG as QUIET_RUN_CONFIG  # the tests' run config
from orchestration.runs import PartitionRun, job_run
from orchestration.settings import Settings
from orchestration.unchanged import forget_witness, leave_witness

log = logging.getLogger(__name__)

# The first line marks a file this module wrote (rewritten when the data directory has moved); a
# dagster.yaml of the operator's own is left as it is.
INSTANCE_YAML = """\
# Dagster instance of this data directory (embedded default: SQLite storage beside this file).
# For a PostgreSQL-backed instance see dagster.yaml at the top of the repository.
# Written by publicdata for {home}; the event log keeps its SQLite connections open
# (orchestration/instance_storage.py), the files are those of Dagster's own SQLite storage; the
# compute logs are Dagster's files, mirrored to the terminal by a thread (orchestration/compute_logs.py).
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config:
    base_dir: {history}
event_log_storage:
  module: orchestration.instance_storage
  class: KeptSqliteEventLogStorage
  config:
    base_dir: {event_logs}
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {schedules}
compute_logs:
  module: orchestration.compute_logs
  class: MirroredComputeLogManager
  config:
    base_dir: {compute_logs}
telemetry:
  enabled: false
"""
_OURS = INSTANCE_YAML.splitlines()[0]


def instance_yaml(home: Path) -> str:
    """The data directory's dagster.yaml: Dagster's SQLite layout under ``home``."""
    return INSTANCE_YAML.format(
        home=home,
        history=json.dumps(str(home / "history")),
        event_logs=json.dumps(str(home / "history" / "runs")),
        schedules=json.dumps(str(home / "schedules")),
        compute_logs=json.dumps(str(home / "storage")),  # where Dagster's own manager keeps them
    )


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The data directory's Dagster instance. Creating it (a fresh ``runs.db`` is stamped and
    migrated) is done by one process at a time: two would leave two migration heads behind."""
    home = settings.dagster_home
    with instance_creation(home):
        config = home / "dagster.yaml"
        wanted = instance_yaml(home.resolve())
        found = config.read_text(encoding="utf-8") if config.exists() else None
        if found is None or (found != wanted and found.startswith(_OURS)):
            config.write_text(wanted, encoding="utf-8")
        return dg.DagsterInstance.from_config(str(home))


Progress = Callable[[str, int, int], None]


def run_pipeline(
    settings: Settings, *, progress: Progress | None = None, force: bool = False
) -> PipelineReport:
    """Materialize every partition whose landing file is new or changed, then the stages downstream
    of the datasets whose exchange content moved; ``force`` recomputes everything.

    Holds the data directory for the whole run (:class:`DataDirBusy` when another process does),
    and creates what it writes owner-only."""
    private_umask()
    catalog = load_catalog(settings.catalog_dir)
    with exclusive_data_dir(settings.data_dir), stage_progress(progress, catalog) as files:
        if force:
            _forget_kept_work(settings)
        return _run_pipeline(settings, files, force)


def _forget_kept_work(settings: Settings) -> None:
    """``--force``: no governed slice kept (``governance/slice_cache.py``), no county carried
    (``operation/carry.py``): everything is computed again."""
    from assets.governance.records import governed_path
    from assets.governance.slice_cache import drop_slice_caches
    from assets.operation.carry import forget_all_keys

    drop_slice_caches(governed_path(settings.data_dir, "-").parent)
    forget_all_keys(get_engine(settings.operation_url))


def _run_pipeline(settings: Settings, progress: Progress | None, force: bool) -> PipelineReport:
    forget_witness(settings)  # whatever this run does, the last run's witness no longer speaks
    sweep_databases(settings.zone_urls.values())  # bulk-load stages a killed run left behind
    ensure_platform_schema(settings.platform_url)
    catalog = load_catalog(settings.catalog_dir)
    city = load_city(settings.city_config)
    files, invalid = scan_landing(
        settings.data_dir, catalog, city.county_codes, settings.today_date()
    )
    platform_engine = get_engine(settings.platform_url)
    exchange_engine = get_engine(settings.exchange_url)
    # The plan's work is SQLite's slice counts and hashlib's SHA-256 of the landing files, both with
    # the GIL released: it runs on the other core while this thread opens the Dagster instance
    # (Dagster's storage imports and migration checks): 0.67 → 0.42 s at 1M rows (session 13)
    with _switch_interval(PLAN_SWITCH_SECONDS), ThreadPoolExecutor(1, "plan") as pool:
        planning = pool.submit(
            plan_deliveries, files, catalog, platform_engine, exchange_engine, force=force
        )
        instance = dagster_instance(settings)
        plan = planning.result()
    report = PipelineReport(
        settings=settings,
        unrecognized_files=[{"path": path, "reason": reason} for path, reason in invalid],
        force=force,
        instance=instance,
    )
    report.skipped = plan.skipped
    record_skipped_deliveries(instance, plan.skipped)
    if not plan.to_run and not force:
        found = stale_datasets(instance, catalog, exchange_engine, plan, ingested=set())
        stale, current = found.stale, found.current
        if not stale and not _post_ingest_needed(CATALOG_JOB_NAME, settings, False, False, False):
            # nothing changed: no Dagster run at all (nor the definitions they would need)
            record_current_datasets(instance, current)
            report.datasets_unchanged = sorted(current)
            report.nothing_changed = True
            leave_witness(settings, current)
            if progress:
                progress("", len(files), len(files))
            return report
    workers = worker_count(settings, plan.to_run, len(catalog))
    # the deliveries read while this process prepares the workers (lanes.reading_ahead), for
    # workers forked from it that run the steps themselves (Dagster's other executors' step
    # processes start afresh: they would read the files again)
    forking = workers > 1 and START_METHOD == "fork" and settings.executor == "in_process"
    with reading_ahead(settings, catalog, plan.to_run, forking) as ahead:
        _run_stages(
            settings, instance, catalog, city, files, plan, report, progress, force, workers, ahead
        )
    if not report.failed_partitions:
        # every dataset current now (nothing failed): the next run may take the witness
        after = stale_datasets(instance, catalog, exchange_engine, plan, ingested=set(catalog))
        if not after.stale:
            leave_witness(settings, after.current)
    return report


# While the plan's thread runs beside the main thread, the GIL changes hands after 0.5 ms instead of
# Python's 5 ms: the plan takes it back each time an SQLite step or a hashed chunk returns, and
# queued behind 5 ms slices of imports it ended after the instance, not beside it
PLAN_SWITCH_SECONDS = 0.0005


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run_stages(
    settings: Settings,
    instance: dg.DagsterInstance,
    catalog: dict,
    city: City,
    files: list[LandingPath],
    plan: DeliveryPlan,
    report: PipelineReport,
    progress: Progress | None,
    force: bool,
    workers: int,
    ahead: ReadAhead | None,
) -> None:
    """The ingest runs of the deliveries to run, then the post-ingest jobs that have work; on
    ``workers`` processes (``--parallel``), the post-ingest jobs other than governance and publish
    in this one, in order. Forked workers take what ``ahead`` read meanwhile."""
    from orchestration.assembly import build_definitions, build_stages, post_ingest_jobs
    from orchestration.stages.operation import OPERATION_JOB

    stages = build_stages(settings)
    defs = build_definitions(settings, stages)
    periods: dict[str, set[str]] = defaultdict(set)
    for landing in plan.to_run:
        periods[landing.dataset_id].add(landing.period)
    for dataset_id, keys in periods.items():
        add_partitions(instance, period_partitions_name(dataset_id), keys)

    local = InProcessRuns(defs, instance)
    with run_executor(settings, instance, local, workers) as executor:
        if ahead is not None:  # the workers have started: both cores are theirs
            ahead.stop()
        freeze_survivors()  # before this process's first run (a fork pool froze before forking)
        # with more datasets than workers, each dataset's last run builds its Data Docs beside the
        # other datasets' runs; else the follow-up does, beside the governance (a worker is free)
        last = {f.dataset_id: f for f in plan.to_run}
        spread_docs = len(last) > workers
        ingest = [
            PartitionRun(
                f,
                county_tags(city, f.county_code),
                builds_docs=spread_docs and last[f.dataset_id] is f,
                weight=delivered_work(f),
            )
            for f in plan.to_run
        ]
        ticker = FileTicker(progress, len(plan.skipped), len(files))
        # workers take the dataset with the most work left first (each dataset's runs in their order)
        outcomes = {o.run_id: o for o in executor.run(ingest, ticker.start, ticker.done)}
        if ahead is not None:  # every ingest run is over: no read is taken any more
            ahead.close()
        for run in ingest:  # the report keeps the plan's order
            outcome = outcomes[run.run_id]
            report.batch_ids.append(outcome.run_id)
            if not outcome.success:
                report.failed_partitions.append(
                    {"path": run.label, "run_id": outcome.run_id, "error": outcome.error}
                )
        ingested = {landing.dataset_id for landing in plan.to_run}
        found = stale_datasets(
            instance,
            catalog,
            get_engine(settings.exchange_url),
            plan,
            ingested=ingested,
            force=force,
        )
        stale, current = found.stale, found.current
        record_current_datasets(instance, current)
        report.datasets_recomputed, report.datasets_unchanged = sorted(stale), sorted(current)
        planned: list[tuple[str, list]] = []  # (job, its runs) in the stages' order
        for job_name in post_ingest_jobs(stages):
            if job_name == OPERATION_JOB:
                # governance, classification and the publish of the datasets whose exchange moved
                if not stale:
                    report.post_ingest_skipped.append(job_name)
                    continue
                per_dataset = FOLLOW_UP_CELLS if spread_docs else FOLLOW_UP_DOCS_CELLS
                alongside = per_dataset * len(ingested) if planned else 0
                runs = governance_runs(
                    job_name, sorted(stale), catalog, found.work, workers, alongside
                )
            elif not _post_ingest_needed(job_name, settings, force, bool(plan.to_run), bool(stale)):
                report.post_ingest_skipped.append(job_name)
                continue
            else:
                runs = [job_run(job_name, None, POST_INGEST_LANE)]
            planned.append((job_name, runs))
        for batch in post_ingest_batches(planned, OPERATION_JOB, workers):
            names = [job_name for job_name, _ in batch]
            job = defs.resolve_job_def(OPERATION_JOB if OPERATION_JOB in names else names[0])
            if progress:  # the stage people are waiting for, in their words
                progress(f"{job.description or job.name}（{job.name}）", len(files), len(files))
            runner = executor if OPERATION_JOB in names else local
            outcomes = {o.run_id: o for o in runner.run(_batch_order(batch, OPERATION_JOB))}
            for job_name, runs in batch:  # the report keeps the stages' order
                for run in runs:
                    outcome = outcomes[run.run_id]
                    report.post_ingest_runs.append(outcome.run_id)
                    if not outcome.success:
                        report.failed_partitions.append(
                            {"job": job_name, "run_id": outcome.run_id, "error": outcome.error}
                        )
    if progress:
        progress("", len(files), len(files))


# the post-ingest jobs other than the publish run one at a time, in their order, wherever they run
POST_INGEST_LANE = "post_ingest"
# the work of those before the publish (the quality follow-up's reports and index, the catalog) per
# dataset ingested, in the cells of incremental.Staleness: 0.5 s for 7 datasets at 1M rows, at 1.37 s
# per million cells (session 24), when each dataset's last ingest run built its Data Docs; when the
# follow-up builds them, 1.7-2.0 s (with 150,000 the worker that took them ended 1.3 s after the other)
FOLLOW_UP_CELLS = 55_000
FOLLOW_UP_DOCS_CELLS = 200_000


def post_ingest_batches(
    planned: list[tuple[str, list]], publish_job: str, workers: int
) -> list[list[tuple[str, list]]]:
    """The planned post-ingest jobs, grouped into what runs together. One process: each job on
    its own, in order. Workers: the jobs before the publish go to the workers with it — they read
    and write nothing governance or the publish do (tickets, reports, Data Docs, the catalog) and
    fill the worker that ends its governance group first —, the jobs after it (the workspace,
    which follows the publish) run after it."""
    names = [job_name for job_name, _ in planned]
    if workers <= 1 or publish_job not in names:
        return [[job] for job in planned]
    cut = names.index(publish_job) + 1
    return [planned[:cut], *([job] for job in planned[cut:])]


def _batch_order(batch: list[tuple[str, list]], publish_job: str) -> list:
    """The batch's runs: the governance groups first (each takes a worker at once), then the
    others in their order."""
    first = [run for job_name, runs in batch if job_name == publish_job for run in runs]
    return first + [run for job_name, runs in batch if job_name != publish_job for run in runs]


def _post_ingest_needed(
    job_name: str, settings: Settings, force: bool, ingested: bool, published: bool
) -> bool:
    """Whether a post-ingest job has anything to do. With no delivery run, the quality follow-up and
    the freshness checks wait for their daily schedules, the catalog is published only when its
    registry changed (or it never was), the workspace only after a publish."""
    if force or ingested:
        return True
    if job_name == WORKSPACE_JOB:  # it reconciles grants on the tables a publish replaced
        return published
    if job_name == CATALOG_JOB_NAME:
        return catalog_publication_needed(get_engine(settings.platform_url), settings.data_dir)
    return False


def add_partitions(instance: dg.DagsterInstance, name: str, keys: set[str]) -> None:
    """Add the missing period partitions; one another process (the UI's sensor) added meanwhile is
    no error."""
    missing = sorted(k for k in keys if not instance.has_dynamic_partition(name, k))
    if not missing:
        return
    try:
        instance.add_dynamic_partitions(name, missing)
    except sa.exc.IntegrityError:
        for key in missing:
            if not instance.has_dynamic_partition(name, key):
                instance.add_dynamic_partitions(name, [key])
