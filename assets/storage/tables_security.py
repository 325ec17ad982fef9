"""Platform records of security and audit (issue 10), declared on the shared MetaData and re-exported
by ``assets/storage/tables.py``: the audit chain's head and archive anchors (第二十七条 行为留痕), the
security incident register and risk assessments (第二十七条, 第二十九条). Created by migration 0010.
"""

from __future__ import annotations

import sqlalchemy as sa

from assets.storage.metadata import platform_metadata

# One row (id 1): the newest audit record's seq and hash. Appending locks this row first, so
# concurrent appends queue and the chain never forks.
audit_head = sa.Table(
    "audit_head",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row per purged segment of the audit log: the archive file and the hashes that link the chain
# across it. Append-only (triggers), like the log.
audit_anchors = sa.Table(
    "audit_anchors",
    platform_metadata,
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

# The security incident register: one row per incident, its level (一般/较大/重大/特别重大), what it
# touches, what was done. Severe incidents (重大 and above) suspend the affected datasets' supply.
security_incidents = sa.Table(
    "security_incidents",
    platform_metadata,
    sa.Column("id", sa.String(24), primary_key=True, comment="事件编号 SI-<年>-<序号>"),
    sa.Column("level", sa.String(16), nullable=False, comment="general|significant|major|critical"),
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
    sa.Index("ix_security_incidents_opened_at", "opened_at"),
)

# Risk assessments of datasets and products (第二十七条 定期开展风险评估) with their conclusions.
risk_assessments = sa.Table(
    "risk_assessments",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_kind", sa.String(16), nullable=False, comment="dataset|product"),
    sa.Column("subject_id", sa.String(128), nullable=False),
    sa.Column("risk_level", sa.String(16), nullable=False, comment="low|medium|high"),
    sa.Column(
        "conclusion", sa.String(16), nullable=False, comment="acceptable|conditional|unacceptable"
    ),
    sa.Column("findings", sa.Text, nullable=False),
    sa.Column("measures", sa.Text, nullable=True),
    sa.Column("assessed_by", sa.String(128), nullable=False),
    sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_risk_assessments_subject", "subject_kind", "subject_id"),
)
