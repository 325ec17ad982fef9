"""Which landing files a ``publicdata run`` ingests and which it skips as already judged (the same
bytes, loaded or rejected before, their slice unchanged): the plan, read from the platform records and
the exchange tables' loads. No Dagster here: an unchanged rerun decides without importing it
(``orchestration/unchanged.py``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.aggregation.incremental import (
    UNCHANGED,
    LatestIngest,
    Slice,
    SliceId,
    confirmed_deliveries,
    exchange_slices,
    latest_ingests,
    unchanged_delivery,
)
from assets.catalog_sync.registry import registry_fingerprint
from assets.catalog_sync.versions import latest_version, registry_already_processed
from assets.common.catalog import CatalogEntry
from assets.landing.paths import LandingPath, file_checksum


@dataclass(frozen=True)
class SkippedDelivery:
    landing: LandingPath
    checksum: str
    latest: LatestIngest

    def as_record(self) -> dict[str, object]:
        return {
            "path": self.landing.relative_path,
            "dataset": self.landing.dataset_id,
            "county": self.landing.county_code,
            "period": self.landing.period,
            "status": self.latest.status,
            "reason": UNCHANGED,
            "last_batch_id": self.latest.batch_id,
        }


@dataclass
class DeliveryPlan:
    """Which landing files to ingest, which are skipped as already judged."""

    to_run: list[LandingPath]
    skipped: list[SkippedDelivery]
    slices: dict[str, dict[SliceId, Slice]]  # per dataset, the exchange table before this run


def plan_deliveries(
    files: list[LandingPath],
    catalog: dict[str, CatalogEntry],
    platform_engine: Engine,
    exchange_engine: Engine,
    *,
    force: bool = False,
) -> DeliveryPlan:
    slices = {ds: exchange_slices(exchange_engine, entry) for ds, entry in catalog.items()}
    if force:
        return DeliveryPlan(to_run=list(files), skipped=[], slices=slices)
    latest = latest_ingests(platform_engine)
    confirmed = confirmed_deliveries(platform_engine)
    # two deliveries of one period (.csv and .xlsx) are refused by the run: never skipped
    per_partition = Counter((f.dataset_id, f.county_code, f.period) for f in files)
    plan = DeliveryPlan(to_run=[], skipped=[], slices=slices)
    for landing in files:
        key = (landing.dataset_id, landing.county_code, landing.period)
        try:
            checksum = file_checksum(landing.path)
        except OSError:  # the run reports it (rejected as unreadable)
            plan.to_run.append(landing)
            continue
        record = latest.get(key)
        if (
            per_partition[key] == 1
            and record is not None
            and unchanged_delivery(
                landing, checksum, record, slices.get(landing.dataset_id, {}), confirmed
            )
        ):
            plan.skipped.append(SkippedDelivery(landing, checksum, record))
        else:
            plan.to_run.append(landing)
    return plan


def catalog_publication_needed(platform_engine: Engine, data_dir: Path) -> bool:
    """With no delivery run, whether the catalog is published anyway: it never was, or its registry
    changed since it last was (or the records cannot be read: run it, let it say why)."""
    try:
        if latest_version(platform_engine) is None:
            return True
        return not registry_already_processed(platform_engine, registry_fingerprint(data_dir))
    except sa.exc.SQLAlchemyError:
        return True
