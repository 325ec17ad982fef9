"""Deliveries as departments make them (issue 12): rows skipped on purpose (title rows above the header,
合计/总计/小计 rows) are recorded beside the rejected ones, and columns the catalog entry does not
name are listed on the file's record.

Revision ID: 0014
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_files") as batch:
        batch.add_column(sa.Column("rows_skipped", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("extra_columns", sa.JSON, nullable=True, comment="目录未列的表头（未入库）")
        )
    with op.batch_alter_table("ingest_rejections") as batch:
        batch.add_column(
            sa.Column(
                "disposition",
                sa.String(16),
                nullable=False,
                server_default="rejected",
                comment="rejected 拒收 | skipped 跳过（标题行、合计行）",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_rejections") as batch:
        batch.drop_column("disposition")
    with op.batch_alter_table("ingest_files") as batch:
        batch.drop_column("extra_columns")
        batch.drop_column("rows_skipped")
