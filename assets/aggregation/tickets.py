"""Tickets of a county delivery at ingest: a landing file rejected whole opens the partition's
file-rejection ticket for its department; a file that loads closes it as verified."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.engine import Engine

from assets.aggregation.ingest import IngestOutcome
from assets.common.workdays import DuePolicy
from assets.tickets import intake
from assets.tickets.changes import TICKET_METADATA_KEYS, changed_now


def delivery_tickets(
    engine: Engine, outcome: IngestOutcome, *, due_policy: DuePolicy | None = None
) -> dict[str, list[str]]:
    """A file rejected whole opens (or updates, or reopens) the partition's file-rejection ticket
    for its department; a file that loads closes that ticket as verified. Returns the ticket ids
    by change (see :func:`ticket_changes`)."""
    landing = outcome.landing
    at = outcome.ingested_at.astimezone(UTC)
    changes: dict[str, list[str]] = {key: [] for key in TICKET_METADATA_KEYS}
    if outcome.loaded:
        closed = intake.close_file_rejection_tickets(
            engine,
            dataset_id=outcome.dataset_id,
            county_code=landing.county_code,
            period=landing.period,
            loaded_at=at,
        )
        changes["tickets_closed"] = [t.id for t in closed]
        return changes
    ticket = intake.open_file_rejection_ticket(
        engine,
        dataset_id=outcome.dataset_id,
        county_code=landing.county_code,
        department_id=outcome.department_id,
        period=landing.period,
        reason_code=outcome.reason_code or "unreadable",
        reason=outcome.reason or "",
        checked_at=at,
        due_policy=due_policy or DuePolicy(),
        relative_path=landing.relative_path,
    )
    key = changed_now(ticket, at)
    if key:
        changes[key].append(ticket.id)
    return changes
