"""Accounts with a role and a scope (第五条); the acting role on every audit entry (issue 10).

Revision ID: 0006
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(64), primary_key=True, comment="账号"),
        sa.Column("display_name", sa.String(128), nullable=False, comment="姓名或单位"),
        sa.Column("role", sa.String(32), nullable=False, comment="角色代码"),
        sa.Column("county_code", sa.String(6), nullable=True, comment="县区范围"),
        sa.Column("department_id", sa.String(64), nullable=True, comment="数源部门范围"),
        sa.Column("merchant_id", sa.String(64), nullable=True, comment="数据商范围"),
        sa.Column(
            "os_user", sa.String(64), nullable=True, unique=True, comment="对应的操作系统用户"
        ),
        sa.Column("password_hash", sa.Text, nullable=True, comment="argon2 口令散列"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_accounts_role", "accounts", ["role"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("actor_role", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("actor_role")
    op.drop_table("accounts")
