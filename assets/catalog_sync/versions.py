"""Catalog platform records: accepted registrations, rejections and versions (第九条).

Every change of the aggregated city catalog is a new version holding the whole snapshot, its content
hash and the diff to the version before (entries added, modified, retired; items added, modified,
retired per entry). An unchanged catalog makes no version. Versions are never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.catalog_sync.aggregate import (
    CityCatalog,
    Document,
    changes_empty,
    content_hash,
    entry_changes,
    entry_document,
)
from assets.catalog_sync.validation import ValidationResult
from assets.common.catalog import CatalogEntry
from assets.storage.engine import is_postgres
from assets.storage.tables import catalog_registrations, catalog_rejections, catalog_versions

# serializes version numbering across processes on PostgreSQL
_VERSION_LOCK = 640_505


def _aware(moment: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- diffs --------------------------------------------------------------------------------------


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> Document:
    """Entries added / modified / retired between two catalog snapshots, items per modified entry."""
    old_entries: Mapping[str, Any] = old.get("entries", {})
    new_entries: Mapping[str, Any] = new.get("entries", {})
    modified: dict[str, Document] = {}
    for key in sorted(set(old_entries) & set(new_entries)):
        before, after = old_entries[key], new_entries[key]
        change = entry_changes(before["entry"], after["entry"])
        change["counties_added"] = [c for c in after["counties"] if c not in before["counties"]]
        change["counties_retired"] = [c for c in before["counties"] if c not in after["counties"]]
        if before["differences"] != after["differences"]:
            change["county_differences"] = {
                "from": before["differences"],
                "to": after["differences"],
            }
        if not changes_empty(change):
            modified[key] = change
    return {
        "added": sorted(set(new_entries) - set(old_entries)),
        "modified": modified,
        "retired": sorted(set(old_entries) - set(new_entries)),
    }


def diff_counts(diff: Mapping[str, Any]) -> dict[str, int]:
    modified = diff.get("modified", {}).values()
    return {
        "entries_added": len(diff.get("added", [])),
        "entries_modified": len(diff.get("modified", {})),
        "entries_retired": len(diff.get("retired", [])),
        "items_added": sum(len(m["items_added"]) for m in modified),
        "items_modified": sum(len(m["items_modified"]) for m in modified),
        "items_retired": sum(len(m["items_retired"]) for m in modified),
    }


def diff_is_empty(diff: Mapping[str, Any]) -> bool:
    return not any(diff_counts(diff).values())


# --- versions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogVersion:
    version: int
    content_hash: str
    created_at: datetime
    entries: int
    diff: Document
    snapshot: Document

    @property
    def catalog(self) -> CityCatalog:
        return CityCatalog.from_snapshot(self.snapshot)

    @property
    def counts(self) -> dict[str, int]:
        return diff_counts(self.diff)


def _version_from_row(row: Any) -> CatalogVersion:
    return CatalogVersion(
        version=row.version,
        content_hash=row.content_hash,
        created_at=_aware(row.created_at),
        entries=row.entries,
        diff=row.diff,
        snapshot=row.snapshot,
    )


def _latest(connection: Connection) -> CatalogVersion | None:
    row = connection.execute(
        sa.select(catalog_versions).order_by(catalog_versions.c.version.desc()).limit(1)
    ).first()
    return _version_from_row(row) if row is not None else None


def latest_version(engine: Engine) -> CatalogVersion | None:
    with engine.connect() as connection:
        return _latest(connection)


def get_version(engine: Engine, version: int) -> CatalogVersion:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(catalog_versions).where(catalog_versions.c.version == version)
        ).first()
    if row is None:
        raise KeyError(f"目录版本 {version} 不存在")
    return _version_from_row(row)


def list_versions(engine: Engine) -> list[CatalogVersion]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(catalog_versions).order_by(catalog_versions.c.version)
        ).all()
    return [_version_from_row(row) for row in rows]


def record_version(
    engine: Engine, catalog: CityCatalog, *, now: datetime | None = None
) -> tuple[CatalogVersion, bool]:
    """The version of ``catalog``: a new one when it differs from the latest, else the latest.

    Returns ``(version, created)``. An empty catalog is recorded too (everything retired).
    """
    snapshot = catalog.snapshot()
    digest = content_hash(snapshot)
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_VERSION_LOCK})"))
        latest = _latest(connection)
        if latest is not None and latest.content_hash == digest:
            return latest, False
        if latest is None and not snapshot["entries"]:
            raise ValueError("全市目录为空且尚无历史版本：没有可记录的目录")
        diff = diff_snapshots(latest.snapshot if latest else {}, snapshot)
        record = CatalogVersion(
            version=(latest.version + 1) if latest else 1,
            content_hash=digest,
            created_at=now or datetime.now(UTC),
            entries=len(snapshot["entries"]),
            diff=diff,
            snapshot=snapshot,
        )
        connection.execute(
            catalog_versions.insert().values(
                version=record.version,
                content_hash=record.content_hash,
                created_at=record.created_at,
                entries=record.entries,
                diff=record.diff,
                snapshot=record.snapshot,
            )
        )
    return record, True


def diff_versions(engine: Engine, from_version: int | None, to_version: int | None) -> Document:
    """The diff between two recorded versions (``from_version`` 0 is the empty catalog).

    Defaults: ``to_version`` the latest, ``from_version`` the one before it.
    """
    latest = latest_version(engine)
    if latest is None:
        raise KeyError("尚无目录版本")
    to_record = latest if to_version is None else get_version(engine, to_version)
    start = to_record.version - 1 if from_version is None else from_version
    before: Mapping[str, Any] = {} if start <= 0 else get_version(engine, start).snapshot
    return diff_snapshots(before, to_record.snapshot)


# --- accepted registrations ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationSync:
    """What a registry scan did to the accepted registrations."""

    accepted: list[tuple[str, CatalogEntry]]  # every registration in force after the scan
    updated: list[str]  # keys newly accepted or changed
    retired: list[str]  # keys whose file was removed
    kept: list[str]  # keys whose update was rejected: the earlier registration stays in force
    new_rejections: list[ValidationResult]  # rejections not recorded before (to notify)


def sync_registrations(
    engine: Engine, results: Iterable[ValidationResult], *, now: datetime | None = None
) -> RegistrationSync:
    """Bring the accepted registrations in line with a validated registry scan.

    A valid registration replaces the accepted one; a rejected one leaves the accepted one in force
    and is recorded once per file content; a registration whose file is gone is retired.
    """
    moment = now or datetime.now(UTC)
    results = list(results)
    seen = {(r.county_code, r.dataset_id) for r in results}
    updated: list[str] = []
    retired: list[str] = []
    kept: list[str] = []
    new_rejections: list[ValidationResult] = []
    table = catalog_registrations
    with engine.begin() as connection:
        if is_postgres(engine):
            # the sensor's run and a CLI publish must not interleave their scans
            connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_VERSION_LOCK})"))
        stored = {
            (row.county_code, row.dataset_id): row.content_hash
            for row in connection.execute(
                sa.select(table.c.county_code, table.c.dataset_id, table.c.content_hash)
            )
        }
        for result in results:
            key = (result.county_code, result.dataset_id)
            if result.valid:
                assert result.entry is not None
                if stored.get(key) == result.content_hash:
                    continue
                values = {
                    "department_id": result.entry.provider,
                    "content_hash": result.content_hash,
                    "document": entry_document(result.entry),
                    "source": result.source,
                    "accepted_at": moment,
                }
                if key in stored:
                    connection.execute(
                        table.update()
                        .where(table.c.county_code == key[0], table.c.dataset_id == key[1])
                        .values(**values)
                    )
                else:
                    connection.execute(
                        table.insert().values(county_code=key[0], dataset_id=key[1], **values)
                    )
                updated.append(result.key)
                continue
            if key in stored:
                kept.append(result.key)
            known = connection.execute(
                sa.select(sa.func.count())
                .select_from(catalog_rejections)
                .where(
                    catalog_rejections.c.county_code == result.county_code,
                    catalog_rejections.c.dataset_id == result.dataset_id,
                    catalog_rejections.c.content_hash == result.content_hash,
                )
            ).scalar_one()
            if not known:
                connection.execute(
                    catalog_rejections.insert().values(
                        county_code=result.county_code,
                        dataset_id=result.dataset_id,
                        department_id=result.department_id,
                        content_hash=result.content_hash,
                        source=result.source,
                        reasons=list(result.reasons),
                        rejected_at=moment,
                    )
                )
                new_rejections.append(result)
        for key in sorted(set(stored) - seen):
            connection.execute(
                table.delete().where(table.c.county_code == key[0], table.c.dataset_id == key[1])
            )
            retired.append(f"{key[0]}/{key[1]}")
        accepted = [
            (row.county_code, CatalogEntry.model_validate(row.document))
            for row in connection.execute(
                sa.select(table.c.county_code, table.c.document).order_by(
                    table.c.dataset_id, table.c.county_code
                )
            )
        ]
    return RegistrationSync(
        accepted=accepted,
        updated=updated,
        retired=retired,
        kept=kept,
        new_rejections=new_rejections,
    )


def set_rejection_ticket(engine: Engine, result: ValidationResult, ticket_id: str) -> None:
    """Note the ticket a rejection was sent as."""
    with engine.begin() as connection:
        connection.execute(
            catalog_rejections.update()
            .where(
                catalog_rejections.c.county_code == result.county_code,
                catalog_rejections.c.dataset_id == result.dataset_id,
                catalog_rejections.c.content_hash == result.content_hash,
            )
            .values(ticket_id=ticket_id)
        )


def registry_already_processed(engine: Engine, fingerprint: dict[str, str]) -> bool:
    """Whether the platform records have already handled exactly this registry state: every file's
    content was accepted or rejected before, and every accepted registration still has its file.
    (A sensor without a cursor — a new deployment, a reset — asks this before starting a run.)"""
    with engine.connect() as connection:
        accepted = {
            f"{row.county_code}/{row.dataset_id}": row.content_hash
            for row in connection.execute(
                sa.select(
                    catalog_registrations.c.county_code,
                    catalog_registrations.c.dataset_id,
                    catalog_registrations.c.content_hash,
                )
            )
        }
        rejected = {
            (f"{row.county_code}/{row.dataset_id}", row.content_hash)
            for row in connection.execute(
                sa.select(
                    catalog_rejections.c.county_code,
                    catalog_rejections.c.dataset_id,
                    catalog_rejections.c.content_hash,
                )
            )
        }
    if set(accepted) - set(fingerprint):
        return False  # a retirement not yet handled
    return all(
        accepted.get(key) == content or (key, content) in rejected
        for key, content in fingerprint.items()
    )
