"""Quality ticket reports for the source departments' county offices (XLSX and HTML), and the one
ticket sheet the portal's download uses too.

One report per county × department: a 中宁县 clerk sees only 中宁县's tickets of their department, in
``<reports dir>/tickets/<县区>/<部门>/质量工单.{xlsx,html}`` (Chinese folder names, e.g.
``中宁县/公安局/``; the reports dir is ``Settings.reports_dir``, i.e. ``<data dir>/reports``). Every
department of every county gets one, saying “本期无待处理问题” when it has no open ticket.

The sheet: a title row, a header row, one row per open ticket (the source file it was found in, dates
as Excel dates, counts as numbers, widths wide enough for their headers and wrapping only in the long
text columns), a sheet of masked examples and a sheet “说明” with what a clerk does — in words, never a
command. Every value is neutralized (:mod:`assets.common.documents`): no cell becomes a formula or a
link; the HTML is autoescaped.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.documents import XLSX_WRITER_OPTIONS, html_environment, neutralize_cell
from assets.common.files import private_dir
from assets.common.workdays import CHINA_TZ, china_date
from assets.storage.tables import ingest_files
from assets.tickets import store as store
from assets.tickets.rules import OPEN_STATUSES, Ticket, TicketError

REPORT_XLSX = "质量工单.xlsx"
REPORT_HTML = "质量工单.html"
NO_TICKETS = "本期无待处理问题"
TICKET_SHEET = "未关闭工单"
EXAMPLE_SHEET = "问题示例"
GUIDE_SHEET = "说明"
_TEMPLATES = html_environment(Path(__file__).parent)

# What a clerk does with the report: words, not commands.
GUIDE: tuple[str, ...] = (
    "1. 收到工单后，请登录数据共享门户，在“质量工单”中逐张“确认收到”。",
    "2. 按每张工单的“整改方法”，对照业务系统和原始档案核对、更正有问题的数据（“问题示例”工作表列出了"
    "来源文件中的行号，示例值已脱敏）。",
    "3. 更正后，从业务系统重新导出本期的完整文件，通过门户“重新报送”上传（或按原报送渠道报送），"
    "不要只报送更正过的几行。",
    "4. 在门户中对工单“申报已整改”，写明整改说明。平台复核重新报送的文件，问题不再出现时工单自动关闭；"
    "逾期未整改的工单将升级至县（区）数据管理机构。",
    "5. 如对工单有疑问，请联系本县（区）数据管理机构。",
)


@dataclass(frozen=True)
class Column:
    name: str
    width: int  # Excel character units: a Chinese character takes two
    kind: str = "text"  # text (one line) | wrap | int | percent | date | datetime


COLUMNS: tuple[Column, ...] = (
    Column("工单编号", 19),
    Column("承办单位", 20, "wrap"),
    Column("数据资源", 18, "wrap"),
    Column("来源文件", 22, "wrap"),
    Column("数据期", 10),
    Column("信息项", 18, "wrap"),
    Column("问题", 44, "wrap"),
    Column("质量维度", 10),
    Column("严重程度", 10),
    Column("不符合条数", 12, "int"),
    Column("总条数", 10, "int"),
    Column("不符合比例", 12, "percent"),
    Column("状态", 16),
    Column("首次发现", 17, "datetime"),
    Column("最近发现", 17, "datetime"),
    Column("整改期限", 12, "date"),
    Column("是否逾期", 10),
    Column("已升级", 8),
    Column("问题示例（已脱敏）", 40, "wrap"),
    Column("整改方法", 60, "wrap"),
)
EXAMPLE_COLUMNS: tuple[Column, ...] = (
    Column("工单编号", 19),
    Column("来源文件行号", 14, "int"),
    Column("示例值（已脱敏）", 36, "wrap"),
)


@dataclass(frozen=True)
class ReportFiles:
    county_code: str
    department_id: str
    office: str  # 中宁县公安局
    xlsx: Path
    html: Path
    tickets: int


def office_name(city: City, department_id: str, county_code: str) -> str:
    try:
        department = city.department(department_id)
    except KeyError:
        return department_id
    try:
        return department.name_in(city.county(county_code))
    except KeyError:
        return f"{county_code} {department.name}"


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


def _local(moment: datetime) -> datetime:
    """China time without a zone: Excel dates have none."""
    return moment.astimezone(CHINA_TZ).replace(tzinfo=None, microsecond=0)


def source_files(engine: Engine, tickets: Sequence[Ticket]) -> dict[str, str]:
    """Each ticket's source file name: the latest delivery of its dataset × county × period."""
    keys = {(t.dataset_id, t.county_code, t.period) for t in tickets}
    if not keys:
        return {}
    f = ingest_files
    latest = (
        sa.select(f.c.dataset_id, f.c.county_code, f.c.period, sa.func.max(f.c.id).label("id"))
        .where(f.c.dataset_id.in_(sorted({k[0] for k in keys})))
        .where(f.c.county_code.in_(sorted({k[1] for k in keys})))
        .group_by(f.c.dataset_id, f.c.county_code, f.c.period)
        .subquery()
    )
    query = sa.select(latest.c.dataset_id, latest.c.county_code, latest.c.period, f.c.relative_path)
    query = query.join(f, f.c.id == latest.c.id)
    with engine.connect() as connection:
        found = {
            (row.dataset_id, row.county_code, row.period): PurePosixPath(row.relative_path).name
            for row in connection.execute(query)
        }
    return {
        t.id: found[(t.dataset_id, t.county_code, t.period)]
        for t in tickets
        if (t.dataset_id, t.county_code, t.period) in found
    }


def ticket_rows(
    tickets: Sequence[Ticket],
    catalog: Mapping[str, CatalogEntry],
    office_names: Mapping[str, str],
    today: date,
    files: Mapping[str, str] | None = None,
) -> list[dict[str, object]]:
    """One row per ticket keyed by the sheet's column names: dates as ``date`` / ``datetime`` (China
    time), counts as numbers. ``office_names`` and ``files`` are by ticket id."""
    rows = []
    for ticket in tickets:
        entry = catalog.get(ticket.dataset_id)
        rows.append(
            {
                "工单编号": ticket.id,
                "承办单位": office_names.get(ticket.id, ticket.department_id),
                "数据资源": entry.title if entry else ticket.dataset_id,
                "来源文件": (files or {}).get(ticket.id, "—"),
                "数据期": ticket.period,
                "信息项": item_names(ticket, entry),
                "问题": ticket.expectation,
                "质量维度": ticket.dimension.value,
                "严重程度": ticket.severity,
                "不符合条数": ticket.failed_count,
                "总条数": ticket.total,
                "不符合比例": ticket.failed_count / ticket.total if ticket.total else 0.0,
                "状态": ticket.status.label,
                "首次发现": _local(ticket.first_seen),
                "最近发现": _local(ticket.last_seen),
                "整改期限": ticket.due_date,
                "是否逾期": "是" if ticket.is_overdue(today) else "否",
                "已升级": "是" if ticket.escalated_at is not None else "否",
                "问题示例（已脱敏）": "；".join(example_text(e) for e in ticket.examples),
                "整改方法": ticket.fix,
                "_examples": [(e.get("source_row"), e.get("value")) for e in ticket.examples],
            }
        )
    return rows


def column_width(column: Column) -> int:
    """Wide enough for the header on one line (two units a Chinese character, and a margin)."""
    return max(column.width, 2 * len(column.name) + 2)


def _write_table(book: Any, sheet: Any, columns: Sequence[Column], rows: Sequence[Mapping]) -> None:
    base = {"valign": "top", "border": 1}
    header = book.add_format({**base, "bold": True, "bg_color": "#E8EEF5"})
    formats = {
        "text": book.add_format(base),
        "wrap": book.add_format({**base, "text_wrap": True}),
        "int": book.add_format({**base, "num_format": "0"}),
        "percent": book.add_format({**base, "num_format": "0.0%"}),
        "date": book.add_format({**base, "num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({**base, "num_format": "yyyy-mm-dd hh:mm"}),
    }
    for c, column in enumerate(columns):
        sheet.set_column(c, c, column_width(column))
        sheet.write_string(1, c, column.name, header)
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(columns):
            value, fmt = row.get(column.name), formats[column.kind]
            if value is None or value == "":
                sheet.write_blank(r, c, None, fmt)
            elif isinstance(value, datetime | date):
                sheet.write_datetime(r, c, value, fmt)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, c, value, fmt)
            else:
                sheet.write_string(r, c, str(neutralize_cell(str(value))), fmt)
    sheet.freeze_panes(2, 1)
    if rows:
        sheet.autofilter(1, 0, len(rows) + 1, len(columns) - 1)


def xlsx_report(rows: Sequence[Mapping[str, object]], title: str) -> bytes:
    """The workbook: the tickets (title row, header row, a row each; “本期无待处理问题” when there
    are none), their masked examples, and the guide."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSX_WRITER_OPTIONS})
    title_format = book.add_format({"bold": True, "font_size": 13})
    sheet = book.add_worksheet(TICKET_SHEET)
    sheet.write_string(0, 0, str(neutralize_cell(title)), title_format)
    _write_table(book, sheet, COLUMNS, rows)
    if not rows:
        sheet.write_string(2, 0, NO_TICKETS, book.add_format({"bold": True}))
    examples = book.add_worksheet(EXAMPLE_SHEET)
    examples.write_string(0, 0, "问题示例（值已脱敏）", title_format)
    example_rows = [
        {"工单编号": row["工单编号"], "来源文件行号": line, "示例值（已脱敏）": value}
        for row in rows
        for line, value in row.get("_examples", ())  # type: ignore[union-attr]
    ]
    _write_table(book, examples, EXAMPLE_COLUMNS, example_rows)
    guide = book.add_worksheet(GUIDE_SHEET)
    guide.set_column(0, 0, 110)
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    guide.write_string(0, 0, "如何处理本报告中的工单", title_format)
    for r, line in enumerate(GUIDE, start=1):
        guide.write_string(r, 0, line, wrap)
    book.close()
    return buffer.getvalue()


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def report_dir(out_dir: Path, city: City, county_code: str, department_id: str) -> Path:
    """``<reports dir>/tickets/<县区>/<部门>/``, e.g. ``tickets/中宁县/公安局/``: the office's own name
    in the county (中宁县卫生健康局 → 卫生健康局)."""
    county = city.county(county_code)
    office = city.department(department_id).name_in(county)
    return Path(out_dir) / "tickets" / county.name / (office.removeprefix(county.name) or office)


def write_office_report(
    engine: Engine,
    out_dir: Path,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    *,
    county_code: str,
    department_id: str,
    today: date,
    now: datetime,
) -> ReportFiles:
    """The report of one county office of one department: its open tickets only."""
    tickets = sorted(
        store.list_tickets(
            engine, department_id=department_id, county_code=county_code, status="open"
        ),
        key=lambda t: (t.due_date, t.dataset_id, t.id),
    )
    office = office_name(city, department_id, county_code)
    rows = ticket_rows(
        tickets, catalog, {t.id: office for t in tickets}, today, source_files(engine, tickets)
    )
    title = f"{office}数据质量工单（未关闭，截至 {today.isoformat()}）"
    target = report_dir(out_dir, city, county_code, department_id)
    private_dir(target)  # mkstemp makes the files themselves 0600
    xlsx_path, html_path = target / REPORT_XLSX, target / REPORT_HTML
    data = xlsx_report(rows, title)
    _replace_atomically(xlsx_path, lambda p: p.write_bytes(data))
    head_seq, head_hash = audit.head(engine)  # the anchor outside the database (issue 10)
    html = _TEMPLATES.get_template("department_report.html.j2").render(
        title=title,
        office=office,
        generated_at=_local(now).strftime("%Y-%m-%d %H:%M"),
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
        rows=rows,
        status_counts=[
            (status.label, sum(1 for t in tickets if t.status is status))
            for status in OPEN_STATUSES
        ],
        overdue_count=sum(1 for r in rows if r["是否逾期"] == "是"),
        no_tickets=NO_TICKETS,
        guide=GUIDE,
    )
    _replace_atomically(html_path, lambda p: p.write_text(html, encoding="utf-8"))
    return ReportFiles(county_code, department_id, office, xlsx_path, html_path, len(tickets))


def write_department_reports(
    engine: Engine,
    out_dir: Path,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    *,
    department_id: str | None = None,
    county_code: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> list[ReportFiles]:
    """One report per county × department (of ``department_id`` / ``county_code`` only, when
    given), each replacing the previous one; an office without an open ticket gets one too."""
    if department_id is not None:
        try:
            city.department(department_id)
        except KeyError:
            known = "、".join(d.id for d in city.departments)
            raise TicketError(f"未知的数源部门 {department_id}（可选：{known}）") from None
    if county_code is not None:
        try:
            city.county(county_code)
        except KeyError:
            known = "、".join(f"{c.code} {c.name}" for c in city.counties)
            raise TicketError(f"未知的县（区）{county_code}（可选：{known}）") from None
    now = now or datetime.now(UTC)
    today = today or china_date(now)
    return [
        write_office_report(
            engine,
            out_dir,
            city,
            catalog,
            county_code=county.code,
            department_id=department.id,
            today=today,
            now=now,
        )
        for county in city.counties
        if county_code in (None, county.code)
        for department in city.departments
        if department_id in (None, department.id)
    ]
