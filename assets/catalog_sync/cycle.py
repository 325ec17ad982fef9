"""The catalog cycle the CLI and the Dagster asset run: scan the registry, validate (rejections back to
the departments as quality tickets), accept, aggregate, version, publish, notify the subscribers."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.catalog_sync.aggregate import CityCatalog, aggregate, prohibited_datasets
from assets.catalog_sync.publish import (
    JSON_NAME,
    Publication,
    public_dir,
    record_publication,
    write_publication,
)
from assets.catalog_sync.registry import scan_registry, seed_registry
from assets.catalog_sync.render import public_diff, public_view
from assets.catalog_sync.subscribers import change_event, deliver_change_event
from assets.catalog_sync.validation import ValidationResult, rejection_notice, validate_registry
from assets.catalog_sync.versions import (
    CatalogVersion,
    RegistrationSync,
    diff_counts,
    get_version,
    latest_version,
    record_version,
    set_rejection_ticket,
    sync_registrations,
)
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import City
from assets.common.notify import Delivery
from assets.common.quality import Dimension, Severity
from assets.common.workdays import DuePolicy, china_date
from assets.tickets import intake
from assets.tickets.rules import Finding

log = logging.getLogger(__name__)

AUDIT_PUBLISH = "catalog_publish"
REGISTRATION_RULE_ID = "catalog.registration"


def _open_registration_ticket(
    engine: Engine, result: ValidationResult, city: City, at: datetime
) -> str | None:
    """A rejected registration goes to its department as a quality ticket."""
    if result.department_id is None or result.county_code not in city.county_codes:
        return None  # nobody to route it to; the rejection record keeps the reasons
    finding = Finding(
        rule_id=REGISTRATION_RULE_ID,
        expectation="资源目录条目符合第八条登记要求",
        columns=(),
        dimension=Dimension.CONFORMITY,
        severity=Severity.MEDIUM,
        failed_count=len(result.reasons),
        total=1,
        examples=tuple({"source_row": None, "value": reason} for reason in result.reasons),
        fix=rejection_notice(result, city),
    )
    outcome = intake.sync_findings(
        engine,
        dataset_id=result.dataset_id,
        county_code=result.county_code,
        department_id=result.department_id,
        period=china_date(at).isoformat(),
        findings=[finding],
        passed_rule_ids=(),
        checked_at=at,
        due_policy=DuePolicy(),
    )
    return outcome.tickets[0].id if outcome.tickets else None


def _close_registration_tickets(
    engine: Engine, accepted: Sequence[ValidationResult], at: datetime
) -> int:
    """A corrected registration was accepted: close its open registration ticket as verified."""
    closed = 0
    for result in accepted:
        assert result.entry is not None
        outcome = intake.sync_findings(
            engine,
            dataset_id=result.dataset_id,
            county_code=result.county_code,
            department_id=result.entry.provider,
            period=china_date(at).isoformat(),
            findings=[],
            passed_rule_ids=[REGISTRATION_RULE_ID],
            checked_at=at,
            due_policy=DuePolicy(),
        )
        closed += len(outcome.closed)
    return closed


# --- the cycle ----------------------------------------------------------------------------------


@dataclass
class CatalogCycle:
    """What one run of the catalog cycle did."""

    results: list[ValidationResult]
    sync: RegistrationSync
    catalog: CityCatalog
    version: CatalogVersion | None
    created: bool
    publication: Publication | None = None
    public_diff: dict[str, Any] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    tickets_closed: int = 0

    @property
    def rejected(self) -> list[ValidationResult]:
        return [r for r in self.results if not r.valid]

    @property
    def counts(self) -> dict[str, int]:
        return diff_counts(self.version.diff) if self.version and self.created else {}


def run_catalog_cycle(
    data_dir: Path,
    engine: Engine,
    city: City,
    *,
    subscribers: Sequence[str] = (),
    now: datetime | None = None,
    tickets: bool = True,
    actor: str = audit.SYSTEM_ACTOR,
    actor_role: str | None = None,
    base_url: str | None = None,
    prohibited: Collection[str] | None = None,
) -> CatalogCycle:
    """Validate the registry, accept, aggregate, version, publish and notify.

    ``prohibited``: the datasets the city classifies 禁止开放 (default: those of the shipped
    catalog); no registration opens them.

    ``engine`` is the platform records' engine (migrated). Without a change no version is made and
    nothing is sent; the current version's files are rewritten only if missing. A new version, and
    every publication a person asked for (``actor``, checked by the caller), is audited.
    ``base_url`` is where ``<data dir>/operation/`` is served (the catalog's addresses and IRIs).
    """
    moment = now or datetime.now(UTC)
    data_dir = Path(data_dir)
    results = validate_registry(scan_registry(data_dir), city)
    sync = sync_registrations(engine, results, now=moment)

    opened: list[str] = []
    closed = 0
    if tickets:
        for rejection in sync.new_rejections:
            ticket_id = _open_registration_ticket(engine, rejection, city, moment)
            if ticket_id is not None:
                set_rejection_ticket(engine, rejection, ticket_id)
                opened.append(ticket_id)
        updated = set(sync.updated)
        closed = _close_registration_tickets(
            engine, [r for r in results if r.valid and r.key in updated], moment
        )
    for rejection in sync.new_rejections:
        log.warning(
            "catalog registration %s rejected: %s", rejection.key, "；".join(rejection.reasons)
        )

    if prohibited is None:
        prohibited = prohibited_datasets(load_catalog(SHIPPED_CATALOG_DIR))
    catalog = aggregate(sync.accepted, city, prohibited=prohibited)
    previous = latest_version(engine)
    if previous is None and not catalog.entries:
        return CatalogCycle(
            results, sync, catalog, None, False, tickets=opened, tickets_closed=closed
        )
    version, created = record_version(engine, catalog, now=moment)
    cycle = CatalogCycle(
        results, sync, catalog, version, created, tickets=opened, tickets_closed=closed
    )
    before = previous if created else _version_before(engine, version)
    cycle.public_diff = public_diff(before.snapshot if before else None, version.snapshot)
    current = public_dir(data_dir) / f"v{version.version:04d}" / JSON_NAME
    if created or not current.exists():
        view = public_view(engine, version, city, base_url)
        cycle.publication = write_publication(data_dir, version, view, cycle.public_diff)
        record_publication(engine, cycle.publication, data_dir, cycle.public_diff, now=moment)
    if created:
        event = change_event(version, cycle.public_diff, city)
        cycle.deliveries = deliver_change_event(engine, event, subscribers, now=moment)
    if created or actor != audit.SYSTEM_ACTOR:
        with engine.begin() as connection:
            audit.record(
                connection,
                actor=actor,
                role=actor_role,
                action=AUDIT_PUBLISH,
                target=f"catalog/v{version.version}",
                detail={"new_version": created, "rejected": len(cycle.rejected)},
                at=moment,
            )
    return cycle


def seed_new_platform(data_dir: Path, engine: Engine, city: City, catalog_dir: Path) -> int:
    """Bootstrap: a platform that has never published a catalog and whose registry is empty gets
    every entry of the pipeline catalog (``catalog_dir``) registered for every county, as the demo
    needs. Once a version exists an empty registry means everything was retired, and stays so.

    Returns the number of registration files written.
    """
    if latest_version(engine) is not None:
        return 0
    return seed_registry(Path(data_dir), city, Path(catalog_dir))


def _version_before(engine: Engine, version: CatalogVersion) -> CatalogVersion | None:
    return get_version(engine, version.version - 1) if version.version > 1 else None
