"""The aggregation stage's asset keys, importable without the stage's code (the incremental planner
and the run summary name these assets without running them)."""

import dagster as dg


def landing_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", dataset_id])


def aggregation_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["aggregation", dataset_id])
