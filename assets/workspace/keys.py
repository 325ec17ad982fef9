"""The merchants' workspace asset key and its job, importable without the workspace's code."""

import dagster as dg

WORKSPACE_KEY = dg.AssetKey(["workspace", "grants"])
WORKSPACE_JOB = "workspace_reconcile"
