"""The aggregation stage's asset keys and ingest job names, importable without the stage's code (the
incremental planner, the run summary and the run launcher name them without running them)."""

import dagster as dg


def landing_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", dataset_id])


def aggregation_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["aggregation", dataset_id])


def ingest_job_name(dataset_id: str) -> str:
    return f"ingest_{dataset_id}"
