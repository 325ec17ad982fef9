"""The figures of the supervision reports, counted from the platform records for one period.

Every figure is a count of rows (never a value of a person): catalog registrations, data mounting,
quality tickets, application reviews, publications and suspensions, applications, products, export
filings and releases, incidents, risk assessments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.authorization.records import due
from assets.catalog_sync.mounting import mounting_status
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.security.incidents import IncidentLevel
from assets.storage.tables import (
    application_reviews,
    applications,
    catalog_registrations,
    export_requests,
    grants,
    merchants,
    operation_publications,
    products,
    quality_tickets,
    release_register,
    risk_assessments,
    security_incidents,
    supply_suspensions,
)
from assets.supervision.periods import Period, china_day

COMPLIANCE_WORKING_DAYS = 5  # 第二十条


def _rows(engine: Engine, table: sa.Table, *conditions: sa.ColumnElement[bool]) -> list[dict]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).where(*conditions)).mappings()]


@dataclass
class DepartmentCounty:
    department_id: str
    department_name: str
    county_code: str
    county_name: str
    entries_registered: int = 0
    entries_mounted: int = 0
    entries_on_time: int = 0
    tickets_opened: int = 0
    tickets_overdue: int = 0
    tickets_closed: int = 0
    tickets_closed_in_time: int = 0


@dataclass
class DepartmentFigures:
    department_id: str
    department_name: str
    counties: list[DepartmentCounty] = field(default_factory=list)
    reviews_decided: int = 0
    reviews_on_time: int = 0
    reviews_deemed: int = 0

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counties)

    @property
    def reviews_due(self) -> int:
        return self.reviews_decided + self.reviews_deemed


def department_figures(
    platform: Engine,
    exchange: Engine,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    period: Period,
    today: date,
) -> list[DepartmentFigures]:
    """第三十一条, per source department and county: catalog entries registered (as at the end of the
    period), of them with data in the exchange table and on time for their 更新频率 (judged on the
    period's last day, or today while it runs), quality tickets opened / overdue / closed / closed in
    time in the period; per department: its reviews of applications decided in the period, on time,
    and deemed approved (no decision by the due date)."""
    as_of = min(period.end - timedelta(days=1), today)
    registrations = [
        r
        for r in _rows(platform, catalog_registrations)
        if (china_day(r["accepted_at"]) or date.max) < period.end
    ]
    registered_by: dict[str, set[str]] = {}
    for r in registrations:
        registered_by.setdefault(r["dataset_id"], set()).add(r["county_code"])
    entries = [(catalog[d], counties) for d, counties in registered_by.items() if d in catalog]
    mounting = mounting_status(exchange, entries, city, as_of) if entries else None
    tickets = _rows(platform, quality_tickets)
    reviews = _rows(platform, application_reviews, application_reviews.c.reviewer == "department")

    found: list[DepartmentFigures] = []
    for department in city.departments:
        figures = DepartmentFigures(department.id, department.name)
        for county in city.counties:
            row = DepartmentCounty(
                department.id, department.name_in(county), county.code, county.name
            )
            mine = {
                r["dataset_id"]
                for r in registrations
                if r["department_id"] == department.id and r["county_code"] == county.code
            }
            row.entries_registered = len(mine)
            if mounting is not None and mine:
                here = mounting[
                    (mounting["county_code"] == county.code)
                    & mounting["dataset_id"].isin(sorted(mine))
                    & mounting["registered"]
                ]
                row.entries_mounted = int((here["rows"] > 0).sum())
                row.entries_on_time = int(here["fresh"].sum())
            for t in tickets:
                if t["department_id"] != department.id or t["county_code"] != county.code:
                    continue
                closed_on = china_day(t["closed_at"])
                row.tickets_opened += period.contains(china_day(t["first_seen"]))
                if period.contains(closed_on):
                    row.tickets_closed += 1
                    row.tickets_closed_in_time += closed_on <= t["due_date"]
                if (
                    period.contains(t["due_date"])
                    and t["due_date"] < today
                    and (closed_on is None or closed_on > t["due_date"])
                ):
                    row.tickets_overdue += 1
            figures.counties.append(row)
        for review in reviews:
            if review["department_id"] != department.id:
                continue
            decided_on = china_day(review["decided_at"])
            if not period.contains(decided_on):
                continue
            if review["decision"] == "deemed_approved":
                figures.reviews_deemed += 1
            elif review["decision"] in ("approved", "rejected"):
                figures.reviews_decided += 1
                deadline = due(
                    review["started_on"], review["working_days"] + review["extension_days"]
                )
                figures.reviews_on_time += decided_on <= deadline.day
        found.append(figures)
    return found


def _in(period: Period, rows: list[dict], column: str, **equal: Any) -> int:
    return sum(
        1
        for r in rows
        if period.contains(china_day(r[column])) and all(r[k] == v for k, v in equal.items())
    )


def operator_figures(platform: Engine, period: Period) -> dict[str, Any]:
    """第三十二条: what the operator reports and discloses for the period."""
    publications = _rows(platform, operation_publications)
    suspensions = _rows(platform, supply_suspensions)
    apps = _rows(platform, applications)
    incidents = _rows(platform, security_incidents)
    assessments = _rows(platform, risk_assessments)
    merchant_rows = _rows(platform, merchants)
    compliance_on_time = 0
    compliance_checked = 0
    for a in apps:
        checked_on = china_day(a["compliance_at"])
        if period.contains(checked_on):
            compliance_checked += 1
            compliance_on_time += checked_on <= due(a["submitted_on"], COMPLIANCE_WORKING_DAYS).day
    by_level = Counter(i["level"] for i in incidents if period.contains(china_day(i["opened_at"])))
    return {
        "datasets_published": sum(p["status"] in ("published", "resumed") for p in publications),
        "datasets_suspended_now": len(
            {s["dataset_id"] for s in suspensions if s["resumed_at"] is None}
        ),
        "suspensions": _in(period, suspensions, "suspended_at"),
        "resumptions": _in(period, suspensions, "resumed_at"),
        "merchants_registered": _in(period, merchant_rows, "registered_at"),
        "merchants_approved": _in(period, merchant_rows, "decided_at", status="approved"),
        "applications_received": _in(period, apps, "submitted_at"),
        "compliance_checked": compliance_checked,
        "compliance_on_time": compliance_on_time,
        "compliance_failed": _in(period, apps, "compliance_at", status="compliance_failed"),
        "applications_approved": _in(period, apps, "decided_at", status="approved"),
        "applications_deemed_approved": _in(period, apps, "decided_at", status="deemed_approved"),
        "applications_rejected": _in(period, apps, "decided_at", status="rejected"),
        "applications_withdrawn": _in(period, apps, "withdrawn_at"),
        "grants_created": _in(period, _rows(platform, grants), "created_at"),
        "products_registered": _in(period, _rows(platform, products), "registered_at"),
        "products_filed": _in(period, _rows(platform, export_requests), "filed_at"),
        "exports_released": _in(period, _rows(platform, release_register), "released_at"),
        "incidents_opened": sum(by_level.values()),
        **{f"incidents_{level.value}": by_level.get(level.value, 0) for level in IncidentLevel},
        "incidents_closed": _in(period, incidents, "closed_at"),
        "risk_assessments": _in(period, assessments, "assessed_at"),
        "risk_unacceptable": _in(period, assessments, "assessed_at", conclusion="unacceptable"),
    }


OPERATOR_LABELS: dict[str, str] = {
    "datasets_published": "向运营平台供给的数据集（当前）",
    "datasets_suspended_now": "暂停供给中的数据集（当前）",
    "suspensions": "本期暂停供给次数",
    "resumptions": "本期恢复供给次数",
    "merchants_registered": "本期登记入驻的数据商",
    "merchants_approved": "本期核准入驻的数据商",
    "applications_received": "本期受理的数据使用申请",
    "compliance_checked": "本期完成合规核查的申请",
    "compliance_on_time": "其中在5个工作日内完成",
    "compliance_failed": "本期合规核查未通过",
    "applications_approved": "本期审核通过",
    "applications_deemed_approved": "本期视为同意",
    "applications_rejected": "本期审核未通过",
    "applications_withdrawn": "本期撤回",
    "grants_created": "本期形成的数据授权",
    "products_registered": "本期登记的数据产品",
    "products_filed": "本期备案的产品出域",
    "exports_released": "本期出域发布",
    "incidents_opened": "本期登记的安全事件",
    **{f"incidents_{lv.value}": f"其中{lv.label}" for lv in IncidentLevel},
    "incidents_closed": "本期关闭的安全事件",
    "risk_assessments": "本期风险评估",
    "risk_unacceptable": "其中结论为风险不可接受",
}

# what the public disclosure page (第三十二条 向社会披露) shows: aggregates of the operation
DISCLOSED = (
    "datasets_published",
    "merchants_approved",
    "applications_received",
    "applications_approved",
    "applications_deemed_approved",
    "applications_rejected",
    "grants_created",
    "products_registered",
    "products_filed",
    "exports_released",
    "incidents_opened",
)
