"""The product register (第二十三条, 第二十四条): a merchant's data products, data services and models, each
with its scenario and use — public-good (公益, free) or commercial (产业/行业, paid at cost-plus).

Cost items (数据加工、算力支持、合规支持 …, 第十四条) are recorded by the operator; the price of a commercial
product is always computed from them (``fees.price_fen``), never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.accounts.authorize import require
from assets.audit import log as audit
from assets.authorization.records import china_time, fetch_all, fetch_one, next_id, utc_now
from assets.products.fees import FeeConfig, FeeError, check_margin, price_fen, to_bp, yuan
from assets.storage.tables import merchants, product_costs, products

KIND_LABELS = {"data_product": "数据产品", "data_service": "数据服务", "model": "模型"}
USE_LABELS = {
    "public_good": "公益（公共治理、公益事业，无偿）",
    "commercial": "产业（有偿，保本微利）",
}
COST_ITEMS = ("数据加工", "算力支持", "合规支持", "平台运维", "其他")

REGISTER = "product_register"
COST = "product_cost_record"
RETIRE = "product_retire"


class ProductError(ValueError):
    """A product request the rules do not allow (message in Chinese)."""


@dataclass(frozen=True)
class CostItem:
    item: str
    amount_fen: int
    basis: str
    recorded_by: str
    recorded_at: datetime

    def as_record(self) -> dict[str, object]:
        return {
            "item": self.item,
            "amount_fen": self.amount_fen,
            "amount_yuan": yuan(self.amount_fen),
            "basis": self.basis,
            "recorded_by": self.recorded_by,
            "recorded_at": china_time(self.recorded_at),
        }


@dataclass(frozen=True)
class Product:
    product_id: str
    merchant_id: str
    name: str
    kind: str
    scenario: str
    use: str
    description: str
    margin_bp: int
    status: str
    registered_by: str
    registered_at: datetime
    costs: tuple[CostItem, ...] = ()

    @property
    def cost_fen(self) -> int:
        return sum(c.amount_fen for c in self.costs)

    @property
    def price_fen(self) -> int:
        """0 for a public-good product; costs × (1 + margin) for a commercial one."""
        return 0 if self.use == "public_good" else price_fen(self.cost_fen, self.margin_bp)

    def as_record(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "merchant_id": self.merchant_id,
            "name": self.name,
            "kind": self.kind,
            "kind_label": KIND_LABELS[self.kind],
            "scenario": self.scenario,
            "use": self.use,
            "use_label": USE_LABELS[self.use],
            "description": self.description,
            "margin": self.margin_bp / 10_000,
            "status": self.status,
            "costs": [c.as_record() for c in self.costs],
            "cost_fen": self.cost_fen,
            "price_fen": self.price_fen,
            "price_yuan": yuan(self.price_fen),
            "registered_by": self.registered_by,
            "registered_at": china_time(self.registered_at),
        }


def _target(product_id: str) -> str:
    return f"products/{product_id}"


def register_product(
    engine: Engine,
    account: str,
    config: FeeConfig,
    *,
    merchant_id: str,
    name: str,
    kind: str,
    scenario: str,
    use: str,
    description: str = "",
    margin: float | str | None = None,
) -> Product:
    """A new product of ``merchant_id`` (the merchant's own user, or the operator, registers it)."""
    actor = require(engine, account, "products.register", merchant_id=merchant_id)
    if kind not in KIND_LABELS:
        raise ProductError(f"产品类型 {kind} 不在 {'、'.join(KIND_LABELS)} 之中")
    if use not in USE_LABELS:
        raise ProductError(f"用途 {use} 不在 {'、'.join(USE_LABELS)} 之中")
    if not name.strip() or not scenario.strip():
        raise ProductError("须写明产品名称和应用场景")
    if use == "public_good":
        margin_bp = 0
    else:
        try:
            margin_bp = check_margin(
                config.default_margin_bp if margin is None else to_bp(margin), config
            )
        except FeeError as exc:
            raise ProductError(str(exc)) from None
    merchant = fetch_one(
        engine, sa.select(merchants.c.status).where(merchants.c.merchant_id == merchant_id)
    )
    if merchant is None or merchant["status"] != "approved":
        raise ProductError(f"数据商 {merchant_id} 不是已注册的数据商")
    now = utc_now()
    with engine.begin() as connection:
        product_id = next_id(connection, products, "product_id", "p")
        connection.execute(
            products.insert().values(
                product_id=product_id,
                merchant_id=merchant_id,
                name=name.strip(),
                kind=kind,
                scenario=scenario.strip(),
                use=use,
                description=description.strip(),
                margin_bp=margin_bp,
                status="active",
                registered_by=actor.name,
                registered_at=now,
            )
        )
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=REGISTER,
            target=_target(product_id),
            detail={"merchant": merchant_id, "kind": kind, "use": use, "margin_bp": margin_bp},
            at=now,
        )
    return get_product(engine, product_id)


def record_cost(
    engine: Engine, account: str, product_id: str, *, item: str, amount_fen: int, basis: str
) -> Product:
    """One cost item of a commercial product (the operator's 数据加工、算力支持、合规支持 …)."""
    actor = require(engine, account, "products.price")
    product = get_product(engine, product_id)
    if product.use == "public_good":
        raise ProductError(f"{product.name}（{product_id}）为公益用途，无偿使用，不记录成本定价")
    if item not in COST_ITEMS:
        raise ProductError(f"成本项 {item} 不在 {'、'.join(COST_ITEMS)} 之中")
    if amount_fen <= 0:
        raise ProductError("成本金额应大于 0")
    if not basis.strip():
        raise ProductError("须写明成本依据")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            product_costs.insert().values(
                product_id=product_id,
                item=item,
                amount_fen=amount_fen,
                basis=basis.strip(),
                recorded_by=actor.name,
                recorded_at=now,
            )
        )
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=COST,
            target=_target(product_id),
            detail={"item": item, "amount_fen": amount_fen},
            at=now,
        )
    return get_product(engine, product_id)


def retire_product(engine: Engine, account: str, product_id: str, *, reason: str) -> Product:
    product = get_product(engine, product_id)
    actor = require(engine, account, "products.register", merchant_id=product.merchant_id)
    if not reason.strip():
        raise ProductError("须写明下架理由")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            products.update().where(products.c.product_id == product_id).values(status="retired")
        )
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=RETIRE,
            target=_target(product_id),
            reason=reason.strip(),
            at=now,
        )
    return get_product(engine, product_id)


def _costs(connection_or_engine: Engine | Connection, ids: list[str]) -> dict[str, list[CostItem]]:
    query = (
        sa.select(product_costs)
        .where(product_costs.c.product_id.in_(ids))
        .order_by(product_costs.c.id)
    )
    if isinstance(connection_or_engine, Engine):
        rows = fetch_all(connection_or_engine, query)
    else:
        rows = [dict(r) for r in connection_or_engine.execute(query).mappings()]
    out: dict[str, list[CostItem]] = {}
    for row in rows:
        out.setdefault(row["product_id"], []).append(
            CostItem(
                row["item"], row["amount_fen"], row["basis"], row["recorded_by"], row["recorded_at"]
            )
        )
    return out


def list_products(
    engine: Engine, *, merchant_id: str | None = None, product_id: str | None = None
) -> list[Product]:
    query = sa.select(products).order_by(products.c.id)
    if merchant_id is not None:
        query = query.where(products.c.merchant_id == merchant_id)
    if product_id is not None:
        query = query.where(products.c.product_id == product_id)
    rows = fetch_all(engine, query)
    costs = _costs(engine, [r["product_id"] for r in rows])
    fields = [f for f in Product.__dataclass_fields__ if f != "costs"]
    return [
        Product(**{k: r[k] for k in fields}, costs=tuple(costs.get(r["product_id"], [])))
        for r in rows
    ]


def get_product(engine: Engine, product_id: str) -> Product:
    found = list_products(engine, product_id=product_id)
    if not found:
        raise ProductError(f"没有产品 {product_id}")
    return found[0]
