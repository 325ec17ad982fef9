"""Per-department quality ticket report (XLSX and HTML): the open tickets of one source department
across its county offices, with due dates, masked examples and how to fix each problem.

Written to ``<reports dir>/tickets/<department id>/quality_tickets.{xlsx,html}`` (the reports dir is
``Settings.reports_dir``, i.e. ``<data dir>/reports``), replacing the previous report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.documents import XLSX_WRITER_OPTIONS, html_environment, neutralize_frame
from assets.common.files import private_dir
from assets.common.workdays import CHINA_TZ, china_date
from assets.tickets import store as store
from assets.tickets.rules import OPEN_STATUSES, Ticket, TicketError

REPORT_NAME = "quality_tickets"
_TEMPLATES = html_environment(Path(__file__).parent)

# XLSX columns (Chinese headers as a department reads them) → width
SHEET_COLUMNS: dict[str, int] = {
    "工单编号": 18,
    "承办单位": 24,
    "数据资源": 16,
    "信息项": 20,
    "问题": 40,
    "质量维度": 9,
    "严重程度": 9,
    "数据期": 10,
    "不符合条数": 10,
    "总条数": 9,
    "不符合比例": 10,
    "状态": 12,
    "首次发现": 18,
    "最近发现": 18,
    "整改期限": 12,
    "是否逾期": 9,
    "已升级": 9,
    "整改方法": 60,
}
EXAMPLE_COLUMNS: dict[str, int] = {"工单编号": 18, "来源文件行号": 12, "示例值（已脱敏）": 30}


def _office(city: City, department_id: str, county_code: str) -> str:
    department = city.department(department_id)
    try:
        return department.name_in(city.county(county_code))
    except KeyError:
        return f"{county_code} {department.name}"


def _columns(ticket: Ticket, entry: CatalogEntry | None) -> str:
    names = []
    for column in ticket.columns:
        try:
            names.append(entry.item(column).name if entry else column)
        except KeyError:
            names.append(column)
    return "、".join(names) or "（整个文件）"


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _example_text(example: Mapping[str, Any]) -> str:
    value = example.get("value") or "（空）"
    row = example.get("source_row")
    return f"第{row}行：{value}" if row is not None else str(value)


def _view(
    ticket: Ticket, city: City, catalog: Mapping[str, CatalogEntry], today: date
) -> dict[str, Any]:
    entry = catalog.get(ticket.dataset_id)
    return {
        "id": ticket.id,
        "office": _office(city, ticket.department_id, ticket.county_code),
        "dataset_title": entry.title if entry else ticket.dataset_id,
        "columns": _columns(ticket, entry),
        "expectation": ticket.expectation,
        "dimension": ticket.dimension.value,
        "severity": ticket.severity,
        "period": ticket.period,
        "failed_count": ticket.failed_count,
        "total": ticket.total,
        "ratio": f"{ticket.failed_ratio:.1%}",
        "status": ticket.status.label,
        "first_seen": _local(ticket.first_seen),
        "last_seen": _local(ticket.last_seen),
        "due_date": ticket.due_date.isoformat(),
        "overdue": ticket.is_overdue(today),
        "escalated": ticket.escalated_at is not None,
        "examples": [_example_text(e) for e in ticket.examples],
        "example_rows": [(e.get("source_row"), e.get("value")) for e in ticket.examples],
        "fix": ticket.fix,
    }


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _write_xlsx(path: Path, views: list[dict[str, Any]]) -> None:
    tickets = pd.DataFrame(
        [
            {
                "工单编号": v["id"],
                "承办单位": v["office"],
                "数据资源": v["dataset_title"],
                "信息项": v["columns"],
                "问题": v["expectation"],
                "质量维度": v["dimension"],
                "严重程度": v["severity"],
                "数据期": v["period"],
                "不符合条数": v["failed_count"],
                "总条数": v["total"],
                "不符合比例": v["failed_count"] / v["total"] if v["total"] else 0.0,
                "状态": v["status"],
                "首次发现": v["first_seen"],
                "最近发现": v["last_seen"],
                "整改期限": v["due_date"],
                "是否逾期": "是" if v["overdue"] else "否",
                "已升级": "是" if v["escalated"] else "否",
                "整改方法": v["fix"],
            }
            for v in views
        ],
        columns=list(SHEET_COLUMNS),
    )
    examples = pd.DataFrame(
        [
            {"工单编号": v["id"], "来源文件行号": row, "示例值（已脱敏）": value}
            for v in views
            for row, value in v["example_rows"]
        ],
        columns=list(EXAMPLE_COLUMNS),
    )
    # examples and problem texts quote what departments delivered: never a formula in the sheet
    with pd.ExcelWriter(
        path, engine="xlsxwriter", engine_kwargs={"options": XLSX_WRITER_OPTIONS}
    ) as writer:
        neutralize_frame(tickets).to_excel(writer, sheet_name="未关闭工单", index=False)
        neutralize_frame(examples).to_excel(writer, sheet_name="问题示例", index=False)
        book = writer.book
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        percent = book.add_format({"num_format": "0.0%", "valign": "top"})
        sheet = writer.sheets["未关闭工单"]
        for i, (name, width) in enumerate(SHEET_COLUMNS.items()):
            sheet.set_column(i, i, width, percent if name == "不符合比例" else wrap)
        sheet.freeze_panes(1, 1)
        if len(tickets):
            sheet.autofilter(0, 0, len(tickets), len(SHEET_COLUMNS) - 1)
        example_sheet = writer.sheets["问题示例"]
        for i, width in enumerate(EXAMPLE_COLUMNS.values()):
            example_sheet.set_column(i, i, width, wrap)
        example_sheet.freeze_panes(1, 0)


def write_department_report(
    engine: Engine,
    department_id: str,
    out_dir: Path,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    *,
    today: date | None = None,
    now: datetime | None = None,
) -> tuple[Path, Path]:
    """Write the department's report under ``out_dir/tickets/<department>/``; returns
    ``(xlsx_path, html_path)``. ``out_dir`` is the reports directory (``Settings.reports_dir``)."""
    try:
        department = city.department(department_id)
    except KeyError:
        known = "、".join(d.id for d in city.departments)
        raise TicketError(f"未知的数源部门 {department_id}（可选：{known}）") from None
    now = now or datetime.now(UTC)
    today = today or china_date(now)
    tickets = sorted(
        store.list_tickets(engine, department_id=department_id, status="open"),
        key=lambda t: (t.county_code, t.due_date, t.id),
    )
    views = [_view(ticket, city, catalog, today) for ticket in tickets]

    target = Path(out_dir) / "tickets" / department_id
    private_dir(target)  # mkstemp makes the files themselves 0600
    xlsx_path = target / f"{REPORT_NAME}.xlsx"
    html_path = target / f"{REPORT_NAME}.html"

    _replace_atomically(xlsx_path, lambda p: _write_xlsx(p, views))
    head_seq, head_hash = audit.head(engine)  # the anchor outside the database (issue 10)
    html = _TEMPLATES.get_template("department_report.html.j2").render(
        title=f"{department.name}数据质量工单报告",
        generated_at=_local(now),
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
        tickets=views,
        status_counts=[
            (status.label, sum(1 for t in tickets if t.status is status))
            for status in OPEN_STATUSES
        ],
        overdue_count=sum(1 for v in views if v["overdue"]),
        by_office=[
            (office, list(group)) for office, group in groupby(views, key=lambda v: v["office"])
        ],
    )
    _replace_atomically(html_path, lambda p: p.write_text(html, encoding="utf-8"))
    return xlsx_path, html_path
