"""Redeliveries held for confirmation (issue 9): a delivery that would shrink its partition sharply is
not applied until someone confirms it; each confirmation names the delivery by its checksum.

Revision ID: 0007
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_confirmations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False, comment="确认的交付文件 SHA-256"),
        sa.Column("rows_before", sa.Integer, nullable=False, comment="现有行数"),
        sa.Column("rows_after", sa.Integer, nullable=False, comment="新交付可入库行数"),
        sa.Column("confirmed_by", sa.String(128), nullable=False),
        sa.Column("confirmed_role", sa.String(32), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "dataset_id", "county_code", "period", "checksum", name="uq_ingest_confirmation"
        ),
    )


def downgrade() -> None:
    op.drop_table("ingest_confirmations")
