"""Platform records of the merchants' workspace (issue 15, enforcement), declared on the shared MetaData
and re-exported by ``assets/storage/tables.py``. Created by migration 0009."""

from __future__ import annotations

import sqlalchemy as sa

from assets.storage.metadata import platform_metadata

# What the reconciler applied: one row per granted column that the workspace exposes. On SQLite this
# is the authorizer's allow-list (intersected with the live grants at query time); on PostgreSQL a
# record of the views the reconciler made (the catalog is the truth there).
workspace_access = sa.Table(
    "workspace_access",
    platform_metadata,
    sa.Column("grant_id", sa.String(64), primary_key=True),
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("merchant_id", sa.String(64), nullable=False),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("table_name", sa.String(80), nullable=False),
    sa.Column("view_name", sa.String(140), nullable=True, comment="PostgreSQL: grant 模式.视图"),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_workspace_access_merchant", "merchant_id"),
)

# Connection strings handed out: who, when, how often rotated. Never the password or its hash (the
# SCRAM verifier lives only in PostgreSQL's pg_authid).
workspace_credentials = sa.Table(
    "workspace_credentials",
    platform_metadata,
    sa.Column("merchant_id", sa.String(64), primary_key=True),
    sa.Column("role_name", sa.String(63), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("issued_by", sa.String(128), nullable=False),
    sa.Column("rotations", sa.Integer, nullable=False),
)
