"""An office's own ticket report for download: only the tickets of the signed-in office's scope (its
county and department), as XLSX or HTML.

Cells are written as text that never becomes a formula or a link (xlsxwriter's ``strings_to_formulas``
and ``strings_to_urls`` off, and a leading apostrophe-like guard for text starting with ``= + - @``),
and the HTML goes through the portal's autoescaping templates.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import xlsxwriter

from assets.common.catalog import CatalogEntry
from assets.tickets.rules import Ticket

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

COLUMNS: dict[str, int] = {
    "工单编号": 18,
    "承办单位": 24,
    "数据资源": 16,
    "数据期": 10,
    "信息项": 18,
    "问题": 40,
    "质量维度": 9,
    "严重程度": 9,
    "不符合条数": 10,
    "总条数": 9,
    "状态": 14,
    "整改期限": 12,
    "是否逾期": 9,
    "问题示例（已脱敏）": 36,
    "整改方法": 50,
}


def neutral(value: object) -> object:
    """Text that a spreadsheet shows as text: a leading formula character gets a quote before it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def item_names(ticket: Ticket, entry: CatalogEntry | None) -> str:
    names = []
    for column in ticket.columns:
        try:
            names.append(entry.item(column).name if entry else column)
        except KeyError:
            names.append(column)
    return "、".join(names) or "（整个文件）"


def example_text(example: Mapping[str, Any]) -> str:
    value = example.get("value") or "（空）"
    row = example.get("source_row")
    return f"第{row}行：{value}" if row is not None else str(value)


def ticket_rows(
    tickets: Sequence[Ticket],
    catalog: Mapping[str, CatalogEntry],
    office_name: Mapping[str, str],
    today: date,
) -> list[dict[str, object]]:
    rows = []
    for ticket in tickets:
        entry = catalog.get(ticket.dataset_id)
        rows.append(
            {
                "工单编号": ticket.id,
                "承办单位": office_name.get(ticket.id, ticket.department_id),
                "数据资源": entry.title if entry else ticket.dataset_id,
                "数据期": ticket.period,
                "信息项": item_names(ticket, entry),
                "问题": ticket.expectation,
                "质量维度": ticket.dimension.value,
                "严重程度": ticket.severity,
                "不符合条数": ticket.failed_count,
                "总条数": ticket.total,
                "状态": ticket.status.label,
                "整改期限": ticket.due_date,
                "是否逾期": "是" if ticket.is_overdue(today) else "否",
                "问题示例（已脱敏）": "；".join(example_text(e) for e in ticket.examples),
                "整改方法": ticket.fix,
            }
        )
    return rows


def xlsx_report(rows: Sequence[Mapping[str, object]], title: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    sheet = book.add_worksheet("质量工单")
    bold = book.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF5"}
    )
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    sheet.write_string(0, 0, str(neutral(title)), book.add_format({"bold": True, "font_size": 13}))
    for col, (name, width) in enumerate(COLUMNS.items()):
        sheet.set_column(col, col, width)
        sheet.write_string(1, col, name, bold)
    for r, row in enumerate(rows, start=2):
        for col, name in enumerate(COLUMNS):
            value = row.get(name)
            if isinstance(value, date):
                sheet.write_datetime(r, col, value, day)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, col, value, wrap)
            else:
                sheet.write_string(r, col, str(neutral("" if value is None else value)), wrap)
    sheet.freeze_panes(2, 1)
    if rows:
        sheet.autofilter(1, 0, len(rows) + 1, len(COLUMNS) - 1)
    book.close()
    return buffer.getvalue()
