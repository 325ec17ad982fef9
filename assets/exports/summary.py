"""The monthly figures of products, releases and income for the supervision reports (第三十一条,
第三十二条): what was registered, requested, refused, released (with rows and recipients) and earned,
and how the income was distributed — counts and amounts only, never a data value."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.workdays import CHINA_TZ
from assets.products.fees import yuan
from assets.products.ledger import income_between
from assets.storage.tables import export_requests, products, release_register


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first day 00:00, next month's first day 00:00) in China time, as UTC instants: what the
    columns hold on SQLite, which keeps a time's wall clock and drops its zone (a bound written in
    China time put the month's first eight hours in the month before)."""
    start = month.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return (
        datetime.combine(start, time(), CHINA_TZ).astimezone(UTC),
        datetime.combine(end, time(), CHINA_TZ).astimezone(UTC),
    )


def monthly_summary(engine: Engine, month: date) -> dict[str, object]:
    start, end = month_bounds(month)
    with engine.connect() as connection:
        kinds = connection.execute(
            sa.select(products.c.kind, products.c.use, sa.func.count())
            .where(products.c.registered_at < end)
            .group_by(products.c.kind, products.c.use)
            .order_by(products.c.kind, products.c.use)
        ).all()
        new = connection.execute(
            sa.select(sa.func.count()).where(
                products.c.registered_at >= start, products.c.registered_at < end
            )
        ).scalar_one()
        requests = connection.execute(
            sa.select(export_requests.c.status, sa.func.count())
            .where(export_requests.c.requested_at >= start, export_requests.c.requested_at < end)
            .group_by(export_requests.c.status)
            .order_by(export_requests.c.status)
        ).all()
        releases = connection.execute(
            sa.select(
                release_register.c.use,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(release_register.c.rows), 0),
                sa.func.coalesce(sa.func.sum(release_register.c.price_fen), 0),
            )
            .where(release_register.c.released_at >= start, release_register.c.released_at < end)
            .group_by(release_register.c.use)
            .order_by(release_register.c.use)
        ).all()
    money = income_between(engine, start, end)
    return {
        "month": month.strftime("%Y-%m"),
        "products": {
            "registered_to_date": [
                {"kind": kind, "use": use, "count": int(n)} for kind, use, n in kinds
            ],
            "registered_this_month": int(new),
        },
        "export_requests": {status: int(n) for status, n in requests},
        "releases": [
            {"use": use, "count": int(n), "rows": int(rows), "price_fen": int(price)}
            for use, n, rows, price in releases
        ],
        "income_fen": money["income_fen"],
        "income_yuan": yuan(int(money["income_fen"])),
        "distribution": money["by_party"],
    }
