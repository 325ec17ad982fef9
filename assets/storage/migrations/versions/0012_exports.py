"""Export requests with their automatic checks, review and filing, and the release register (issue 14:
第二十三条, 第二十七条, 第二十八条).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_requests",
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
        sa.Column(
            "suppress", sa.Boolean, nullable=False, comment="不达标的单元格/记录先压制再出域"
        ),
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
    )
    op.create_index("ix_export_requests_status", "export_requests", ["status"])
    op.create_table(
        "release_register",
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


def downgrade() -> None:
    op.drop_table("release_register")
    op.drop_table("export_requests")
