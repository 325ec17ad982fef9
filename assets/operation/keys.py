"""The operation publish's asset key, importable without the stage's code."""

import dagster as dg


def operation_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["operation", dataset_id])
