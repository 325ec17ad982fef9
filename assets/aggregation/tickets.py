"""Tickets of a county delivery at ingest: a landing file rejected whole opens the partition's
file-rejection ticket for its department; a file that loads closes it as verified. Rows whose
identifiers Excel turned into numbers (and lost digits) open a 规范性 ticket asking for the column as
text; a delivery without them closes it."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.engine import Engine

from assets.aggregation.ingest import IngestOutcome
from assets.common.catalog import CatalogEntry
from assets.common.quality import Dimension, Severity
from assets.common.workdays import DuePolicy
from assets.landing.excel_numbers import EXCEL_NUMERIC_REASON
from assets.landing.rejections import EXCEL_NUMERIC
from assets.tickets import intake
from assets.tickets.changes import TICKET_METADATA_KEYS, changed_now, ticket_changes
from assets.tickets.rules import Finding

EXCEL_NUMERIC_RULE = "ingest.excel_numeric"
EXCEL_NUMERIC_FIX = (
    "身份证号等标识列在 Excel 中被存成了数值，超过 15 位的数字已丢失，平台无法还原，这些行未入库。"
    "请在 Excel 中将该列设置为“文本”格式（或在导出时按文本导出），从业务系统重新导出本期数据，"
    "核对号码完整后重新报送。"
)


def _excel_numeric_finding(outcome: IngestOutcome, entry: CatalogEntry | None) -> Finding | None:
    damaged = [r for r in outcome.rejections if r.reason_code == EXCEL_NUMERIC]
    if not damaged:
        return None
    # the reason names the damaged items: “公民身份号码、联系电话”被 Excel 存成了数值…
    names = {
        name for r in damaged for name in r.reason.split("“", 1)[-1].split("”", 1)[0].split("、")
    }
    columns = [i.column for i in entry.items if i.name in names] if entry is not None else []
    return Finding(
        rule_id=EXCEL_NUMERIC_RULE,
        expectation=f"标识列按文本报送（{EXCEL_NUMERIC_REASON}，{len(damaged)} 行未入库）",
        columns=tuple(columns),
        dimension=Dimension.CONFORMITY,
        severity=Severity.HIGH,
        failed_count=len(damaged),
        total=outcome.rows_read,
        examples=tuple(
            {"source_row": r.source_row, "value": "（数值化，号码不完整）"} for r in damaged[:5]
        ),
        fix=EXCEL_NUMERIC_FIX,
    )


def delivery_tickets(
    engine: Engine,
    outcome: IngestOutcome,
    *,
    due_policy: DuePolicy | None = None,
    entry: CatalogEntry | None = None,
) -> dict[str, list[str]]:
    """A file rejected whole opens (or updates, or reopens) the partition's file-rejection ticket
    for its department; a file that loads closes that ticket as verified, and opens (or closes) the
    dataset's Excel-numeric ticket by whether rows lost digits. Returns the ticket ids by change
    (see :func:`ticket_changes`)."""
    landing = outcome.landing
    at = outcome.ingested_at.astimezone(UTC)
    changes: dict[str, list[str]] = {key: [] for key in TICKET_METADATA_KEYS}
    if outcome.loaded:
        closed = intake.close_file_rejection_tickets(
            engine,
            dataset_id=outcome.dataset_id,
            county_code=landing.county_code,
            period=landing.period,
            loaded_at=at,
        )
        changes["tickets_closed"] = [t.id for t in closed]
        finding = _excel_numeric_finding(outcome, entry)
        synced = intake.sync_findings(
            engine,
            dataset_id=outcome.dataset_id,
            county_code=landing.county_code,
            department_id=outcome.department_id,
            period=landing.period,
            findings=[finding] if finding else [],
            passed_rule_ids=[] if finding else [EXCEL_NUMERIC_RULE],
            checked_at=at,
            due_policy=due_policy or DuePolicy(),
        )
        for key, ids in ticket_changes(synced).items():
            changes[key] = [*changes[key], *ids]
        return changes
    ticket = intake.open_file_rejection_ticket(
        engine,
        dataset_id=outcome.dataset_id,
        county_code=landing.county_code,
        department_id=outcome.department_id,
        period=landing.period,
        reason_code=outcome.reason_code or "unreadable",
        reason=outcome.reason or "",
        checked_at=at,
        due_policy=due_policy or DuePolicy(),
        relative_path=landing.relative_path,
    )
    key = changed_now(ticket, at)
    if key:
        changes[key].append(ticket.id)
    return changes
