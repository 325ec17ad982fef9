"""Income of releases and its distribution (第二十五条): each release of a commercial product records its
price as income, split by the configured shares into ledger lines that sum to it exactly (integer fen,
largest remainder). A public-good release records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.authorization.records import china_time, fetch_all
from assets.common.city import City
from assets.products.fees import FeeConfig, parties, split_largest_remainder, yuan
from assets.products.register import Product
from assets.storage.tables import income_ledger, product_income


@dataclass(frozen=True)
class LedgerLine:
    release_id: str
    party: str
    party_label: str
    weight: str
    amount_fen: int

    def as_record(self) -> dict[str, object]:
        return {
            "release_id": self.release_id,
            "party": self.party,
            "party_label": self.party_label,
            "weight": self.weight,
            "amount_fen": self.amount_fen,
            "amount_yuan": yuan(self.amount_fen),
        }


def record_income(
    connection: Connection,
    *,
    release_id: str,
    product: Product,
    config: FeeConfig,
    city: City,
    county_rows: Mapping[str, int],
    department_ids: list[str],
    at: datetime,
) -> list[LedgerLine]:
    """In the release's transaction: the income of a commercial release and its ledger lines (none
    for a public-good product, or a commercial one whose price is 0)."""
    amount = product.price_fen
    if product.use != "commercial" or amount == 0:
        return []
    counties = {
        county.code: (county.name, int(county_rows.get(county.code, 0)))
        for county in city.counties
        if not county_rows or county_rows.get(county.code, 0) > 0
    }
    departments = {}
    for department_id in department_ids:
        try:
            departments[department_id] = city.department(department_id).name
        except KeyError:
            departments[department_id] = department_id
    people = parties(
        config,
        city_label=city.city.data_bureau,
        counties=counties,
        departments=departments,
    )
    amounts = split_largest_remainder(amount, [(p.party, p.weight) for p in people])
    connection.execute(
        product_income.insert().values(
            release_id=release_id,
            product_id=product.product_id,
            merchant_id=product.merchant_id,
            amount_fen=amount,
            cost_fen=product.cost_fen,
            margin_bp=product.margin_bp,
            rule=config.as_record(),
            recorded_at=at,
        )
    )
    lines = [
        LedgerLine(release_id, p.party, p.label, str(p.weight), amounts[p.party])
        for p in people
        if p.party in amounts
    ]
    connection.execute(
        income_ledger.insert(),
        [
            {
                "release_id": line.release_id,
                "party": line.party,
                "party_label": line.party_label,
                "weight": line.weight,
                "amount_fen": line.amount_fen,
                "recorded_at": at,
            }
            for line in lines
        ],
    )
    return lines


def ledger(engine: Engine, *, release_id: str | None = None) -> list[LedgerLine]:
    query = sa.select(income_ledger).order_by(income_ledger.c.id)
    if release_id is not None:
        query = query.where(income_ledger.c.release_id == release_id)
    return [
        LedgerLine(r["release_id"], r["party"], r["party_label"], r["weight"], r["amount_fen"])
        for r in fetch_all(engine, query)
    ]


def income(engine: Engine, *, release_id: str | None = None) -> list[dict[str, object]]:
    query = sa.select(product_income).order_by(product_income.c.id)
    if release_id is not None:
        query = query.where(product_income.c.release_id == release_id)
    return [
        {
            "release_id": r["release_id"],
            "product_id": r["product_id"],
            "merchant_id": r["merchant_id"],
            "amount_fen": r["amount_fen"],
            "amount_yuan": yuan(r["amount_fen"]),
            "cost_fen": r["cost_fen"],
            "margin": r["margin_bp"] / 10_000,
            "recorded_at": china_time(r["recorded_at"]),
        }
        for r in fetch_all(engine, query)
    ]


def income_between(engine: Engine, start: datetime, end: datetime) -> dict[str, object]:
    """Income and its distribution by party for releases recorded in [start, end) (aware times;
    compared as UTC, what SQLite's columns hold)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    with engine.connect() as connection:
        total = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(product_income.c.amount_fen), 0)).where(
                product_income.c.recorded_at >= start, product_income.c.recorded_at < end
            )
        ).scalar_one()
        by_party = connection.execute(
            sa.select(
                income_ledger.c.party,
                income_ledger.c.party_label,
                sa.func.sum(income_ledger.c.amount_fen),
            )
            .where(income_ledger.c.recorded_at >= start, income_ledger.c.recorded_at < end)
            .group_by(income_ledger.c.party, income_ledger.c.party_label)
            .order_by(income_ledger.c.party)
        ).all()
    return {
        "income_fen": int(total),
        "by_party": [
            {"party": p, "party_label": label, "amount_fen": int(amount)}
            for p, label, amount in by_party
        ],
    }


__all__ = ["LedgerLine", "income", "income_between", "ledger", "record_income"]
