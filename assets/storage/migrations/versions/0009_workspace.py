"""The merchants' workspace (issue 15, enforcement): the access the reconciler applied per grant and
column, and the record of connection strings handed out (never a password or its hash).

Revision ID: 0009
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_access",
        sa.Column("grant_id", sa.String(64), primary_key=True),
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(80), nullable=False),
        sa.Column(
            "view_name", sa.String(140), nullable=True, comment="PostgreSQL: grant 模式.视图"
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_workspace_access_merchant", "workspace_access", ["merchant_id"])
    op.create_table(
        "workspace_credentials",
        sa.Column("merchant_id", sa.String(64), primary_key=True),
        sa.Column("role_name", sa.String(63), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("rotations", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_credentials")
    op.drop_table("workspace_access")
