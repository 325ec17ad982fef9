"""What a check or an ingest did to tickets, by change, under the metadata keys run summaries read."""

from __future__ import annotations

from datetime import datetime

from assets.tickets.intake import SyncResult
from assets.tickets.rules import Action, Ticket

TICKET_METADATA_KEYS = ("tickets_opened", "tickets_reopened", "tickets_updated", "tickets_closed")


def ticket_changes(result: SyncResult) -> dict[str, list[str]]:
    """Ticket ids by what a check did to them, under the metadata keys the run summary reads."""
    return {
        "tickets_opened": list(result.opened),
        "tickets_reopened": list(result.reopened),
        "tickets_updated": list(result.updated),
        "tickets_closed": list(result.closed),
    }


_CHANGE_KEYS = {
    Action.OPEN: "tickets_opened",
    Action.REOPEN: "tickets_reopened",
    Action.UPDATE: "tickets_updated",
}


def changed_now(ticket: Ticket, at: datetime) -> str | None:
    last = ticket.history[-1] if ticket.history else None
    if last is None or last.at != at:
        return None
    return _CHANGE_KEYS.get(last.action)
