"""A dataset's governed file desensitized and published a row group at a time.

k-anonymity is decided over the whole dataset, but it needs only the quasi-identifier columns (and
the county): those are read whole, the plan made (``plan_desensitization``), and then the governed
rows are read a row group at a time, desensitized by the plan and handed to the zone writer, which
leak-scans and loads each chunk into its staging table and swaps the table in once all are in. The
outcome is the one-shot ``desensitize`` + ``publish`` of the same rows; only a chunk of rows is in
memory at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import pandas as pd
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.desensitization.desensitize import (
    ROW_IDENTIFYING_PROVENANCE,
    DesensitizationReport,
    desensitize_batches,
    merge_transformations,
    plan_desensitization,
)
from assets.desensitization.plan import DesensitizationPlan, plan_columns, plan_inputs
from assets.desensitization.policy import DesensitizationPolicy
from assets.governance.records import (
    governed_columns,
    governed_slices,
    iter_governed,
    iter_governed_ranges,
    read_governed,
)
from assets.operation.carry import Carry, CarryMismatch, plan_carry
from assets.operation.guards import emptied_columns
from assets.operation.writer import (
    PublishOutcome,
    emptied_published_columns,
    publish_batches,
    published_columns,
)
from assets.operation.zone_scan import PublishedScan, scan_published
from assets.storage.arrow_read import dispose_connections

PREVIEW_ROWS = 5

log = logging.getLogger(__name__)


@dataclass
class PublishedRows:
    """What the asset shows of the published rows, gathered as the chunks go by: the columns, the
    first rows, and the columns emptied in every row (``guards.emptied_columns`` of all rows)."""

    columns: list[str] = field(default_factory=list)
    head: pd.DataFrame | None = None
    rows: int = 0
    # counties carried over from the published table (``operation.carry``): not seen here, so the
    # emptied columns are measured in the zone
    carried: tuple[str, ...] = ()
    # the carried counties' rows scanned in the zone while the others were desensitized and loaded
    # (``publish_governed(scan_carried=True)``)
    carried_scan: PublishedScan | None = None
    _blank: set[str] | None = None

    def __call__(self, frame: pd.DataFrame) -> None:
        if self.head is None:
            self.columns = [str(c) for c in frame.columns]
            self.head = frame.head(PREVIEW_ROWS).copy()
        elif len(self.head) < PREVIEW_ROWS and len(frame):
            more = frame.head(PREVIEW_ROWS - len(self.head))
            self.head = pd.concat([self.head, more], ignore_index=True)
        if len(frame):
            blank = set(emptied_columns(frame))
            self._blank = blank if self._blank is None else self._blank & blank
        self.rows += len(frame)

    @property
    def emptied(self) -> list[str]:
        blank = self._blank or set()
        return [c for c in self.columns if c in blank]

    def measure_emptied(self, engine: Engine, dataset_id: str) -> list[str]:
        """The emptied columns of the whole published table: from the chunks seen, unless rows
        were carried over (then measured in the zone)."""
        if not self.carried:
            return self.emptied
        measured = emptied_published_columns(engine, dataset_id)
        return measured[0] if measured is not None else []

    def measure_leaks(self, engine: Engine, dataset_id: str) -> PublishedScan | None:
        """The leak scan of the whole published table. Every chunk seen here was scanned before it
        was written (``guards.assert_no_leak``: a finding stops the publish before the swap). Rows
        carried over were not seen: those are read back and scanned in the zone
        (``zone_scan.scan_published`` of the carried counties), and the scan counts both. None when
        no table is published."""
        if not self.carried:
            return PublishedScan(rows=self.rows, columns=len(self.columns), found={}, zone_rows=0)
        carried = self.carried_scan or scan_published(engine, dataset_id, self.carried)
        if carried is None:
            return None
        return replace(carried, rows=carried.rows + self.rows)


def plan_governed(
    entry: CatalogEntry,
    path: Path,
    *,
    levels: Mapping[str, str] | None,
    detected: Mapping[str, str] | None,
    policy: DesensitizationPolicy,
    key: bytes,
    city: City,
) -> DesensitizationPlan:
    """The desensitization plan of the governed file at ``path``, from the whole dataset's
    quasi-identifiers read as Arrow text (the one part read whole)."""
    columns = governed_columns(path)
    plans = plan_columns(entry, columns, levels=levels, policy=policy, detected=detected)
    return plan_desensitization(
        read_governed(path, plan_inputs(plans, columns), arrow_strings=True),
        entry,
        columns=columns,
        levels=levels,
        policy=policy,
        key=key,
        detected=detected,
        city=city,
    )


def publish_governed(
    engine: Engine,
    entry: CatalogEntry,
    path: Path,
    *,
    levels: Mapping[str, str] | None,
    detected: Mapping[str, str] | None,
    policy: DesensitizationPolicy,
    key: bytes,
    city: City,
    scan_carried: bool = False,
) -> tuple[PublishOutcome, DesensitizationReport, PublishedRows]:
    """Desensitize the governed file at ``path`` and replace the dataset's operation table with it.

    ``scan_carried``: the leak check will want the carried counties' rows scanned
    (``PublishedRows.measure_leaks``). They are then scanned in the zone on a thread of their own
    while the other counties are desensitized and loaded — the scan waits on the database, which
    lets the desensitizing go on — instead of after the swap."""
    columns = governed_columns(path)
    plan = plan_governed(
        entry, path, levels=levels, detected=detected, policy=policy, key=key, city=city
    )
    carried = plan_carry(
        engine,
        entry.dataset_id,
        plan,
        path,
        governed_slices(path),
        published_columns(engine, entry.dataset_id),
        [c for c in columns if c not in ROW_IDENTIFYING_PROVENANCE],
    )
    if carried.counties:
        try:
            return _publish(engine, entry, plan, path, carried, scan_carried=scan_carried)
        except CarryMismatch:  # the published table is not what the keys say: all again
            carried = replace(carried, counties=(), ranges=((0, plan.rows_in),))
    return _publish(engine, entry, plan, path, carried)


def _publish(
    engine: Engine,
    entry: CatalogEntry,
    plan: DesensitizationPlan,
    path: Path,
    carried: Carry,
    *,
    scan_carried: bool = False,
) -> tuple[PublishOutcome, DesensitizationReport, PublishedRows]:
    seen = PublishedRows(carried=carried.counties)
    if not carried.counties:
        batches = desensitize_batches(plan, iter_governed(path))
        outcome = publish_batches(engine, entry, batches, observe=seen, carried=carried)
        return outcome, batches.report, seen
    # only the rows of the counties not carried over
    batches = desensitize_batches(plan, iter_governed_ranges(path, carried.ranges), positioned=True)
    if not scan_carried:
        outcome = publish_batches(engine, entry, batches, observe=seen, carried=carried)
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="carried-scan") as pool:
            # the published table's carried rows, which the writer copies into the new one as they
            # are (``carry.copy_counties``, same columns and types); the scan may end on the new
            # table once it is swapped in, whose carried rows are the same
            scanning = pool.submit(_scan_carried, engine, entry.dataset_id, carried.counties)
            outcome = publish_batches(engine, entry, batches, observe=seen, carried=carried)
            try:
                scan = scanning.result()
            except Exception as exc:  # noqa: BLE001 - the table is swapped in: scan it again below
                log.warning(
                    "%s: 沿用行的泄露扫描失败（%s），发布后重新扫描",
                    entry.dataset_id,
                    type(exc).__name__,
                )
                scan = None
        # the rows scanned are the rows copied, or the scan is done again on the new table
        if scan is not None and scan.zone_rows == outcome.rows - seen.rows:
            seen.carried_scan = scan
    # the carried counties' columns got what they got when published
    done = dict(batches.report.transformations)
    for county in carried.counties:
        merge_transformations(done, carried.transformations.get(county, {}))
    return outcome, replace(batches.report, transformations=MappingProxyType(done)), seen


def _scan_carried(
    engine: Engine, dataset_id: str, counties: tuple[str, ...]
) -> PublishedScan | None:
    """``scan_published`` of the carried counties on a thread of its own, which closes the
    connections it kept (``arrow_read`` keeps PostgreSQL's per thread) before it ends."""
    try:
        return scan_published(engine, dataset_id, counties)
    finally:
        dispose_connections()
