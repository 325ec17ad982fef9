"""The ``operation_applications`` section of ``publicdata run --json`` / ``demo --json``: the operator's
authorization today, merchants by status, every application with its status and current due date, and
the grants live today."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy.engine import Engine

from assets.authorization.applications import list_applications
from assets.authorization.grants import all_merchants, list_grants, live_grants
from assets.authorization.operator import active_authorizations
from assets.common.workdays import WorkCalendar


def applications_summary(
    engine: Engine, today: date, calendar: WorkCalendar | None = None
) -> dict[str, object]:
    live = live_grants(engine, today)
    live_by_application: dict[str, list[str]] = {}
    application_of = {g.grant_id: g.application_id for g in list_grants(engine)}
    for grant in live:
        live_by_application.setdefault(application_of[grant.grant_id], []).append(grant.grant_id)
    applications = []
    for application in list_applications(engine):
        record = application.as_record(calendar, today)
        applications.append(
            {
                "application_id": application.application_id,
                "merchant_id": application.merchant_id,
                "status": application.status,
                "status_label": application.status_label,
                "due_date": record["due_date"],
                "due_date_provisional": record["due_date_provisional"],
                "datasets": application.datasets,
                "live_grants": live_by_application.get(application.application_id, []),
            }
        )
    active = active_authorizations(engine, today)
    return {
        "today": today.isoformat(),
        "operator_authorization": [a.as_record(today) for a in active],
        "merchants": dict(Counter(m.status for m in all_merchants(engine))),
        "applications": applications,
        "by_status": dict(Counter(a["status"] for a in applications)),
        "live_grants": [
            {
                "grant_id": g.grant_id,
                "merchant_id": g.merchant_id,
                "dataset": g.dataset_id,
                "columns": list(g.columns),
                "valid_to": g.valid_to.isoformat(),
            }
            for g in live
        ],
    }
