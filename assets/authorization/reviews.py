"""The application's clock after submission (第二十条, 第二十一条):

1. the operator's compliance check, due 5 working days after acceptance (核查结果报送数源部门和主管部门);
2. on passing, the bureau and the source department of every requested dataset each review it within 10
   working days (a reviewer may formally extend its own review once, with the reason: 正式提出延期);
3. a refusal must list its reasons; a review not decided by its due date, without a formal extension, is
   deemed approved (视为同意) — applied by the daily job, never on a provisional due date (a calendar year
   whose official schedule is not loaded yet), and never before the day after the due date;
4. when every review is approved (or deemed approved) the application is approved (``approved``, or
   ``deemed_approved`` when any review was deemed) and its grants are created; one refusal rejects it.

A withdrawal revokes the application's grants; the period's end expires it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.engine import Connection, Engine

from assets.authorization.applications import (
    COMPLIANCE_WORKING_DAYS,
    GRANTED_STATUSES,
    OPEN_STATUSES,
    REVIEW_WORKING_DAYS,
    STATUS_LABELS,
    Application,
    Review,
    dataset_domains,
    get_application,
    list_applications,
)
from assets.authorization.grants import create_grant, revoke_grants
from assets.authorization.records import (
    Actor,
    AuthorizationError,
    authorize,
    due,
    require_reason,
    utc_now,
    write_audit,
)
from assets.common.catalog import CatalogEntry
from assets.common.workdays import WorkCalendar
from assets.storage.tables import application_reviews, applications

COMPLIANCE_PASS = "application_compliance_pass"
COMPLIANCE_FAIL = "application_compliance_fail"
REVIEW_APPROVE = "application_review_approve"
REVIEW_REJECT = "application_review_reject"
REVIEW_EXTEND = "application_review_extend"
REVIEW_DEEMED = "application_review_deemed"
DECIDED = "application_decided"
WITHDRAW = "application_withdraw"
EXPIRE = "application_expire"

MAX_EXTENSION_DAYS = 10
SYSTEM = Actor("system:publicdata", None)


def _reviewer(engine: Engine, account: str, reviewer: str, department_id: str | None) -> Actor:
    """The bureau reviews as the bureau; a source department's review needs that department's
    city-level office (the application is about the whole city's dataset)."""
    if reviewer == "bureau":
        if department_id is not None:
            raise AuthorizationError("市公共数据主管部门的审核不带数源部门")
        return authorize(engine, account, "applications.review")
    if reviewer != "department" or not department_id:
        raise AuthorizationError(
            "审核方应为 bureau（市公共数据主管部门）或 department（须指明数源部门）"
        )
    return authorize(engine, account, "applications.review", department_id=department_id)


def _target(application_id: str) -> str:
    return f"authorization/application/{application_id}"


def _require_status(application: Application, *allowed: str) -> None:
    if application.status not in allowed:
        raise AuthorizationError(
            f"申请 {application.application_id} 当前为“{application.status_label}”，不能执行此操作"
        )


def comply(
    engine: Engine,
    account: str,
    catalog: dict[str, CatalogEntry],
    application_id: str,
    *,
    passed: bool,
    today: date,
    reason: str | None = None,
) -> Application:
    """The operator's compliance check; passing starts the reviews of the bureau and of the source
    department of every requested dataset."""
    actor = authorize(engine, account, "applications.compliance")
    application = get_application(engine, application_id)
    _require_status(application, "submitted")
    if not passed:
        reason = require_reason(reason, "合规核查未通过必须写明理由")
    departments = sorted({catalog[d].provider for d in application.datasets if d in catalog})
    deadline = due(application.submitted_on, COMPLIANCE_WORKING_DAYS)
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            applications.update()
            .where(applications.c.application_id == application_id)
            .values(
                status="compliance_passed" if passed else "compliance_failed",
                compliance_by=actor.name,
                compliance_at=now,
                compliance_on=today,
                compliance_reason=reason,
                decided_at=None if passed else now,
            )
        )
        if passed:
            connection.execute(
                application_reviews.insert(),
                [
                    {
                        "application_id": application_id,
                        "reviewer": reviewer,
                        "department_id": department,
                        "started_on": today,
                        "working_days": REVIEW_WORKING_DAYS,
                        "extension_days": 0,
                        "decision": "pending",
                    }
                    for reviewer, department in [
                        ("bureau", None),
                        *(("department", d) for d in departments),
                    ]
                ],
            )
        write_audit(
            connection,
            actor,
            COMPLIANCE_PASS if passed else COMPLIANCE_FAIL,
            _target(application_id),
            reason=reason,
            detail={
                "due_date": deadline.day.isoformat(),
                "late": today > deadline.day,
                "reported_to": ["bureau", *departments],  # 核查结果报送数源部门、主管部门
            },
            at=now,
        )
    return get_application(engine, application_id)


def _pending_review(application: Application, reviewer: str, department_id: str | None) -> Review:
    for review in application.reviews:
        if review.reviewer == reviewer and review.department_id == department_id:
            if review.decision != "pending":
                raise AuthorizationError(f"{review.label} 已作出审核（{review.decision}）")
            return review
    raise AuthorizationError(
        f"申请 {application.application_id} 没有待{REVIEWER_TEXT.get(reviewer, reviewer)}"
        f"{'（' + department_id + '）' if department_id else ''}作出的审核"
    )


REVIEWER_TEXT = {"bureau": "市公共数据主管部门", "department": "数源部门"}


def review(
    engine: Engine,
    account: str,
    catalog: dict[str, CatalogEntry],
    application_id: str,
    *,
    reviewer: str,
    approve: bool,
    today: date,
    department_id: str | None = None,
    reason: str | None = None,
) -> Application:
    """A reviewer's decision. A refusal without a reason is refused (第二十一条); a decision after an
    official due date is refused too: the review is then deemed approved."""
    actor = _reviewer(engine, account, reviewer, department_id)
    application = get_application(engine, application_id)
    _require_status(application, "compliance_passed")
    pending = _pending_review(application, reviewer, department_id)
    if not approve:
        reason = require_reason(reason, "审核不通过必须明确列出理由（第二十一条）")
    deadline = pending.due()
    if today > deadline.day and not deadline.provisional:
        raise AuthorizationError(
            f"{pending.label} 的审核期限 {deadline.day} 已过且未申请延期，依第二十一条视为同意，"
            "不能再作出审核"
        )
    now = utc_now()
    with engine.begin() as connection:
        _decide_review(
            connection, pending, "approved" if approve else "rejected", actor, reason, now
        )
        write_audit(
            connection,
            actor,
            REVIEW_APPROVE if approve else REVIEW_REJECT,
            _target(application_id),
            reason=reason,
            detail={
                "reviewer": reviewer,
                "department": department_id,
                "due_date": deadline.day.isoformat(),
            },
            at=now,
        )
    return _settle(engine, actor, catalog, application_id, now)


def extend_review(
    engine: Engine,
    account: str,
    application_id: str,
    *,
    reviewer: str,
    days: int,
    reason: str,
    today: date,
    department_id: str | None = None,
) -> Application:
    """正式提出延期审核: once per review, before its due date, with a reason."""
    actor = _reviewer(engine, account, reviewer, department_id)
    reason = require_reason(reason, "延期审核必须写明理由")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise AuthorizationError(f"延期应为 1–{MAX_EXTENSION_DAYS} 个工作日")
    application = get_application(engine, application_id)
    _require_status(application, "compliance_passed")
    pending = _pending_review(application, reviewer, department_id)
    if pending.extension_days:
        raise AuthorizationError(f"{pending.label} 已延期一次")
    if today > pending.due().day:
        raise AuthorizationError(f"{pending.label} 的审核期限 {pending.due().day} 已过，不能再延期")
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            application_reviews.update()
            .where(application_reviews.c.id == pending.id)
            .values(extension_days=days, extension_reason=reason)
        )
        write_audit(
            connection,
            actor,
            REVIEW_EXTEND,
            _target(application_id),
            reason=reason,
            detail={"reviewer": reviewer, "department": department_id, "days": days},
            at=now,
        )
    return get_application(engine, application_id)


def _decide_review(
    connection: Connection,
    review: Review,
    decision: str,
    actor: Actor,
    reason: str | None,
    at: datetime,
) -> None:
    connection.execute(
        application_reviews.update()
        .where(application_reviews.c.id == review.id, application_reviews.c.decision == "pending")
        .values(decision=decision, decided_by=actor.name, decided_at=at, reason=reason)
    )


def _settle(
    engine: Engine,
    actor: Actor,
    catalog: dict[str, CatalogEntry],
    application_id: str,
    at: datetime,
) -> Application:
    """Decide the application from its reviews: one refusal rejects it; all approved (or deemed)
    approves it and creates its grants."""
    application = get_application(engine, application_id)
    if application.status != "compliance_passed":
        return application
    decisions = [r.decision for r in application.reviews]
    if "rejected" in decisions:
        status = "rejected"
    elif decisions and all(d in ("approved", "deemed_approved") for d in decisions):
        status = "deemed_approved" if "deemed_approved" in decisions else "approved"
    else:
        return application
    with engine.begin() as connection:
        changed = connection.execute(
            applications.update()
            .where(
                applications.c.application_id == application_id,
                applications.c.status == "compliance_passed",
            )
            .values(status=status, decided_at=at)
        ).rowcount
        if not changed:
            return get_application(engine, application_id)
        granted: list[str] = []
        if status in GRANTED_STATUSES:
            for dataset_id in application.datasets:
                granted.append(
                    create_grant(
                        connection,
                        actor,
                        application_id=application_id,
                        merchant_id=application.merchant_id,
                        dataset_id=dataset_id,
                        columns=application.columns(dataset_id),
                        domains=dataset_domains(catalog[dataset_id])
                        if dataset_id in catalog
                        else (),
                        scenario=application.scenario,
                        valid_from=application.period_start,
                        valid_to=application.period_end,
                        at=at,
                    )
                )
        write_audit(
            connection,
            actor,
            DECIDED,
            _target(application_id),
            reason=STATUS_LABELS[status],
            detail={"status": status, "grants": granted},
            at=at,
        )
    return get_application(engine, application_id)


@dataclass
class DailyOutcome:
    """What one run of the daily job did."""

    today: date
    deemed: list[dict[str, object]] = field(default_factory=list)  # reviews deemed approved
    held_provisional: list[dict[str, object]] = field(default_factory=list)
    decided: dict[str, str] = field(default_factory=dict)  # application → new status
    expired: list[str] = field(default_factory=list)

    def as_record(self) -> dict[str, object]:
        return {
            "today": self.today.isoformat(),
            "deemed": self.deemed,
            "held_provisional": self.held_provisional,
            "decided": self.decided,
            "expired": self.expired,
        }


def apply_deemed_approvals(
    engine: Engine,
    catalog: dict[str, CatalogEntry],
    today: date,
    *,
    calendar: WorkCalendar | None = None,
    actor: Actor = SYSTEM,
) -> DailyOutcome:
    """视为同意: every pending review whose official due date is before ``today`` is deemed approved and
    recorded as such; a review whose due date rests on a provisional calendar is held (listed) until
    the year's official schedule is loaded. Then the period's end expires applications."""
    outcome = DailyOutcome(today=today)
    now = utc_now()
    for application in list_applications(engine, status="compliance_passed"):
        touched = False
        for pending in (r for r in application.reviews if r.decision == "pending"):
            deadline = pending.due(calendar)
            entry = {
                "application_id": application.application_id,
                "reviewer": pending.reviewer,
                "department": pending.department_id,
                "due_date": deadline.day.isoformat(),
            }
            if today <= deadline.day:
                continue
            if deadline.provisional:
                outcome.held_provisional.append(entry)
                continue
            reason = (
                f"{pending.label} 未在审核期限 {deadline.day} 前作出审核且未正式提出延期，"
                "依第二十一条视为同意"
            )
            with engine.begin() as connection:
                _decide_review(connection, pending, "deemed_approved", actor, reason, now)
                write_audit(
                    connection,
                    actor,
                    REVIEW_DEEMED,
                    _target(application.application_id),
                    reason=reason,
                    detail={**entry, "today": today.isoformat()},
                    at=now,
                )
            outcome.deemed.append(entry)
            touched = True
        if touched:
            settled = _settle(engine, actor, catalog, application.application_id, now)
            if settled.status != "compliance_passed":
                outcome.decided[settled.application_id] = settled.status
    outcome.expired = expire_applications(engine, today, actor=actor)
    return outcome


def expire_applications(engine: Engine, today: date, *, actor: Actor = SYSTEM) -> list[str]:
    """Applications whose period ended before ``today``: pending ones and granted ones expire (their
    grants end with the period; they are revoked too, so no grant outlives its application)."""
    now = utc_now()
    expired: list[str] = []
    for application in list_applications(engine):
        if application.status not in (*OPEN_STATUSES, *GRANTED_STATUSES):
            continue
        if application.period_end >= today:
            continue
        with engine.begin() as connection:
            connection.execute(
                applications.update()
                .where(applications.c.application_id == application.application_id)
                .values(status="expired", decided_at=application.decided_at or now)
            )
            revoked = revoke_grants(
                connection,
                actor,
                reason=f"使用期限已于 {application.period_end} 届满",
                application_id=application.application_id,
                at=now,
            )
            write_audit(
                connection,
                actor,
                EXPIRE,
                _target(application.application_id),
                reason=f"使用期限已于 {application.period_end} 届满",
                detail={"previous_status": application.status, "grants": revoked},
                at=now,
            )
        expired.append(application.application_id)
    return expired


def withdraw(
    engine: Engine, account: str, application_id: str, *, reason: str | None = None
) -> Application:
    """The merchant withdraws its application (an approved one too: its grants are revoked)."""
    application = get_application(engine, application_id)
    actor = authorize(engine, account, "applications.withdraw", merchant_id=application.merchant_id)
    _require_status(application, *OPEN_STATUSES, *GRANTED_STATUSES)
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            applications.update()
            .where(applications.c.application_id == application_id)
            .values(
                status="withdrawn",
                withdrawn_by=actor.name,
                withdrawn_at=now,
                withdraw_reason=reason,
            )
        )
        revoked = revoke_grants(
            connection,
            actor,
            reason=f"申请已撤回{('：' + reason) if reason else ''}",
            application_id=application_id,
            at=now,
        )
        write_audit(
            connection,
            actor,
            WITHDRAW,
            _target(application_id),
            reason=reason,
            detail={"previous_status": application.status, "grants": revoked},
            at=now,
        )
    return get_application(engine, application_id)
