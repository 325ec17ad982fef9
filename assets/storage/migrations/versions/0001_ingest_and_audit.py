"""Ingest file records, row rejections and the audit log.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("relative_path", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("file_format", sa.String(8), nullable=True),
        sa.Column("encoding", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_loaded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ingest_files_batch_id", "ingest_files", ["batch_id"])
    op.create_index(
        "ix_ingest_files_partition", "ingest_files", ["dataset_id", "county_code", "period"]
    )
    op.create_table(
        "ingest_rejections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("relative_path", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_ingest_rejections_batch_id", "ingest_rejections", ["batch_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("ingest_rejections")
    op.drop_table("ingest_files")
