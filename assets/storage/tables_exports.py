"""Platform records of products, fees and exports (issue 14), declared on the shared MetaData and
re-exported by ``assets/storage/tables.py``:

- the product register (data product / data service / model; scenario; public-good or commercial),
  its cost items and the income each release of a commercial product brings, distributed into the
  income ledger (migration 0011);
- export requests with their automatic checks, the operator's review and the bureau's filing (备案),
  and the release register (migration 0012).

Money is integer fen (分) throughout: no float ever holds an amount.
"""

from __future__ import annotations

import sqlalchemy as sa

from assets.storage.metadata import platform_metadata

# --- products and fees (migration 0011) -----------------------------------------------------------

products = sa.Table(
    "products",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.String(16), nullable=False, unique=True),
    sa.Column("merchant_id", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, comment="产品名称"),
    sa.Column("kind", sa.String(16), nullable=False, comment="data_product | data_service | model"),
    sa.Column("scenario", sa.String(200), nullable=False, comment="应用场景"),
    sa.Column("use", sa.String(16), nullable=False, comment="public_good | commercial"),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("margin_bp", sa.Integer, nullable=False, comment="利润率（万分之一）"),
    sa.Column("status", sa.String(16), nullable=False, comment="active | retired"),
    sa.Column("registered_by", sa.String(128), nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
)

product_costs = sa.Table(
    "product_costs",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.String(16), nullable=False),
    sa.Column(
        "item", sa.String(64), nullable=False, comment="成本项：数据加工、算力支持、合规支持…"
    ),
    sa.Column("amount_fen", sa.BigInteger, nullable=False, comment="金额（分）"),
    sa.Column("basis", sa.Text, nullable=False, comment="依据"),
    sa.Column("recorded_by", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_product_costs_product", "product_id"),
)

product_income = sa.Table(
    "product_income",
    platform_metadata,
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

income_ledger = sa.Table(
    "income_ledger",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("release_id", sa.String(16), nullable=False),
    sa.Column(
        "party", sa.String(80), nullable=False, comment="city | county:<code> | department:<id>"
    ),
    sa.Column("party_label", sa.String(200), nullable=False),
    sa.Column("weight", sa.String(64), nullable=False, comment="应得份额（精确分数）"),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_income_ledger_release", "release_id"),
)

# --- exports (migration 0012) ---------------------------------------------------------------------

export_requests = sa.Table(
    "export_requests",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("export_id", sa.String(16), nullable=False, unique=True),
    sa.Column("merchant_id", sa.String(16), nullable=False),
    sa.Column("product_id", sa.String(16), nullable=False),
    sa.Column("application_id", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False, comment="接收方"),
    sa.Column("source_kind", sa.String(8), nullable=False, comment="query | file"),
    sa.Column("query_sql", sa.Text, nullable=True),
    sa.Column("file_path", sa.Text, nullable=True, comment="工作区内的文件（相对数据目录）"),
    sa.Column("result_kind", sa.String(16), nullable=True, comment="aggregate | records"),
    sa.Column("suppress", sa.Boolean, nullable=False, comment="不达标的单元格/记录先压制再出域"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("checks", sa.JSON, nullable=False, comment="[{name, passed, reason}]"),
    sa.Column("report", sa.JSON, nullable=False, comment="给人工审核的核查报告（无明细值）"),
    sa.Column("datasets", sa.JSON, nullable=False, comment="查询血缘：数据集 → 字段"),
    sa.Column("result_rows", sa.Integer, nullable=True),
    sa.Column("result_columns", sa.JSON, nullable=True),
    sa.Column("staged_path", sa.Text, nullable=True, comment="待审核结果（相对数据目录）"),
    sa.Column("staged_sm3", sa.String(64), nullable=True),
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requested_on", sa.Date, nullable=False, comment="受理日（审核时限起算）"),
    sa.Column("reviewed_by", sa.String(128), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reviewed_on", sa.Date, nullable=True, comment="审核日（备案时限起算）"),
    sa.Column("review_reason", sa.Text, nullable=True),
    sa.Column("filed_by", sa.String(128), nullable=True),
    sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("filing_no", sa.String(64), nullable=True, unique=True, comment="备案号"),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_export_requests_status", "status"),
)

release_register = sa.Table(
    "release_register",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("release_id", sa.String(16), nullable=False, unique=True),
    sa.Column("export_id", sa.String(16), nullable=False, unique=True),
    sa.Column("product_id", sa.String(16), nullable=False),
    sa.Column("application_id", sa.String(16), nullable=False),
    sa.Column("merchant_id", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("file_path", sa.Text, nullable=False, comment="出域文件（相对数据目录）"),
    sa.Column("sm3", sa.String(64), nullable=False, comment="出域文件的 SM3 摘要"),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("datasets", sa.JSON, nullable=False),
    sa.Column("approved_by", sa.String(128), nullable=False),
    sa.Column("filing_no", sa.String(64), nullable=False),
    sa.Column("filed_by", sa.String(128), nullable=False),
    sa.Column("use", sa.String(16), nullable=False),
    sa.Column("price_fen", sa.BigInteger, nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
)
