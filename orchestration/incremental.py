"""Incremental reruns of ``publicdata run``: deliveries the platform has already judged start no run, and
governance, classification and the operation publish are recomputed only for datasets whose exchange
content moved. Each decision is recorded in the Dagster instance as an asset observation (the reason
“内容未变化”), so the UI shows why a partition or a dataset has no new materialization.

The rules themselves (what counts as unchanged) are in ``assets/aggregation/incremental.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.aggregation.incremental import (
    UNCHANGED,
    UNCHANGED_LABEL,
    exchange_fingerprint,
    exchange_slices,
)
from assets.aggregation.keys import landing_key
from assets.aggregation.partitions import partition_key
from assets.classification.keys import classification_key
from assets.common.catalog import CatalogEntry
from assets.governance.keys import governance_key
from assets.operation.keys import operation_key
from assets.storage.engine import one_line_error
from orchestration.planning import DeliveryPlan, SkippedDelivery

DATA_VERSION_TAG = "dagster/data_version"  # where Dagster keeps a materialization's data version

log = logging.getLogger(__name__)


def record_skipped_deliveries(instance: dg.DagsterInstance, skipped: list[SkippedDelivery]) -> None:
    """One observation per dataset on its landing asset, naming each skipped partition with its
    file's SHA-256 (one event per dataset: the embedded instance pays a write per event)."""
    by_dataset: dict[str, list[SkippedDelivery]] = {}
    for item in skipped:
        by_dataset.setdefault(item.landing.dataset_id, []).append(item)
    for dataset_id, items in sorted(by_dataset.items()):
        partitions = {
            partition_key(i.landing.county_code, i.landing.period): {
                "source_file": i.landing.relative_path,
                "file_checksum": i.checksum,
                "last_status": i.latest.status,
                "last_batch_id": i.latest.batch_id,
            }
            for i in items
        }
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=landing_key(dataset_id),
                description=(
                    f"{UNCHANGED_LABEL}：{len(items)} 个分区的交付与上次处理的相同，未重新入库"
                ),
                metadata={
                    "decision": UNCHANGED,
                    "skipped_partitions": len(items),
                    "partitions": dg.MetadataValue.json(partitions),
                },
            )
        )


def dataset_step_keys(dataset_id: str) -> frozenset[str]:
    keys = (governance_key, classification_key, operation_key)
    return frozenset(key(dataset_id).to_python_identifier() for key in keys)


def governance_current(instance: dg.DagsterInstance, dataset_id: str, fingerprint: str) -> bool:
    """Whether the dataset's governance, classification and publish last ran on exactly this
    exchange content and none of their steps failed in that run."""
    event = instance.get_latest_materialization_event(governance_key(dataset_id))
    materialization = event.asset_materialization if event else None
    if materialization is None or materialization.tags.get(DATA_VERSION_TAG) != fingerprint:
        return False
    run = instance.get_run_by_id(event.run_id)
    if run is None:
        return False
    if run.status == dg.DagsterRunStatus.SUCCESS:
        return True
    if run.status != dg.DagsterRunStatus.FAILURE:
        return False  # still running, or killed: its work may be half done
    failed = {
        record.event_log_entry.step_key
        for record in instance.get_records_for_run(
            event.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
    }
    ours = dataset_step_keys(dataset_id)
    # a run that failed without a failed step, or failed in one of this dataset's steps, is redone
    return bool(failed) and not any(
        step and any(step == k or step.startswith(f"{k}_") for k in ours) for step in failed
    )


# a dataset's governance and publish cost, besides its cells: its steps and checks, its catalog
# entry, the reads of its slice index and stamps. Fitted over the seven datasets' step times in two
# runs at 1M rows (2026-11-30, session 24: 1.37 s per million cells plus 0.50 s per dataset; session
# 12 had 4.0 s and 1.8 s): 370,000 cells
FIXED_CELLS = 370_000


@dataclass
class Staleness:
    """Datasets whose exchange content moved (``stale``) or not (``current``), each with its
    exchange fingerprint, and the ``work`` of governing and publishing each: its exchange rows times
    its items, plus :data:`FIXED_CELLS` (the weight the ``--parallel`` groups are balanced by; bytes
    delivered were wrong by 2x for a dataset delivered as xlsx)."""

    stale: dict[str, str]
    current: dict[str, str]
    work: dict[str, int]


def stale_datasets(
    instance: dg.DagsterInstance,
    catalog: dict[str, CatalogEntry],
    exchange_engine: Engine,
    plan: DeliveryPlan,
    *,
    ingested: set[str],
    force: bool = False,
) -> Staleness:
    """Which datasets' exchange content moved. Datasets with a partition run this time are measured
    again; the others keep the slices read before the ingest."""
    stale: dict[str, str] = {}
    current: dict[str, str] = {}
    work: dict[str, int] = {}
    for dataset_id, entry in catalog.items():
        try:
            slices = (
                exchange_slices(exchange_engine, entry)
                if dataset_id in ingested
                else plan.slices.get(dataset_id, {})
            )
        except sa.exc.SQLAlchemyError as exc:
            # the exchange zone cannot be read (a database lost mid-run): recompute, and let the
            # jobs fail and the summary say so, rather than end the run here
            log.warning("%s: 无法读取交换表指纹，按有变化处理：%s", dataset_id, one_line_error(exc))
            stale[dataset_id] = ""
            continue
        fingerprint = exchange_fingerprint(slices)
        rows = sum(found.rows for found in slices.values())
        work[dataset_id] = rows * len(entry.items) + FIXED_CELLS
        if not force and governance_current(instance, dataset_id, fingerprint):
            current[dataset_id] = fingerprint
        else:
            stale[dataset_id] = fingerprint
    return Staleness(stale, current, work)


def record_current_datasets(instance: dg.DagsterInstance, current: dict[str, str]) -> None:
    """One observation per dataset whose governance and publish were not recomputed."""
    for dataset_id, fingerprint in current.items():
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=governance_key(dataset_id),
                description=(
                    f"{UNCHANGED_LABEL}：交换平台内容与上次治理时相同，治理、分类分级、供给未重算"
                ),
                metadata={"decision": UNCHANGED, "exchange_fingerprint": fingerprint},
            )
        )


def governance_selection(datasets: list[str], catalog: dict[str, CatalogEntry]) -> list:
    keys: list[dg.AssetKey] = []
    for dataset_id in datasets:
        keys += [governance_key(dataset_id), classification_key(dataset_id)]
        if not catalog[dataset_id].is_prohibited:
            keys.append(operation_key(dataset_id))
    return keys


def incremental_line(runs: dict) -> str:
    """The summary's line on what this run skipped, in words."""
    if runs.get("force"):
        return "--force：全部交付重新入库，全部数据集重新治理、分类分级和供给。"
    recomputed, unchanged = runs["datasets_recomputed"], runs["datasets_unchanged"]
    return (
        f"增量：{runs['skipped_unchanged']} 个分区{UNCHANGED_LABEL}，未重新入库；治理与供给重算 "
        f"{len(recomputed)} 个数据集，{len(unchanged)} 个未变化（publicdata run --force 全部重算）。"
    )
