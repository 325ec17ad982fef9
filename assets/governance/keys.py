"""The governance stage's asset key, importable without the stage's code."""

import dagster as dg


def governance_key(dataset_id: str) -> dg.AssetKey:
    return dg.AssetKey(["governance", dataset_id])
