"""The one Definitions, for Dagster's tools: ``dagster dev -m orchestration.definitions``, the
webserver, the daemon and the code servers load ``defs`` (built with the environment's settings).
Built in ``orchestration.assembly``, which the CLI uses directly: importing this module builds the
whole graph once more."""

from orchestration.assembly import (
    STAGES,
    build_definitions,
    build_stages,
    job_executor,
    post_ingest_jobs,
)

__all__ = [
    "STAGES",
    "build_definitions",
    "build_stages",
    "defs",
    "job_executor",
    "post_ingest_jobs",
]

defs = build_definitions()
