"""Data-use applications (数据使用申请, 第二十条): what a merchant asks for — scenario, datasets and items
(信息项), purpose, method, period, safeguards — and the checks at submission:

- an active operator authorization (第十三条) must cover every requested dataset and the scenario;
- the merchant must be registered and have signed the current development agreement (第十九条);
- a 禁止开放 dataset is refused (第四条), and so is an item the operation table does not publish (set
  empty by the desensitization policy, or a dataset not yet published): the grant is on columns of the
  operation table, and an empty column is no data.

The operator's compliance check is then due in 5 working days; the reviews that follow are in
``reviews.py``. Every application shows its current ``due_date`` (and whether the calendar behind it is
provisional).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.authorization.agreements import signers_of_current
from assets.authorization.operator import (
    active_authorizations,
    covering_authorization,
    no_authorization_message,
)
from assets.authorization.records import (
    AuthorizationError,
    NotFound,
    authorize,
    china_time,
    due,
    fetch_all,
    fetch_one,
    iso,
    next_id,
    require_reason,
    utc_now,
    write_audit,
)
from assets.common.catalog import CatalogEntry
from assets.common.workdays import Due, WorkCalendar
from assets.storage.tables import (
    application_items,
    application_reviews,
    applications,
    merchants,
    operation_publications,
)

COMPLIANCE_WORKING_DAYS = 5  # 第二十条
REVIEW_WORKING_DAYS = 10  # 第二十一条

SUBMIT = "application_submit"

STATUS_LABELS = {
    "submitted": "已受理，待合规核查",
    "compliance_passed": "合规核查通过，审核中",
    "compliance_failed": "合规核查未通过",
    "approved": "审核通过",
    "deemed_approved": "视为同意",
    "rejected": "审核未通过",
    "withdrawn": "已撤回",
    "expired": "已过期",
}
OPEN_STATUSES = ("submitted", "compliance_passed")
GRANTED_STATUSES = ("approved", "deemed_approved")
METHOD_LABELS = {"sandbox": "沙箱查询", "interface": "接口调用", "model": "模型计算"}
REVIEWER_LABELS = {"bureau": "市公共数据主管部门", "department": "数源部门"}
DECISION_LABELS = {
    "pending": "待审核",
    "approved": "同意",
    "rejected": "不同意",
    "deemed_approved": "视为同意",
}


@dataclass(frozen=True)
class RequestedItem:
    dataset_id: str
    column: str
    item_name: str


@dataclass(frozen=True)
class Review:
    id: int
    application_id: str
    reviewer: str  # bureau | department
    department_id: str | None
    started_on: date
    working_days: int
    extension_days: int
    extension_reason: str | None
    decision: str  # pending | approved | rejected | deemed_approved
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    def due(self, calendar: WorkCalendar | None = None) -> Due:
        return due(self.started_on, self.working_days + self.extension_days, calendar)

    @property
    def label(self) -> str:
        who = REVIEWER_LABELS[self.reviewer]
        return f"{who}（{self.department_id}）" if self.department_id else who

    def as_record(self, calendar: WorkCalendar | None = None) -> dict[str, object]:
        deadline = self.due(calendar)
        return {
            "reviewer": self.reviewer,
            "department": self.department_id,
            "label": self.label,
            "started_on": self.started_on.isoformat(),
            "working_days": self.working_days,
            "extension_days": self.extension_days,
            "extension_reason": self.extension_reason,
            "due_date": deadline.day.isoformat(),
            "due_date_provisional": deadline.provisional,
            "decision": self.decision,
            "decision_label": DECISION_LABELS[self.decision],
            "decided_by": self.decided_by,
            "decided_at": china_time(self.decided_at),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Application:
    application_id: str
    merchant_id: str
    scenario: str
    purpose: str
    method: str
    period_start: date
    period_end: date
    safeguards: str
    status: str
    submitted_by: str
    submitted_at: datetime
    submitted_on: date
    compliance_by: str | None
    compliance_at: datetime | None
    compliance_on: date | None
    compliance_reason: str | None
    decided_at: datetime | None
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    items: tuple[RequestedItem, ...] = ()
    reviews: tuple[Review, ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(item.dataset_id for item in self.items))

    def columns(self, dataset_id: str) -> tuple[str, ...]:
        return tuple(i.column for i in self.items if i.dataset_id == dataset_id)

    def current_due(self, calendar: WorkCalendar | None = None) -> Due | None:
        """What the application waits for: the compliance check, or the last pending review."""
        if self.status == "submitted":
            return due(self.submitted_on, COMPLIANCE_WORKING_DAYS, calendar)
        if self.status == "compliance_passed":
            pending = [r.due(calendar) for r in self.reviews if r.decision == "pending"]
            if pending:
                return Due(
                    day=max(d.day for d in pending), provisional=any(d.provisional for d in pending)
                )
        return None

    def as_record(
        self, calendar: WorkCalendar | None = None, today: date | None = None
    ) -> dict[str, object]:
        deadline = self.current_due(calendar)
        return {
            "application_id": self.application_id,
            "merchant_id": self.merchant_id,
            "scenario": self.scenario,
            "purpose": self.purpose,
            "method": self.method,
            "method_label": METHOD_LABELS[self.method],
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "safeguards": self.safeguards,
            "status": self.status,
            "status_label": self.status_label,
            "due_date": deadline.day.isoformat() if deadline else None,
            "due_date_provisional": deadline.provisional if deadline else None,
            "overdue": bool(deadline and today and today > deadline.day),
            "datasets": {
                dataset_id: [
                    {"item": i.item_name, "column": i.column}
                    for i in self.items
                    if i.dataset_id == dataset_id
                ]
                for dataset_id in self.datasets
            },
            "submitted_by": self.submitted_by,
            "submitted_at": china_time(self.submitted_at),
            "submitted_on": iso(self.submitted_on),
            "compliance": {
                "by": self.compliance_by,
                "at": china_time(self.compliance_at),
                "reason": self.compliance_reason,
            },
            "reviews": [review.as_record(calendar) for review in self.reviews],
            "decided_at": china_time(self.decided_at),
            "withdrawn_by": self.withdrawn_by,
            "withdrawn_at": china_time(self.withdrawn_at),
            "withdraw_reason": self.withdraw_reason,
        }


def dataset_domains(entry: CatalogEntry) -> tuple[str, ...]:
    """The domains a 分领域授权 can name for a dataset: its 门类 and 业务属性."""
    return tuple(v for k, v in entry.classification.items() if k in ("门类", "业务属性") and v)


def published_columns(engine: Engine, dataset_id: str) -> dict[str, str] | None:
    """Column → transformation of the dataset's operation table, or None when never published."""
    row = fetch_one(
        engine,
        sa.select(operation_publications).where(operation_publications.c.dataset_id == dataset_id),
    )
    if row is None or row["status"] == "prohibited" or not row["transformations"]:
        return None
    return dict(row["transformations"])


def resolve_items(
    engine: Engine, catalog: Mapping[str, CatalogEntry], requested: Mapping[str, Sequence[str]]
) -> list[RequestedItem]:
    """Map requested item names (or column names) to operation-table columns; every refusal reason
    (禁止开放, unknown dataset or item, an item the operation table does not publish) at once."""
    problems: list[str] = []
    resolved: list[RequestedItem] = []
    if not requested:
        raise AuthorizationError("须列出申请的数据集及其信息项")
    for dataset_id, names in requested.items():
        entry = catalog.get(dataset_id)
        if entry is None:
            problems.append(f"目录中没有数据集 {dataset_id}")
            continue
        if entry.is_prohibited:
            problems.append(
                f"{entry.title}（{dataset_id}）开放属性为禁止开放，依第四条不得授权运营，不能申请"
            )
            continue
        if not names:
            problems.append(f"{entry.title}（{dataset_id}）未列出信息项")
            continue
        published = published_columns(engine, dataset_id)
        if published is None:
            problems.append(f"{entry.title}（{dataset_id}）尚未在运营平台发布，暂不能申请")
            continue
        by_name = {item.name: item for item in entry.items} | {i.column: i for i in entry.items}
        for name in dict.fromkeys(n.strip() for n in names):
            item = by_name.get(name)
            if item is None:
                problems.append(f"{entry.title} 没有信息项“{name}”")
            elif published.get(item.column) in (None, "suppressed"):
                problems.append(
                    f"{entry.title} 的信息项“{item.name}”在运营平台上不提供（按脱敏策略置空或未发布）"
                )
            else:
                resolved.append(RequestedItem(dataset_id, item.column, item.name))
    if problems:
        raise AuthorizationError("申请不予受理：" + "；".join(problems))
    return resolved


def submit_application(
    engine: Engine,
    account: str,
    catalog: Mapping[str, CatalogEntry],
    *,
    merchant_id: str,
    scenario: str,
    purpose: str,
    method: str,
    period_start: date,
    period_end: date,
    safeguards: str,
    items: Mapping[str, Sequence[str]],
    today: date,
) -> Application:
    """Accept (受理) a data-use application ``today``; the compliance clock starts."""
    actor = authorize(engine, account, "applications.submit", merchant_id=merchant_id)
    scenario = require_reason(scenario, "须写明应用场景")
    purpose = require_reason(purpose, "须写明使用目的")
    safeguards = require_reason(safeguards, "须写明安全防护措施（第二十条）")
    if method not in METHOD_LABELS:
        raise AuthorizationError(
            f"使用方式 {method} 不在允许范围（{'、'.join(f'{k} {v}' for k, v in METHOD_LABELS.items())}）"
        )
    if period_end < period_start:
        raise AuthorizationError(f"使用期限的结束日 {period_end} 早于开始日 {period_start}")
    if period_end < today:
        raise AuthorizationError(f"使用期限已于 {period_end} 结束")
    if not active_authorizations(engine, today):
        raise AuthorizationError(no_authorization_message(engine, today))
    merchant = fetch_one(engine, sa.select(merchants).where(merchants.c.merchant_id == merchant_id))
    if merchant is None:
        raise NotFound(f"没有数据商 {merchant_id}")
    if merchant["status"] != "approved":
        raise AuthorizationError(
            f"数据商 {merchant_id} 不是已注册状态（{merchant['status']}），不能申请"
        )
    if merchant_id not in signers_of_current(engine):
        raise AuthorizationError(
            f"数据商 {merchant_id} 尚未签署现行的公共数据开发利用格式协议（第十九条）"
        )
    resolved = resolve_items(engine, catalog, items)
    for dataset_id in dict.fromkeys(i.dataset_id for i in resolved):
        domains = dataset_domains(catalog[dataset_id])
        if covering_authorization(engine, today, domains, scenario) is None:
            raise AuthorizationError(
                f"生效中的运营授权不涵盖 {catalog[dataset_id].title}（领域 "
                f"{'、'.join(domains) or '无'}）或应用场景“{scenario}”，申请不予受理"
            )
    now = utc_now()
    with engine.begin() as connection:
        application_id = next_id(connection, applications, "application_id", "a")
        connection.execute(
            applications.insert().values(
                application_id=application_id,
                merchant_id=merchant_id,
                scenario=scenario,
                purpose=purpose,
                method=method,
                period_start=period_start,
                period_end=period_end,
                safeguards=safeguards,
                status="submitted",
                submitted_by=actor.name,
                submitted_at=now,
                submitted_on=today,
            )
        )
        connection.execute(
            application_items.insert(),
            [
                {
                    "application_id": application_id,
                    "dataset_id": i.dataset_id,
                    "column_name": i.column,
                    "item_name": i.item_name,
                }
                for i in resolved
            ],
        )
        compliance_due = due(today, COMPLIANCE_WORKING_DAYS)
        write_audit(
            connection,
            actor,
            SUBMIT,
            f"authorization/application/{application_id}",
            detail={
                "merchant": merchant_id,
                "columns": [f"{i.dataset_id}.{i.column}" for i in resolved],
                "method": method,
                "due_date": compliance_due.day.isoformat(),
                "due_date_provisional": compliance_due.provisional,
            },
            at=now,
        )
    return get_application(engine, application_id)


def _reviews(engine: Engine, ids: Sequence[str]) -> dict[str, list[Review]]:
    out: dict[str, list[Review]] = {}
    query = (
        sa.select(application_reviews)
        .where(application_reviews.c.application_id.in_(list(ids)))
        .order_by(application_reviews.c.id)
    )
    for row in fetch_all(engine, query):
        out.setdefault(row["application_id"], []).append(
            Review(**{k: row[k] for k in Review.__dataclass_fields__})
        )
    return out


def _items(engine: Engine, ids: Sequence[str]) -> dict[str, list[RequestedItem]]:
    out: dict[str, list[RequestedItem]] = {}
    query = sa.select(application_items).where(application_items.c.application_id.in_(list(ids)))
    for row in fetch_all(engine, query):
        out.setdefault(row["application_id"], []).append(
            RequestedItem(row["dataset_id"], row["column_name"], row["item_name"])
        )
    return out


def list_applications(
    engine: Engine,
    *,
    merchant_id: str | None = None,
    status: str | None = None,
    application_id: str | None = None,
) -> list[Application]:
    query = sa.select(applications).order_by(applications.c.id)
    if application_id is not None:
        query = query.where(applications.c.application_id == application_id)
    if merchant_id is not None:
        query = query.where(applications.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(applications.c.status == status)
    rows = fetch_all(engine, query)
    ids = [row["application_id"] for row in rows]
    items, reviews = _items(engine, ids), _reviews(engine, ids)
    fields = [f for f in Application.__dataclass_fields__ if f not in ("items", "reviews")]
    return [
        Application(
            **{k: row[k] for k in fields},
            items=tuple(
                sorted(items.get(row["application_id"], []), key=lambda i: (i.dataset_id, i.column))
            ),
            reviews=tuple(reviews.get(row["application_id"], [])),
        )
        for row in rows
    ]


def get_application(engine: Engine, application_id: str) -> Application:
    found = list_applications(engine, application_id=application_id)
    if not found:
        raise NotFound(f"没有数据使用申请 {application_id}")
    return found[0]
