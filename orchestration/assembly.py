"""How the one Definitions is built. The asset graph is built from the catalog, so a new catalog entry
file is a new set of assets with no code change; each stage contributes its part from
``orchestration/stages``. ``orchestration.definitions`` builds it at import for Dagster's tools
(``dagster dev -m orchestration.definitions``); the CLI, its workers and launched runs build it
here with their own settings, and so never build it twice in one process."""

import dagster as dg

from assets.common.catalog import load_catalog
from assets.common.city import load_city
from orchestration.settings import Settings
from orchestration.stages import (
    StageDefinitions,
    authorization,
    catalog,
    exports,
    operation,
    quality,
    spine,
    supervision,
    workspace,
)

STAGES = (spine, quality, catalog, operation, authorization, workspace, exports, supervision)


def build_stages(settings: Settings) -> list[StageDefinitions]:
    city = load_city(settings.city_config)
    catalog = load_catalog(settings.catalog_dir)
    return [stage.definitions(catalog, city) for stage in STAGES]


def post_ingest_jobs(stages: list[StageDefinitions]) -> list[str]:
    return [name for stage in stages for name in stage.post_ingest_jobs]


def job_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The jobs' executor, as ``PUBLICDATA_EXECUTOR`` says. ``execute_in_process`` always runs in
    this process; a launched run (the daemon, the UI, ``orchestration.execution.execute``) runs its
    steps in processes of their own (multiprocess) or as tasks on Celery workers (celery), which
    load the job from this module and need a Dagster instance all of them reach (PostgreSQL)."""
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor.configured(
            {"max_concurrent": settings.max_concurrent_steps}, name="multiprocess"
        )
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(settings.celery_config(), name="celery")
    return dg.in_process_executor


def build_definitions(
    settings: Settings | None = None, stages: list[StageDefinitions] | None = None
) -> dg.Definitions:
    settings = settings or Settings.load()
    return dg.Definitions.merge(
        *(stage.defs for stage in (stages if stages is not None else build_stages(settings))),
        dg.Definitions(
            resources={"platform": settings.platform_resource()},
            executor=job_executor(settings),
        ),
    )
