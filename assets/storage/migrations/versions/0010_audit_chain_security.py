"""The audit log's hash chain (seq, prev_hash, hash; head row; archive anchors) with append-only
guards, the security incident register and risk assessments (issue 10).

Existing audit records are chained in id order, from the genesis.

Revision ID: 0010
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assets.common.hashchain import GENESIS, normalize_detail, record_hash
from assets.storage.audit_guards import install_audit_guards

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _chain_existing(connection: sa.Connection) -> tuple[int, str]:
    log = sa.table(
        "audit_log",
        *(
            sa.column(name)
            for name in (
                "id",
                "at",
                "actor",
                "actor_role",
                "action",
                "target",
                "reason",
                "rows",
                "seq",
                "prev_hash",
                "hash",
            )
        ),  # fmt: skip
        sa.column("detail", sa.JSON),
    )
    rows = connection.execute(sa.select(log).order_by(log.c.id)).mappings().all()
    seq, prev = 0, GENESIS
    for row in rows:
        seq += 1
        content = {**row, "seq": seq, "prev_hash": prev, "detail": normalize_detail(row["detail"])}
        digest = record_hash(content)
        connection.execute(
            log.update().where(log.c.id == row["id"]).values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    return seq, prev


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
        batch.add_column(
            sa.Column("prev_hash", sa.String(64), nullable=True, comment="前一条记录的 SM3 散列")
        )
        batch.add_column(
            sa.Column("hash", sa.String(64), nullable=True, comment="本条记录规范内容的 SM3 散列")
        )
    connection = op.get_bind()
    head_seq, head_hash = _chain_existing(connection)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger, nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_audit_log_seq", ["seq"], unique=True)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": head_seq, "hash": head_hash}],
    )
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("from_seq", sa.BigInteger, nullable=False),
        sa.Column("to_seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("first_prev_hash", sa.String(64), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False, comment="锚点：归档段最后一条的散列"),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive_file", sa.Text, nullable=False, comment="相对数据目录"),
        sa.Column("file_sm3", sa.String(64), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "security_incidents",
        sa.Column("id", sa.String(24), primary_key=True, comment="事件编号 SI-<年>-<序号>"),
        sa.Column(
            "level", sa.String(16), nullable=False, comment="general|significant|major|critical"
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("datasets", sa.JSON, nullable=False, comment="受影响的数据集"),
        sa.Column("merchants", sa.JSON, nullable=False, comment="涉及的数据商"),
        sa.Column("status", sa.String(16), nullable=False, comment="open|fixed|closed"),
        sa.Column("suspension_ids", sa.JSON, nullable=False, comment="因本事件暂停供给的编号"),
        sa.Column("actions", sa.JSON, nullable=False, comment="处置记录"),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fix", sa.Text, nullable=True, comment="整改情况"),
        sa.Column("fixed_by", sa.String(128), nullable=True),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_security_incidents_opened_at", "security_incidents", ["opened_at"])
    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_kind", sa.String(16), nullable=False, comment="dataset|product"),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("risk_level", sa.String(16), nullable=False, comment="low|medium|high"),
        sa.Column(
            "conclusion",
            sa.String(16),
            nullable=False,
            comment="acceptable|conditional|unacceptable",
        ),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("measures", sa.Text, nullable=True),
        sa.Column("assessed_by", sa.String(128), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_risk_assessments_subject", "risk_assessments", ["subject_kind", "subject_id"]
    )
    install_audit_guards(connection)


def downgrade() -> None:
    raise NotImplementedError("the audit chain is not taken back")
