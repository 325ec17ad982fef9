"""Incremental reruns: which deliveries the platform has already judged, and what the exchange platform
holds of each dataset.

A landing file needs no ingest run when the partition's latest ingest record is of the same file with
the same SHA-256 and its outcome still stands:

- loaded — and the exchange table's slice holds exactly that file's rows (a run that failed after the
  record was written, or a slice changed since, is run again);
- rejected whole — the same bytes are rejected the same way (its ticket is already open), except a
  file past a read limit or unreadable for the operating system: limits and permissions change
  without the file changing, so those are read again;
- held (a sharply shrinking redelivery) — until it is confirmed (``publicdata ingest confirm``).

The exchange fingerprint of a dataset (the SHA-256 of its slices: county, period, file checksum, rows)
is the data version of its governance: governance, classification and the operation publish are
recomputed only for datasets whose fingerprint moved.

No Dagster here: the runner and the landing sensor ask, the governance asset stamps its data version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.aggregation.statuses import STATUS_HELD, STATUS_LOADED, STATUS_REJECTED
from assets.common.catalog import CatalogEntry
from assets.landing.paths import LandingPath
from assets.landing.rejections import TOO_LARGE
from assets.storage.exchange_layout import existing_loads
from assets.storage.tables import ingest_confirmations, ingest_files

# rejections whose outcome depends on more than the file's bytes: always read again
REREAD_REASONS = frozenset({TOO_LARGE, "unreadable"})
UNCHANGED = "unchanged"
UNCHANGED_LABEL = "内容未变化"

PartitionId = tuple[str, str, str]  # dataset_id, county_code, period
SliceId = tuple[str, str]  # county_code, period


@dataclass(frozen=True)
class LatestIngest:
    """A partition's latest ingest record."""

    record_id: int
    relative_path: str
    checksum: str | None
    status: str
    reason_code: str | None
    rows_loaded: int
    batch_id: str


@dataclass(frozen=True)
class Slice:
    """What the exchange table holds of one (county, period): rows and delivery checksums."""

    rows: int
    checksums: frozenset[str]


def latest_ingests(engine: Engine) -> dict[PartitionId, LatestIngest]:
    latest = (
        sa.select(sa.func.max(ingest_files.c.id).label("id"))
        .group_by(ingest_files.c.dataset_id, ingest_files.c.county_code, ingest_files.c.period)
        .subquery()
    )
    query = sa.select(ingest_files).join(latest, ingest_files.c.id == latest.c.id)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return {
        (r["dataset_id"], r["county_code"], r["period"]): LatestIngest(
            record_id=r["id"],
            relative_path=r["relative_path"],
            checksum=r["checksum"],
            status=r["status"],
            reason_code=r["reason_code"],
            rows_loaded=int(r["rows_loaded"] or 0),
            batch_id=r["batch_id"],
        )
        for r in rows
    }


def confirmed_deliveries(engine: Engine) -> frozenset[tuple[str, str, str, str]]:
    """(dataset, county, period, checksum) of every confirmed held delivery."""
    c = ingest_confirmations.c
    query = sa.select(c.dataset_id, c.county_code, c.period, c.checksum)
    with engine.connect() as connection:
        return frozenset(tuple(row) for row in connection.execute(query))


def exchange_slices_query(loads: sa.Table) -> sa.Select:
    """Rows per (county, period, delivery file) of an exchange table: read from its loads
    (``storage.exchange_layout``)."""
    c = loads.c
    return sa.select(c.county_code, c.period, c.file_checksum, sa.func.sum(c.rows)).group_by(
        c.county_code, c.period, c.file_checksum
    )


def exchange_slices(engine: Engine, entry: CatalogEntry) -> dict[SliceId, Slice]:
    """Every slice of the dataset's exchange table (none when the table does not exist yet)."""
    loads = existing_loads(engine, entry)
    if loads is None:
        return {}
    query = exchange_slices_query(loads)
    found: dict[SliceId, tuple[int, set[str]]] = {}
    with engine.connect() as connection:
        for county, period, checksum, rows in connection.execute(query):
            count, checksums = found.setdefault((county, period), (0, set()))
            checksums.add(checksum)
            found[(county, period)] = (count + int(rows), checksums)
    return {key: Slice(rows, frozenset(sums)) for key, (rows, sums) in found.items()}


def exchange_fingerprint(slices: Mapping[SliceId, Slice]) -> str:
    """The dataset's exchange content as one SHA-256: its governance's data version."""
    digest = hashlib.sha256()
    for (county, period), found in sorted(slices.items()):
        line = f"{county}\t{period}\t{','.join(sorted(found.checksums))}\t{found.rows}\n"
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def unchanged_delivery(
    landing: LandingPath,
    checksum: str,
    latest: LatestIngest | None,
    slices: Mapping[SliceId, Slice],
    confirmed: Collection[tuple[str, str, str, str]] = (),
) -> bool:
    """Whether the platform has already judged this very file of the partition, as it stands."""
    if latest is None or latest.relative_path != landing.relative_path:
        return False
    if latest.checksum != checksum:
        return False
    if latest.status == STATUS_LOADED:
        found = slices.get((landing.county_code, landing.period))
        if found is None:  # a file with no loadable row leaves no slice
            return latest.rows_loaded == 0
        return found.checksums == {checksum} and found.rows == latest.rows_loaded
    if latest.status == STATUS_REJECTED:
        return latest.reason_code not in REREAD_REASONS
    if latest.status == STATUS_HELD:
        key = (landing.dataset_id, landing.county_code, landing.period, checksum)
        return key not in confirmed
    return False
