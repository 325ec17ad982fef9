"""One Dagster run of ``publicdata run``: a landing file's partition of its dataset's ingest job, or a
post-ingest job (on a selection of its assets), in process and recorded in the data directory's
instance. The runner calls these in its own process (``--parallel 1``) or has a worker process of
``orchestration/parallel.py`` call them; either way only the :class:`RunOutcome` goes back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from assets.aggregation.keys import ingest_job_name
from assets.aggregation.partitions import partition_key
from assets.landing.paths import LandingPath

# The CLI prints its own progress and summary (rejections, failed runs, tickets); the run events,
# warnings included, are in the Dagster instance for the UI. The console logger stays quiet.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

CLI_TAGS = {"publicdata/trigger": "cli"}
# a CLI run's quality checks leave the Data Docs to the follow-up, but for a run tagged so
# (assets/quality/checks.py reads it)
DATA_DOCS_TAG, BUILD_DOCS = "publicdata/data_docs", "build"


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    error: str = ""  # why it failed, one line


@dataclass(frozen=True)
class PartitionRun:
    """The ingest run of one landing file's partition."""

    landing: LandingPath
    county_tags: dict[str, str]
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # the last of its dataset's runs: its quality check builds the dataset's Data Docs
    builds_docs: bool = False
    weight: int = 0  # its work, for the order of the workers' runs (lanes.delivered_work)

    @property
    def lane(self) -> str:
        """Runs of one lane never run at once (one dataset's exchange table, its quality files)."""
        return self.landing.dataset_id

    @property
    def label(self) -> str:
        return self.landing.relative_path

    def tags(self) -> dict[str, str]:
        return {
            **CLI_TAGS,
            "publicdata/source_file": self.landing.relative_path,
            **self.county_tags,
            "publicdata/period": self.landing.period,
            **({DATA_DOCS_TAG: BUILD_DOCS} if self.builds_docs else {}),
        }

    def execute(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> RunOutcome:
        job = defs.resolve_job_def(ingest_job_name(self.landing.dataset_id))
        result = job.execute_in_process(
            instance=instance,
            partition_key=partition_key(self.landing.county_code, self.landing.period),
            raise_on_error=False,
            run_config=QUIET_RUN_CONFIG,
            run_id=self.run_id,
            tags=self.tags(),
        )
        return outcome_of(result)


@dataclass(frozen=True)
class JobRun:
    """A post-ingest job's run; ``selection`` (asset keys) restricts it to some datasets."""

    job_name: str
    selection: tuple[dg.AssetKey, ...] | None = None
    lane_name: str = ""
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def lane(self) -> str:
        return self.lane_name or self.job_name

    @property
    def label(self) -> str:
        return self.job_name

    def execute(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> RunOutcome:
        result = defs.resolve_job_def(self.job_name).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=QUIET_RUN_CONFIG,
            asset_selection=list(self.selection) if self.selection is not None else None,
            run_id=self.run_id,
            tags=CLI_TAGS,
        )
        return outcome_of(result)


def job_run(job_name: str, selection: Sequence[dg.AssetKey] | None, lane: str = "") -> JobRun:
    return JobRun(job_name, tuple(selection) if selection is not None else None, lane)


def outcome_of(result: dg.ExecuteInProcessResult) -> RunOutcome:
    return RunOutcome(result.run_id, result.success, "" if result.success else failure_text(result))


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            if user and user.description:
                return user.description
            return error.message.strip().splitlines()[0]
    return "run failed"
