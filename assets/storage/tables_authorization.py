"""Platform records of the authorized operation (issue 15), declared on the shared MetaData and
re-exported by ``assets/storage/tables.py``: the operating unit's authorizations (第十三条), merchants
(第十八条), the development agreement (第十九条), data-use applications with their reviews (第二十条,
第二十一条) and the grants approvals become. Created by migration 0005. Dates are China calendar dates;
``valid_to`` / ``period_end`` are inclusive.
"""

from __future__ import annotations

import sqlalchemy as sa

from assets.storage.metadata import platform_metadata


def _decided(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_by", sa.String(128), nullable=True),
        sa.Column(f"{prefix}_at", sa.DateTime(timezone=True), nullable=True),
    ]


operator_authorizations = sa.Table(
    "operator_authorizations",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_name", sa.String(200), nullable=False, comment="授权运营单位"),
    sa.Column("unit_uscc", sa.String(18), nullable=True, comment="统一社会信用代码"),
    sa.Column(
        "agreement_no", sa.String(64), nullable=False, unique=True, comment="授权运营协议编号"
    ),
    sa.Column("mode", sa.String(16), nullable=False, comment="whole | domain | scenario"),
    sa.Column("domains", sa.JSON, nullable=False, comment="分领域授权的领域"),
    sa.Column("scenarios", sa.JSON, nullable=False, comment="场景授权的场景"),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=False, comment="含当日"),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    *_decided("revoked"),
    sa.Column("revoke_reason", sa.Text, nullable=True),
)

merchants = sa.Table(
    "merchants",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", sa.String(16), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=False, unique=True, comment="统一社会信用代码"),
    sa.Column("contact_name", sa.String(64), nullable=False),
    sa.Column("contact_phone", sa.String(32), nullable=False),
    sa.Column("qualifications", sa.JSON, nullable=False, comment="资质材料"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("registered_by", sa.String(128), nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accepted_on", sa.Date, nullable=False, comment="受理日（核查时限起算）"),
    *_decided("decided"),
    sa.Column("decision_reason", sa.Text, nullable=True),
    *_decided("exited"),
    sa.Column("exit_reason", sa.Text, nullable=True),
    sa.Column("exit_reported_at", sa.DateTime(timezone=True), nullable=True),
)

agreement_templates = sa.Table(
    "agreement_templates",
    platform_metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

agreement_versions = sa.Table(
    "agreement_versions",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("template_code", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, comment="draft | approved | rejected"),
    sa.Column("drafted_by", sa.String(128), nullable=False),
    sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
    *_decided("decided"),
    sa.Column("decision_reason", sa.Text, nullable=True),
    sa.UniqueConstraint("template_code", "version", name="uq_agreement_versions_version"),
)

agreement_signatures = sa.Table(
    "agreement_signatures",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", sa.String(16), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("signed_by", sa.String(128), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("merchant_id", "version_id", name="uq_agreement_signatures"),
)

applications = sa.Table(
    "applications",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.String(16), nullable=False, unique=True),
    sa.Column("merchant_id", sa.String(16), nullable=False, index=True),
    sa.Column("scenario", sa.Text, nullable=False, comment="应用场景"),
    sa.Column("purpose", sa.Text, nullable=False, comment="使用目的"),
    sa.Column("method", sa.String(16), nullable=False, comment="sandbox | interface | model"),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False, comment="含当日"),
    sa.Column("safeguards", sa.Text, nullable=False, comment="安全防护措施"),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("submitted_by", sa.String(128), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("submitted_on", sa.Date, nullable=False, comment="受理日（合规核查时限起算）"),
    *_decided("compliance"),
    sa.Column("compliance_on", sa.Date, nullable=True, comment="核查日（审核时限起算）"),
    sa.Column("compliance_reason", sa.Text, nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    *_decided("withdrawn"),
    sa.Column("withdraw_reason", sa.Text, nullable=True),
)

application_items = sa.Table(
    "application_items",
    platform_metadata,
    sa.Column("application_id", sa.String(16), primary_key=True),
    sa.Column("dataset_id", sa.String(64), primary_key=True),
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("item_name", sa.String(128), nullable=False, comment="信息项名称"),
)

application_reviews = sa.Table(
    "application_reviews",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.String(16), nullable=False, index=True),
    sa.Column("reviewer", sa.String(16), nullable=False, comment="bureau | department"),
    sa.Column("department_id", sa.String(64), nullable=True),
    sa.Column("started_on", sa.Date, nullable=False),
    sa.Column("working_days", sa.Integer, nullable=False),
    sa.Column("extension_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("extension_reason", sa.Text, nullable=True),
    sa.Column("decision", sa.String(24), nullable=False),
    *_decided("decided"),
    sa.Column("reason", sa.Text, nullable=True),
)

grants = sa.Table(
    "grants",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("grant_id", sa.String(16), nullable=False, unique=True),
    sa.Column("application_id", sa.String(16), nullable=False, index=True),
    sa.Column("merchant_id", sa.String(16), nullable=False, index=True),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("columns", sa.JSON, nullable=False, comment="授权的信息项（运营表列名）"),
    sa.Column("scenario", sa.Text, nullable=False),
    sa.Column("domains", sa.JSON, nullable=False, comment="数据集的门类与业务属性"),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=False, comment="含当日"),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    *_decided("revoked"),
    sa.Column("revoke_reason", sa.Text, nullable=True),
)
