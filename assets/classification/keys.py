"""The classification stage's asset key, importable without the stage's Dagster code."""

import dagster as dg


def classification_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["classification", dataset_id])
