"""Launching a job's run on the executor the Definitions name (``PUBLICDATA_EXECUTOR``).

``execute_in_process`` runs every step in the calling process whatever the executor. A run on the
multiprocess or the Celery executor is launched here with ``dg.execute_job`` on a reconstructable
job: each step process, or Celery worker, imports this module and rebuilds the job with
:func:`reconstruct_job` from the job's name and the data directory, and reads every other setting
(zones, catalog, keys, executor) from its own environment, as a code location does. Such a run needs
an instance every process reaches: on one machine the data directory's, across machines PostgreSQL
(``dagster.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from orchestration.assembly import build_definitions
from orchestration.settings import Settings


def reconstruct_job(job_name: str, data_dir: str) -> dg.JobDefinition:
    """The job as a step process or a Celery worker rebuilds it (module-level for that reason)."""
    return build_definitions(Settings.load(data_dir)).resolve_job_def(job_name)


def reconstructable_job(settings: Settings, job_name: str) -> Any:
    """What ``dg.build_reconstructable_job`` returns (its type is not public Dagster API)."""
    return dg.build_reconstructable_job(
        __name__, reconstruct_job.__name__, reconstructable_args=(job_name, str(settings.data_dir))
    )


def execute(
    settings: Settings,
    instance: dg.DagsterInstance,
    job_name: str,
    *,
    partition_key: str | None = None,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.ExecuteInProcessResult | dg.JobExecutionResult:
    """Run ``job_name`` (one partition of it) to the end on the settings' executor and return the
    result; a failed step is a failed result, not an exception. In process the job is built from
    ``settings`` as given; on another executor every process builds it from the data directory and
    the environment (set the zones and ``PUBLICDATA_EXECUTOR`` there, as for a code location)."""
    job = build_definitions(settings).resolve_job_def(job_name)
    if settings.executor == "in_process":
        return job.execute_in_process(
            instance=instance,
            partition_key=partition_key,
            run_config=run_config,
            tags=tags,
            raise_on_error=False,
        )
    run_tags = dict(tags or {})
    if partition_key is not None:
        run_tags.update(job.get_tags_for_partition_key(partition_key, None))
    return dg.execute_job(
        reconstructable_job(settings, job_name),
        instance=instance,
        run_config=run_config,
        tags=run_tags,
        raise_on_error=False,
    )
