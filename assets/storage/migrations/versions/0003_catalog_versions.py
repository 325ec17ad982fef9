"""Resource catalog: accepted registrations, rejections, versions and publication events (issue 5).

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_registrations",
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("dataset_id", sa.String(64), primary_key=True),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, comment="登记文件 SHA-256"),
        sa.Column("document", sa.JSON, nullable=False, comment="目录条目（登记格式）"),
        sa.Column("source", sa.Text, nullable=False, comment="登记文件（相对数据目录）"),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalog_rejections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_catalog_rejections_registration",
        "catalog_rejections",
        ["county_code", "dataset_id", "content_hash"],
    )
    op.create_table(
        "catalog_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
    )
    op.create_index("ix_catalog_versions_content_hash", "catalog_versions", ["content_hash"])
    op.create_table(
        "catalog_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, sa.ForeignKey("catalog_versions.version"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.Text, nullable=True, comment="订阅渠道（密钥已隐藏）"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index("ix_catalog_events_version", "catalog_events", ["version"])


def downgrade() -> None:
    op.drop_table("catalog_events")
    op.drop_table("catalog_versions")
    op.drop_table("catalog_rejections")
    op.drop_table("catalog_registrations")
