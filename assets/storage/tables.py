"""Every table's schema, in one place.

- Zone tables (exchange, operation) are built from the catalog: provenance columns plus one column per
  catalog item. They are created when missing and gain columns when the catalog adds items; they are never
  dropped.
- Platform records (ingest files, row rejections, audit log, tickets, catalog versions …) are declared here
  and created only by the Alembic migrations in ``assets/storage/migrations/versions``; a test checks the
  two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

from assets.common.catalog import CatalogEntry
from assets.storage.metadata import platform_metadata
from assets.storage.tables_authorization import (  # noqa: F401  (declared here too, issue 15)
    agreement_signatures,
    agreement_templates,
    agreement_versions,
    application_items,
    application_reviews,
    applications,
    grants,
    merchants,
    operator_authorizations,
)
from assets.storage.tables_exports import (  # noqa: F401  (declared here too, issue 14)
    export_requests,
    income_ledger,
    product_costs,
    product_income,
    products,
    release_register,
)
from assets.storage.tables_security import (  # noqa: F401  (declared here too, issue 10)
    audit_anchors,
    audit_head,
    risk_assessments,
    security_incidents,
)
from assets.storage.tables_workspace import (  # noqa: F401  (declared here too, issue 15)
    workspace_access,
    workspace_credentials,
)

# --- zone tables -------------------------------------------------------------------------------

PROVENANCE_COLUMNS: tuple[str, ...] = (
    "county_code",
    "period",
    "source_department",
    "source_file",
    "file_checksum",
    "batch_id",
    "ingested_at",
    "source_row",
)


def provenance_columns() -> list[sa.Column]:
    return [
        sa.Column("county_code", sa.String(6), nullable=False, comment="行政区划代码（交付县区）"),
        sa.Column("period", sa.String(10), nullable=False, comment="数据期"),
        sa.Column("source_department", sa.String(64), nullable=False, comment="数源部门"),
        sa.Column("source_file", sa.Text, nullable=False, comment="来源文件（相对数据目录）"),
        sa.Column("file_checksum", sa.String(64), nullable=False, comment="来源文件 SHA-256"),
        sa.Column("batch_id", sa.String(36), nullable=False, comment="批次号"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="入库时间"),
        sa.Column("source_row", sa.Integer, nullable=False, comment="来源文件行号（表头为第1行）"),
    ]


def exchange_table_name(dataset_id: str) -> str:
    return f"exchange_{dataset_id}"


def operation_table_name(dataset_id: str) -> str:
    """The operation platform's table of one dataset (``assets/operation/writer.py`` writes it)."""
    return f"operation_{dataset_id}"


def exchange_table(entry: CatalogEntry, metadata: sa.MetaData | None = None) -> sa.Table:
    """The city exchange platform table of one dataset as readers see it: provenance + the items as
    delivered text. It is a view (``assets/storage/exchange_layout.py``) joining each row (its source row
    and items, ``exchange_rows_table``) to its load (county, period, department, file, checksum,
    batch and load time, ``exchange_loads_table``): a load's provenance is written once, not once
    per row."""
    return sa.Table(
        exchange_table_name(entry.dataset_id),
        metadata or sa.MetaData(),
        *provenance_columns(),
        *(sa.Column(item.column, sa.Text, comment=item.name) for item in entry.items),
    )


# The rows and loads tables behind the view: a dataset id starts with a letter, so no view is
# named like them (``exchange_`` + id)
def exchange_rows_name(dataset_id: str) -> str:
    return f"exchange__rows_{dataset_id}"


def exchange_loads_name(dataset_id: str) -> str:
    return f"exchange__loads_{dataset_id}"


def exchange_loads_table(dataset_id: str, metadata: sa.MetaData | None = None) -> sa.Table:
    """One row per load of a delivery file into a (county, period) slice: its provenance and rows.
    The grouped slice queries (governance's stamps and staleness, the catalog's mounting, the
    load's fingerprint) read it, never the rows."""
    name = exchange_loads_name(dataset_id)
    return sa.Table(
        name,
        metadata or sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True, comment="装载号"),
        *(c for c in provenance_columns() if c.name != "source_row"),
        sa.Column("rows", sa.Integer, nullable=False, comment="行数"),
        sa.Index(f"ix_{name}", "county_code", "period"),
    )


def exchange_rows_table(entry: CatalogEntry, metadata: sa.MetaData | None = None) -> sa.Table:
    """The delivered rows of a dataset, each with its load and source row, in load order."""
    name = exchange_rows_name(entry.dataset_id)
    return sa.Table(
        name,
        metadata or sa.MetaData(),
        sa.Column("load_id", sa.Integer, nullable=False, comment="装载号"),
        sa.Column("source_row", sa.Integer, nullable=False, comment="来源文件行号（表头为第1行）"),
        *(sa.Column(item.column, sa.Text, comment=item.name) for item in entry.items),
        sa.Index(f"ix_{name}", "load_id"),
    )


# --- platform records (created by migrations only) ----------------------------------------------

# platform_metadata: assets/storage/metadata.py, shared with the tables_*.py siblings

ingest_files = sa.Table(
    "ingest_files",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(36), nullable=False, index=True),
    sa.Column("relative_path", sa.Text, nullable=False),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("department_id", sa.String(64), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("file_format", sa.String(8), nullable=True),
    sa.Column("encoding", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # loaded | rejected
    sa.Column("reason_code", sa.String(32), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_loaded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    # rows read = loaded + rejected + skipped (title rows, 合计 rows; migration 0014)
    sa.Column("rows_skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("extra_columns", sa.JSON, nullable=True, comment="目录未列的表头（未入库）"),
    sa.Index("ix_ingest_files_partition", "dataset_id", "county_code", "period"),
)

ingest_rejections = sa.Table(
    "ingest_rejections",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(36), nullable=False, index=True),
    sa.Column("relative_path", sa.Text, nullable=False),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("reason_code", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column(
        "disposition",
        sa.String(16),
        nullable=False,
        server_default="rejected",
        comment="rejected 拒收 | skipped 跳过（标题行、合计行）",
    ),
)

# A redelivery that would shrink its partition sharply is held (ingest_files.status "held") until it
# is confirmed here, by checksum (migration 0007).
ingest_confirmations = sa.Table(
    "ingest_confirmations",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False, comment="确认的交付文件 SHA-256"),
    sa.Column("rows_before", sa.Integer, nullable=False, comment="现有行数"),
    sa.Column("rows_after", sa.Integer, nullable=False, comment="新交付可入库行数"),
    sa.Column("confirmed_by", sa.String(128), nullable=False),
    sa.Column("confirmed_role", sa.String(32), nullable=True),
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.UniqueConstraint(
        "dataset_id", "county_code", "period", "checksum", name="uq_ingest_confirmation"
    ),
)

audit_log = sa.Table(
    "audit_log",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("rows", sa.Integer, nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
    # the acting account's role (issue 10; NULL for the platform itself and for entries before it)
    sa.Column("actor_role", sa.String(32), nullable=True),
    # the hash chain (issue 10, assets/common/hashchain.py): 1, 2, 3 … without gaps
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False, comment="前一条记录的 SM3 散列"),
    sa.Column("hash", sa.String(64), nullable=False, comment="本条记录规范内容的 SM3 散列"),
    sa.Index("ix_audit_log_seq", "seq", unique=True),
)

# --- quality tickets (issue 4) -------------------------------------------------------------------

# One row per (county, department, dataset, rule): a relapse reopens the row, never adds one.
quality_tickets = sa.Table(
    "quality_tickets",
    platform_metadata,
    sa.Column("id", sa.String(24), primary_key=True, comment="工单编号 QT-<县区>-<序号>"),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("department_id", sa.String(64), nullable=False),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),  # validation | ingest
    sa.Column("period", sa.String(10), nullable=False, comment="最近发现问题的数据期"),
    sa.Column("checked_period", sa.String(10), nullable=False, comment="最近检查的数据期"),
    sa.Column("expectation", sa.Text, nullable=False),
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("dimension", sa.String(8), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("failed_count", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("examples", sa.JSON, nullable=False),
    sa.Column("fix", sa.Text, nullable=False, server_default=""),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("notice_pending", sa.String(16), nullable=True),
    sa.Column("history", sa.JSON, nullable=False),
    sa.UniqueConstraint(
        "county_code", "department_id", "dataset_id", "rule_id", name="uq_quality_tickets_rule"
    ),
    sa.Index("ix_quality_tickets_department_status", "department_id", "status"),
    sa.Index("ix_quality_tickets_status_due", "status", "due_date"),
)

quality_ticket_counters = sa.Table(
    "quality_ticket_counters",
    platform_metadata,
    sa.Column("county_code", sa.String(6), primary_key=True),
    sa.Column("last_number", sa.Integer, nullable=False),
)

quality_ticket_deliveries = sa.Table(
    "quality_ticket_deliveries",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("department_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.Text, nullable=False, comment="渠道（密钥已隐藏）"),
    sa.Column("ticket_ids", sa.JSON, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

# --- resource catalog versions (issue 5) ---------------------------------------------------------

# The registrations the city accepted, one per (county, dataset): a rejected update leaves the
# accepted one in force; deleting the registry file retires it.
catalog_registrations = sa.Table(
    "catalog_registrations",
    platform_metadata,
    sa.Column("county_code", sa.String(6), primary_key=True),
    sa.Column("dataset_id", sa.String(64), primary_key=True),
    sa.Column("department_id", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, comment="登记文件 SHA-256"),
    sa.Column("document", sa.JSON, nullable=False, comment="目录条目（登记格式）"),
    sa.Column("source", sa.Text, nullable=False, comment="登记文件（相对数据目录）"),
    sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
)

# Registrations refused under 第八条, once per file content, with the reasons sent to the department.
catalog_rejections = sa.Table(
    "catalog_rejections",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("department_id", sa.String(64), nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("ticket_id", sa.String(64), nullable=True),
    sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_catalog_rejections_registration", "county_code", "dataset_id", "content_hash"),
)

# Every version of the aggregated city catalog (第九条): its snapshot, hash and the diff to the last.
catalog_versions = sa.Table(
    "catalog_versions",
    platform_metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("diff", sa.JSON, nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
)

# Publications of a version and deliveries of its change event to subscribers.
catalog_events = sa.Table(
    "catalog_events",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "version", sa.Integer, sa.ForeignKey("catalog_versions.version"), nullable=False, index=True
    ),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # published | delivered
    sa.Column("channel", sa.Text, nullable=True, comment="订阅渠道（密钥已隐藏）"),
    sa.Column("status", sa.String(16), nullable=False),  # ok | failed | invalid
    sa.Column("detail", sa.JSON, nullable=True),
)

# --- governance, classification, operation (issue 3) ---------------------------------------------

# The classification register (分类分级登记): one row per (dataset, column), replaced on each run.
classification_register = sa.Table(
    "classification_register",
    platform_metadata,
    sa.Column("dataset_id", sa.String(64), primary_key=True),
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("item_name", sa.String(128), nullable=True, comment="信息项名称"),
    sa.Column("category", sa.String(128), nullable=False, comment="分类"),
    sa.Column("grade", sa.String(8), nullable=False, comment="分级（核心/重要/一般）"),
    sa.Column("level", sa.String(8), nullable=False, comment="敏感级别"),
    sa.Column("detected_type", sa.String(32), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("declared_type", sa.String(32), nullable=True),
    sa.Column("agreement", sa.String(16), nullable=False),  # agree | disagree | undeclared
    sa.Column("evidence", sa.Text, nullable=False, comment="检测依据（只有计数，不含取值）"),
    sa.Column("remark", sa.Text, nullable=True, comment="给数源部门的说明"),
    sa.Column("dataset_grade", sa.String(8), nullable=False),
    sa.Column("dataset_level", sa.String(8), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
)

# Governance: rows that failed a hard rule (the row itself stays in the exchange table, found by its
# provenance), superseded duplicates, and the reconciliation per partition. Replaced per dataset.
governance_quarantine = sa.Table(
    "governance_quarantine",
    platform_metadata,
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
    sa.Index("ix_governance_quarantine_partition", "dataset_id", "county_code", "period"),
)

governance_duplicates = sa.Table(
    "governance_duplicates",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.String(64), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("batch_id", sa.String(36), nullable=True),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("duplicate_kind", sa.String(16), nullable=False),  # exact | business_key
    sa.Column("key_columns", sa.Text, nullable=False),
    sa.Column("key_masked", sa.Text, nullable=False, comment="重复的业务键（已掩码）"),
    sa.Column("kept_batch_id", sa.String(36), nullable=True),
    sa.Column("kept_source_file", sa.Text, nullable=True),
    sa.Column("kept_source_row", sa.Integer, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Index("ix_governance_duplicates_partition", "dataset_id", "county_code", "period"),
)

governance_reconciliation = sa.Table(
    "governance_reconciliation",
    platform_metadata,
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

# Supply suspensions (第二十七条): one row per suspension; resumed_at NULL while it is in force.
# county_code NULL = the whole dataset.
supply_suspensions = sa.Table(
    "supply_suspensions",
    platform_metadata,
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
    sa.Index("ix_supply_suspensions_dataset", "dataset_id", "resumed_at"),
)

# The state of each dataset on the operation platform: the last publish (or why there was none).
operation_publications = sa.Table(
    "operation_publications",
    platform_metadata,
    sa.Column("dataset_id", sa.String(64), primary_key=True),
    sa.Column("table_name", sa.String(80), nullable=False),
    # published | suspended (held, old version stays) | withdrawn | prohibited
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

# --- accounts and roles (issue 10) ----------------------------------------------------------------

# One row per person (or service) acting on the platform: a role and the scope it acts in. Accounts are
# disabled, never deleted, so the audit log's actors stay resolvable.
accounts = sa.Table(
    "accounts",
    platform_metadata,
    sa.Column("name", sa.String(64), primary_key=True, comment="账号"),
    sa.Column("display_name", sa.String(128), nullable=False, comment="姓名或单位"),
    sa.Column("role", sa.String(32), nullable=False, comment="角色代码"),
    sa.Column("county_code", sa.String(6), nullable=True, comment="县区范围"),
    sa.Column("department_id", sa.String(64), nullable=True, comment="数源部门范围"),
    sa.Column("merchant_id", sa.String(64), nullable=True, comment="数据商范围"),
    sa.Column("os_user", sa.String(64), nullable=True, unique=True, comment="对应的操作系统用户"),
    sa.Column("password_hash", sa.Text, nullable=True, comment="argon2 口令散列"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_accounts_role", "role"),
)
