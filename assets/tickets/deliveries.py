"""Notices to departments in the platform records: which tickets wait for one, each channel's delivery
(``quality_ticket_deliveries``), and the history entry of a ticket once a channel delivered it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.notify import Delivery
from assets.storage.tables import quality_ticket_deliveries, quality_tickets
from assets.tickets import rules
from assets.tickets.rules import Ticket
from assets.tickets.store import from_row, save, select_for_update, utc


def tickets_pending_notice(engine: Engine, *, department_id: str | None = None) -> list[Ticket]:
    """Tickets with an event (new, reopened, escalated) the department has not been told about."""
    t = quality_tickets
    conditions = [t.c.notice_pending.is_not(None)]
    if department_id:
        conditions.append(t.c.department_id == department_id)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(t).where(*conditions).order_by(t.c.department_id, t.c.county_code, t.c.id)
        ).all()
    return [from_row(row) for row in rows]


def record_deliveries(
    engine: Engine,
    *,
    department_id: str,
    ticket_ids: Sequence[str],
    deliveries: Sequence[Delivery],
    sent_at: datetime,
) -> None:
    """Log each channel's delivery; tickets delivered on at least one channel stop being pending."""
    sent_at = utc(sent_at)
    ok = [d for d in deliveries if d.ok]
    with engine.begin() as connection:
        if deliveries:
            connection.execute(
                sa.insert(quality_ticket_deliveries),
                [
                    {
                        "sent_at": sent_at,
                        "department_id": department_id,
                        "channel": d.channel,
                        "ticket_ids": list(ticket_ids),
                        "ok": d.ok,
                        "error": d.error,
                    }
                    for d in deliveries
                ],
            )
        if not ok:
            return
        channels = "、".join(d.channel.split("://", 1)[0] for d in ok)
        rows = connection.execute(
            select_for_update(quality_tickets.c.id.in_(list(ticket_ids)))
        ).all()
        for before in map(from_row, rows):
            after = rules.record_notified(
                before, at=sent_at, comment=f"已通过 {channels} 通知数源部门"
            )
            save(connection, before, after)


def delivery_log(engine: Engine, *, department_id: str | None = None) -> list[dict[str, Any]]:
    t = quality_ticket_deliveries
    query = sa.select(t).order_by(t.c.id)
    if department_id:
        query = query.where(t.c.department_id == department_id)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
