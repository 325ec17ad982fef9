"""One wiring module per stage of the flow. Each exposes ``definitions(catalog, city) -> StageDefinitions``;
``orchestration.definitions`` merges them into the one Definitions."""

from dataclasses import dataclass, field

import dagster as dg


@dataclass(frozen=True)
class StageDefinitions:
    """A stage's Dagster objects, and the jobs the CLI runs once after every ingest partition."""

    defs: dg.Definitions
    post_ingest_jobs: tuple[str, ...] = field(default=())
