"""Products, cost items, income and the income ledger (issue 14: 第十四条, 第二十四条, 第二十五条).

Revision ID: 0011
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("product_id", sa.String(16), nullable=False, unique=True),
        sa.Column("merchant_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, comment="产品名称"),
        sa.Column(
            "kind", sa.String(16), nullable=False, comment="data_product | data_service | model"
        ),
        sa.Column("scenario", sa.String(200), nullable=False, comment="应用场景"),
        sa.Column("use", sa.String(16), nullable=False, comment="public_good | commercial"),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("margin_bp", sa.Integer, nullable=False, comment="利润率（万分之一）"),
        sa.Column("status", sa.String(16), nullable=False, comment="active | retired"),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "product_costs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("product_id", sa.String(16), nullable=False),
        sa.Column(
            "item", sa.String(64), nullable=False, comment="成本项：数据加工、算力支持、合规支持…"
        ),
        sa.Column("amount_fen", sa.BigInteger, nullable=False, comment="金额（分）"),
        sa.Column("basis", sa.Text, nullable=False, comment="依据"),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_product_costs_product", "product_costs", ["product_id"])
    op.create_table(
        "product_income",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(16), nullable=False, unique=True),
        sa.Column("product_id", sa.String(16), nullable=False),
        sa.Column("merchant_id", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False, comment="收入（分）= 发布时的价格"),
        sa.Column("cost_fen", sa.BigInteger, nullable=False, comment="成本合计（分）"),
        sa.Column("margin_bp", sa.Integer, nullable=False),
        sa.Column("rule", sa.JSON, nullable=False, comment="分配规则（发布时的配置）"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "income_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(16), nullable=False),
        sa.Column(
            "party",
            sa.String(80),
            nullable=False,
            comment="city | county:<code> | department:<id>",
        ),
        sa.Column("party_label", sa.String(200), nullable=False),
        sa.Column("weight", sa.String(64), nullable=False, comment="应得份额（精确分数）"),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_income_ledger_release", "income_ledger", ["release_id"])


def downgrade() -> None:
    op.drop_table("income_ledger")
    op.drop_table("product_income")
    op.drop_table("product_costs")
    op.drop_table("products")
