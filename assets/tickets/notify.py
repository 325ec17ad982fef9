"""Telling source departments about their quality tickets (第十一条), through apprise.

Each department's channels are apprise URLs in ``config/city.yaml`` (DingTalk, WeCom bot, e-mail,
webhook); ``${ENV_NAME}`` placeholders in them are filled from the environment at send time, so
tokens stay out of the file. A department gets one message per run listing its tickets that are new,
reopened or escalated since it was last told, in Chinese, with masked examples only. Every attempt on
every channel is written to ``quality_ticket_deliveries`` (channel secrets hidden); a ticket delivered
on at least one channel gets a history entry and stops being pending, while a department without a
working channel keeps its tickets pending until one works.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.common.city import City, Department
from assets.common.documents import escape_markup
from assets.common.notify import Delivery, send
from assets.tickets import deliveries as delivery_records
from assets.tickets.rules import ORIGIN_INGEST, Ticket

log = logging.getLogger(__name__)

MAX_TICKETS_PER_MESSAGE = 20
MAX_EXAMPLES_PER_TICKET = 3
EVENT_LABELS = {"new": "新建", "reopened": "重新打开", "escalated": "逾期升级"}


# --- the message ---------------------------------------------------------------------------------


def _column_names(ticket: Ticket, entry: CatalogEntry | None) -> str:
    names = []
    for column in ticket.columns:
        try:
            names.append(f"{entry.item(column).name}（{column}）" if entry else column)
        except KeyError:
            names.append(column)
    return "、".join(names) or "整个文件"


def _ticket_lines(ticket: Ticket, entry: CatalogEntry | None, city: City) -> list[str]:
    event = EVENT_LABELS.get(ticket.notice_pending or "", ticket.status.label)
    lines = [
        f"- **{ticket.id}**【{event}】{_column_names(ticket, entry)}：{ticket.expectation}",
        f"  - 质量维度：{ticket.dimension.value}；严重程度：{ticket.severity}；数据期：{ticket.period}",
        f"  - 整改期限：{ticket.due_date.isoformat()}",
    ]
    if ticket.origin == ORIGIN_INGEST:
        lines[2:2] = ["  - 本期文件被拒收，未能入库"]
    else:
        lines[2:2] = [
            f"  - 不符合：{ticket.failed_count} / {ticket.total} 条（{ticket.failed_ratio:.1%}）"
        ]
    if ticket.notice_pending == "escalated":
        try:
            bureau = city.county(ticket.county_code).data_bureau
        except KeyError:
            bureau = "县（区）数据局"
        lines.append(f"  - 已超过整改期限，已升级报送{bureau}")
    examples = [
        f"第{e['source_row']}行 {escape_markup(e.get('value') or '（空）')}"
        if e.get("source_row") is not None
        else escape_markup(e.get("value") or "")
        for e in ticket.examples[:MAX_EXAMPLES_PER_TICKET]
    ]
    if examples:
        label = "报送文件" if ticket.origin == ORIGIN_INGEST else "示例（已脱敏）"
        lines.append(f"  - {label}：{'；'.join(examples)}")
    if ticket.fix:
        lines.append(f"  - 整改方法：{ticket.fix}")
    return lines


def in_message_order(tickets: Iterable[Ticket]) -> list[Ticket]:
    """By county office, then dataset, then ticket number."""
    return sorted(tickets, key=lambda t: (t.county_code, t.dataset_id, t.id))


def render_notice(
    department: Department,
    tickets: Sequence[Ticket],
    city: City,
    catalog: Mapping[str, CatalogEntry],
) -> tuple[str, str]:
    """Title and Markdown body of one department's notice."""
    counts = {label: 0 for label in EVENT_LABELS.values()}
    for ticket in tickets:
        label = EVENT_LABELS.get(ticket.notice_pending or "")
        if label:
            counts[label] += 1
    summary = "，".join(f"{label} {n} 个" for label, n in counts.items() if n)
    title = f"【数据质量工单】{department.name}：{summary or f'{len(tickets)} 个工单'}"

    lines = [
        f"### {title}",
        "根据《中卫市公共数据资源授权运营管理办法》第十一条，请及时处理以下数据质量问题，"
        "整改后在下一期报送中提交更正后的数据，复核通过后工单自动关闭。",
    ]
    shown = in_message_order(tickets)[:MAX_TICKETS_PER_MESSAGE]
    for county_code, county_tickets in groupby(shown, key=lambda t: t.county_code):
        try:
            county = city.county(county_code)
            office = department.name_in(county)
        except KeyError:
            office = f"{county_code} {department.name}"
        lines.append(f"#### {office}")
        for dataset_id, dataset_tickets in groupby(county_tickets, key=lambda t: t.dataset_id):
            entry = catalog.get(dataset_id)
            lines.append(f"**{entry.title if entry else dataset_id}**（{dataset_id}）")
            for ticket in dataset_tickets:
                lines.extend(_ticket_lines(ticket, entry, city))
    if len(tickets) > len(shown):
        lines.append(f"另有 {len(tickets) - len(shown)} 个工单未列出，详见部门质量工单报告。")
    lines += [
        "",
        "确认收到：`publicdata tickets ack 工单编号`；"
        '整改完成后申报：`publicdata tickets claim-fixed 工单编号 --comment "整改说明"`。',
    ]
    return title, "\n".join(lines)


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeResult:
    department_id: str
    ticket_ids: tuple[str, ...]
    deliveries: tuple[Delivery, ...]

    @property
    def delivered(self) -> bool:
        return any(d.ok for d in self.deliveries)


def notify_departments(
    engine: Engine,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    *,
    department_id: str | None = None,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[NoticeResult]:
    """Send every department (or one) its pending tickets; returns what was attempted.

    ``environ`` fills channel placeholders; the wiring passes it (default: the process environment).
    """
    environ = os.environ if environ is None else environ
    sent_at = now or datetime.now(UTC)
    pending = delivery_records.tickets_pending_notice(engine, department_id=department_id)
    results: list[NoticeResult] = []
    for dept_id, group in groupby(pending, key=lambda t: t.department_id):
        tickets = in_message_order(group)
        try:
            department = city.department(dept_id)
        except KeyError:
            log.warning("quality tickets for unknown department %s stay pending", dept_id)
            continue
        if not department.channels:
            log.info(
                "department %s has no notification channel; %d tickets stay pending",
                dept_id,
                len(tickets),
            )
            continue
        shown = tickets[:MAX_TICKETS_PER_MESSAGE]
        title, body = render_notice(department, tickets, city, catalog)
        deliveries = tuple(
            send(url, title, body, environ=environ, markdown=True) for url in department.channels
        )
        # Tickets beyond the message cap were not listed one by one: they stay pending.
        ids = tuple(t.id for t in shown)
        delivery_records.record_deliveries(
            engine, department_id=dept_id, ticket_ids=ids, deliveries=deliveries, sent_at=sent_at
        )
        for delivery in deliveries:
            if not delivery.ok:
                log.warning(
                    "notice to %s via %s failed: %s", dept_id, delivery.channel, delivery.error
                )
        results.append(NoticeResult(dept_id, ids, deliveries))
    return results
