"""The catalog's asset key, its job and its freshness check, by name: importable without the
catalog cycle's code (the run's planner and summary name them without running them)."""

import dagster as dg

CITY_CATALOG_KEY = dg.AssetKey(["catalog", "city_catalog"])
CATALOG_JOB_NAME = "catalog_publication"
FRESHNESS_CHECK_NAME = "freshness"
