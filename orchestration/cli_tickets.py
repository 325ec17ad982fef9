"""``publicdata tickets``: data-quality tickets of the source departments (第十一条).

    publicdata tickets list [--json] [--county C] [--department D] [--status S]
    publicdata tickets show ID [--json]
    publicdata tickets ack ID [--as ACCOUNT] [--comment TEXT]
    publicdata tickets claim-fixed ID --comment TEXT [--as ACCOUNT]
    publicdata tickets report --department D

Every command takes ``--data-dir`` (default: ``PUBLICDATA_HOME`` or ``./data``). Errors (an unknown
ticket, a step the ticket's status does not allow, an account without the role or scope) print a
message and exit with status 1. ``ack`` and ``claim-fixed`` act as an account (``--as``, or the one
mapped to the OS user): the office of the ticket's department in its county, its county office, or the
bureau.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len
from sqlalchemy.engine import Engine

from assets.accounts.store import Account
from assets.common.catalog import CatalogEntry, load_catalog
from assets.common.city import City, load_city
from assets.common.workdays import CHINA_TZ, china_date
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import store as store
from assets.tickets.reports import write_department_reports
from assets.tickets.rules import Status, Ticket, TicketError
from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

STATUS_CHOICES = ["open", *(s.value for s in Status)]


class Context:
    """Settings, the platform-records engine, the city and the catalog, loaded once per command."""

    def __init__(self, data_dir: Path | None) -> None:
        self.settings = Settings.load(data_dir)
        if problem := self.settings.missing_data_dir():
            raise click.ClickException(problem)
        ensure_platform_schema(self.settings.platform_url)
        self.engine: Engine = get_engine(self.settings.platform_url)
        self.today = china_date(datetime.now(UTC))

    @functools.cached_property
    def city(self) -> City:
        return load_city(self.settings.city_config)

    @functools.cached_property
    def catalog(self) -> dict[str, CatalogEntry]:
        return load_catalog(self.settings.catalog_dir)


def _office(city: City, ticket: Ticket) -> str:
    try:
        return city.department(ticket.department_id).name_in(city.county(ticket.county_code))
    except KeyError:
        return ticket.department_id


def ticket_summary(
    ticket: Ticket, city: City, catalog: Mapping[str, CatalogEntry], today: date
) -> dict[str, Any]:
    """The fields ``tickets list --json`` prints for a ticket (overdue as of ``today``)."""
    entry = catalog.get(ticket.dataset_id)
    try:
        county_name = city.county(ticket.county_code).name
    except KeyError:
        county_name = ticket.county_code
    return {
        "id": ticket.id,
        "county_code": ticket.county_code,
        "county": county_name,
        "department": ticket.department_id,
        "department_name": _office(city, ticket),
        "dataset_id": ticket.dataset_id,
        "dataset_title": entry.title if entry else ticket.dataset_id,
        "period": ticket.period,
        "rule_id": ticket.rule_id,
        "columns": list(ticket.columns),
        "expectation": ticket.expectation,
        "dimension": ticket.dimension.value,
        "severity": ticket.severity,
        "failed_count": ticket.failed_count,
        "total": ticket.total,
        "status": ticket.status.value,
        "status_label": ticket.status.label,
        "due_date": ticket.due_date.isoformat(),
        "overdue": ticket.is_overdue(today),
        "escalated_at": china_time(ticket.escalated_at) if ticket.escalated_at else None,
        "first_seen": china_time(ticket.first_seen),
        "last_seen": china_time(ticket.last_seen),
    }


def china_time(moment: datetime) -> str:
    """A moment as people here read it: China time with its offset (2026-10-12T17:00:00+08:00)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def ticket_detail(
    ticket: Ticket, city: City, catalog: Mapping[str, CatalogEntry], today: date
) -> dict[str, Any]:
    """Everything about a ticket, for ``tickets show``."""
    return {
        **ticket_summary(ticket, city, catalog, today),
        "fix": ticket.fix,
        "examples": [dict(e) for e in ticket.examples],
        "history": [
            {**entry.as_dict(), "at": china_time(entry.at), "action_label": entry.action.label}
            for entry in ticket.history
        ],
    }


def _handle_errors(command: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except TicketError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _acting_on(ctx: Context, ticket_id: str, acting_as: str | None, action: str) -> Account:
    """The account acting on a ticket, checked against the ticket's department and county."""
    ticket = store.get_ticket(ctx.engine, ticket_id)
    return acting_account(
        ctx.engine,
        acting_as,
        action,
        county_code=ticket.county_code,
        department_id=ticket.department_id,
    )


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认：环境变量 PUBLICDATA_HOME，否则 ./data）",
)


@click.group("tickets")
def tickets() -> None:
    """数据质量工单（第十一条）：查看、确认、申报整改，生成部门报告。"""


@tickets.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--county", help="县（区）：行政区划代码或名称，如 640521 或 中宁县")
@click.option("--department", help="数源部门：编号或名称，如 public_security 或 公安局")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="工单状态；open 为全部未关闭")
@_handle_errors
def list_command(
    data_dir: Path | None,
    as_json: bool,
    county: str | None,
    department: str | None,
    status: str | None,
) -> None:
    """列出工单（按整改期限排序）。"""
    ctx = Context(data_dir)
    county_code = _county_code(ctx.city, county) if county else None
    department_id = _department_id(ctx.city, department) if department else None
    found = store.list_tickets(
        ctx.engine, county_code=county_code, department_id=department_id, status=status
    )
    rows = [ticket_summary(t, ctx.city, ctx.catalog, ctx.today) for t in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("没有符合条件的工单。")
        return
    header = (
        "工单号",
        "状态",
        "整改期限",
        "承办单位",
        "数据集",
        "信息项",
        "维度/严重程度",
        "不合格/总数",
    )
    lines = [
        (
            row["id"],
            row["status_label"],
            row["due_date"] + ("（已逾期）" if row["overdue"] else ""),
            row["department_name"],
            row["dataset_title"],
            "、".join(row["columns"]) or "整个文件",
            f"{row['dimension']}/{row['severity']}",
            f"{row['failed_count']}/{row['total']}",
        )
        for row in rows
    ]
    for line in aligned([header, *lines]):
        click.echo(line)
    click.echo(f"共 {len(rows)} 个工单。")


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell as a terminal shows it (a Chinese character is two)."""
    widths = [max(cell_len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            str(cell) + " " * (width - cell_len(str(cell)))
            for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _county_code(city: City, value: str) -> str:
    """A county by its code or its name; anything else is a usage error listing the counties."""
    for county in city.counties:
        if value.strip() in (county.code, county.name):
            return county.code
    choices = "、".join(f"{c.code} {c.name}" for c in city.counties)
    raise click.BadParameter(f"没有县（区）“{value}”；可选：{choices}", param_hint="--county")


def _department_id(city: City, value: str) -> str:
    """A department by its id or its (county office) name; else a usage error listing them."""
    wanted = value.strip()
    for department in city.departments:
        names = {department.name, f"{city.city.name}{department.name}"}
        names |= {department.name_in(county) for county in city.counties}
        if wanted == department.id or wanted in names:
            return department.id
    choices = "、".join(f"{d.id} {d.name}" for d in city.departments)
    raise click.BadParameter(f"没有数源部门“{value}”；可选：{choices}", param_hint="--department")


def _ticket_id(_: click.Context, __: click.Parameter, value: str) -> str:
    """Ticket ids are upper case (QT-640521-000001); a typed qt-640521-000001 is the same ticket."""
    return value.strip().upper()


@tickets.command("show")
@data_dir_option
@click.argument("ticket_id", callback=_ticket_id)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@_handle_errors
def show_command(data_dir: Path | None, ticket_id: str, as_json: bool) -> None:
    """显示一个工单的全部信息和处理记录。"""
    ctx = Context(data_dir)
    ticket = store.get_ticket(ctx.engine, ticket_id)
    detail = ticket_detail(ticket, ctx.city, ctx.catalog, ctx.today)
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        return
    fields = [
        ("工单编号", detail["id"]),
        ("承办单位", detail["department_name"]),
        ("数据资源", f"{detail['dataset_title']}（{detail['dataset_id']}）"),
        ("数据期", detail["period"]),
        ("信息项", "、".join(detail["columns"]) or "整个文件"),
        ("问题", detail["expectation"]),
        ("质量维度", detail["dimension"]),
        ("严重程度", detail["severity"]),
        ("不符合", f"{detail['failed_count']} / {detail['total']}"),
        ("状态", detail["status_label"]),
        ("整改期限", detail["due_date"] + ("（已逾期）" if detail["overdue"] else "")),
        ("首次发现", detail["first_seen"]),
        ("最近发现", detail["last_seen"]),
        ("整改方法", detail["fix"]),
    ]
    for label, value in fields:
        click.echo(f"{label}：{value}")
    click.echo("问题示例（已脱敏）：")
    for example in detail["examples"]:
        row = example.get("source_row")
        click.echo(
            f"  {'第' + str(row) + '行' if row is not None else '-'}  {example.get('value')}"
        )
    click.echo("处理记录：")
    for entry in detail["history"]:
        comment = f"：{entry['comment']}" if entry["comment"] else ""
        click.echo(f"  {entry['at']}  {entry['action_label']}  {entry['by']}{comment}")


@tickets.command("ack")
@data_dir_option
@click.argument("ticket_id", callback=_ticket_id)
@as_option
@click.option("--comment", default="", help="备注")
@_handle_errors
def ack_command(data_dir: Path | None, ticket_id: str, acting_as: str | None, comment: str) -> None:
    """确认收到工单（新建/重新打开 → 已确认）。"""
    ctx = Context(data_dir)
    account = _acting_on(ctx, ticket_id, acting_as, "tickets.acknowledge")
    ticket = store.acknowledge_ticket(
        ctx.engine, ticket_id, by=account.name, role=account.role, comment=comment
    )
    click.echo(f"{ticket.id} 已确认，整改期限 {ticket.due_date.isoformat()}。")


@tickets.command("claim-fixed")
@data_dir_option
@click.argument("ticket_id", callback=_ticket_id)
@click.option("--comment", required=True, help="整改说明（必填）")
@as_option
@_handle_errors
def claim_fixed_command(
    data_dir: Path | None, ticket_id: str, comment: str, acting_as: str | None
) -> None:
    """申报已整改；下一次检查通过后工单自动关闭。"""
    ctx = Context(data_dir)
    account = _acting_on(ctx, ticket_id, acting_as, "tickets.claim_fixed")
    ticket = store.claim_fixed(
        ctx.engine, ticket_id, by=account.name, role=account.role, comment=comment
    )
    click.echo(f"{ticket.id} 已申报整改，待下一期数据复核通过后关闭。")


@tickets.command("report")
@data_dir_option
@click.option("--department", help="数源部门编号或名称，如 public_security 或 公安局（默认全部）")
@click.option("--county", help="县（区）代码或名称，如 640521 或 中宁县（默认全部）")
@_handle_errors
def report_command(data_dir: Path | None, department: str | None, county: str | None) -> None:
    """生成各县（区）各部门的质量工单报告（XLSX 和 HTML，每个县区部门一份，无工单也生成）。"""
    ctx = Context(data_dir)
    reports = write_department_reports(
        ctx.engine,
        ctx.settings.reports_dir,
        ctx.city,
        ctx.catalog,
        department_id=_department_id(ctx.city, department) if department else None,
        county_code=_county_code(ctx.city, county) if county else None,
    )
    for report in reports:
        click.echo(f"{report.office}：{report.tickets} 张未关闭工单")
        click.echo(f"  已生成：{report.xlsx}")
        click.echo(f"  已生成：{report.html}")
