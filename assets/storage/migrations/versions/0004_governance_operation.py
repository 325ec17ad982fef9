"""Governance, classification and the operation platform: the classification register, quarantine and
duplicate records with the reconciliation, supply suspensions and publication state (issue 3).

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classification_register",
        sa.Column("dataset_id", sa.String(64), primary_key=True),
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("item_name", sa.String(128), nullable=True, comment="信息项名称"),
        sa.Column("category", sa.String(128), nullable=False, comment="分类"),
        sa.Column("grade", sa.String(8), nullable=False, comment="分级（核心/重要/一般）"),
        sa.Column("level", sa.String(8), nullable=False, comment="敏感级别"),
        sa.Column("detected_type", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("declared_type", sa.String(32), nullable=True),
        sa.Column("agreement", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, comment="检测依据（只有计数，不含取值）"),
        sa.Column("remark", sa.Text, nullable=True, comment="给数源部门的说明"),
        sa.Column("dataset_grade", sa.String(8), nullable=False),
        sa.Column("dataset_level", sa.String(8), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "governance_quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("source_department", sa.String(64), nullable=True),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("reason_codes", sa.Text, nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False, comment="GB/T 36344 质量维度"),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_governance_quarantine_partition",
        "governance_quarantine",
        ["dataset_id", "county_code", "period"],
    )
    op.create_table(
        "governance_duplicates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("duplicate_kind", sa.String(16), nullable=False),
        sa.Column("key_columns", sa.Text, nullable=False),
        sa.Column("key_masked", sa.Text, nullable=False, comment="重复的业务键（已掩码）"),
        sa.Column("kept_batch_id", sa.String(36), nullable=True),
        sa.Column("kept_source_file", sa.Text, nullable=True),
        sa.Column("kept_source_row", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_governance_duplicates_partition",
        "governance_duplicates",
        ["dataset_id", "county_code", "period"],
    )
    op.create_table(
        "governance_reconciliation",
        sa.Column("dataset_id", sa.String(64), primary_key=True),
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("rows_in", sa.Integer, nullable=False),
        sa.Column("governed", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "supply_suspensions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("withdraw", sa.Boolean, nullable=False),
        sa.Column("suspended_by", sa.String(128), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_by", sa.String(128), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_reason", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_supply_suspensions_dataset", "supply_suspensions", ["dataset_id", "resumed_at"]
    )
    op.create_table(
        "operation_publications",
        sa.Column("dataset_id", sa.String(64), primary_key=True),
        sa.Column("table_name", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rows_in", sa.Integer, nullable=False, comment="治理后进入脱敏的行数"),
        sa.Column("k", sa.Integer, nullable=True),
        sa.Column("k_threshold", sa.Integer, nullable=False),
        sa.Column("suppressed", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(12), nullable=True, comment="假名化密钥指纹（非密钥）"),
        sa.Column("quasi_identifiers", sa.JSON, nullable=False),
        sa.Column("transformations", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operation_publications")
    op.drop_index("ix_supply_suspensions_dataset", table_name="supply_suspensions")
    op.drop_table("supply_suspensions")
    op.drop_table("governance_reconciliation")
    op.drop_index("ix_governance_duplicates_partition", table_name="governance_duplicates")
    op.drop_table("governance_duplicates")
    op.drop_index("ix_governance_quarantine_partition", table_name="governance_quarantine")
    op.drop_table("governance_quarantine")
    op.drop_table("classification_register")
