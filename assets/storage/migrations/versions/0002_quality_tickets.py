"""Quality tickets to the source departments (第十一条), their number counters and deliveries.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_tickets",
        sa.Column("id", sa.String(24), primary_key=True, comment="工单编号 QT-<县区>-<序号>"),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("period", sa.String(10), nullable=False, comment="最近发现问题的数据期"),
        sa.Column("checked_period", sa.String(10), nullable=False, comment="最近检查的数据期"),
        sa.Column("expectation", sa.Text, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("dimension", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("failed_count", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("examples", sa.JSON, nullable=False),
        sa.Column("fix", sa.Text, nullable=False, server_default=""),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_pending", sa.String(16), nullable=True),
        sa.Column("history", sa.JSON, nullable=False),
        sa.UniqueConstraint(
            "county_code", "department_id", "dataset_id", "rule_id", name="uq_quality_tickets_rule"
        ),
    )
    op.create_index(
        "ix_quality_tickets_department_status", "quality_tickets", ["department_id", "status"]
    )
    op.create_index("ix_quality_tickets_status_due", "quality_tickets", ["status", "due_date"])
    op.create_table(
        "quality_ticket_counters",
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "quality_ticket_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.Text, nullable=False, comment="渠道（密钥已隐藏）"),
        sa.Column("ticket_ids", sa.JSON, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_quality_ticket_deliveries_sent_at", "quality_ticket_deliveries", ["sent_at"]
    )


def downgrade() -> None:
    op.drop_table("quality_ticket_deliveries")
    op.drop_table("quality_ticket_counters")
    op.drop_table("quality_tickets")
