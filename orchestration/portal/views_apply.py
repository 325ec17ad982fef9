"""A merchant submits a data-use application (第二十条) in the portal: the datasets and items the
operation platform publishes, scenario, purpose, method, period and safeguards — through
``assets.authorization.applications.submit_application`` as the signed-in account, which checks the
operator's authorization, the merchant's registration and signed agreement, refuses what the measures
do not allow, starts the working-day clock and writes the audit entry."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.authorization.applications import (
    METHOD_LABELS,
    published_columns,
    submit_application,
)
from assets.authorization.records import AuthorizationError
from orchestration.portal import labels
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account
from orchestration.portal.context import PortalContext, portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form

MAX_TEXT = 2000


def offered_items(ctx: PortalContext) -> list[dict[str, object]]:
    """Per dataset open to applications: the items its operation table publishes (not 禁止开放, not
    set empty by desensitization), with the desensitization applied."""
    offered = []
    for entry in ctx.catalog.values():
        if entry.is_prohibited:
            continue
        published = published_columns(ctx.platform, entry.dataset_id)
        if not published:
            continue
        items = [
            {
                "value": f"{entry.dataset_id}/{item.column}",
                "name": item.name,
                "transformation": labels.TRANSFORMATIONS.get(
                    published[item.column], published[item.column]
                ),
            }
            for item in entry.items
            if published.get(item.column) not in (None, "suppressed")
        ]
        if items:
            offered.append({"dataset_id": entry.dataset_id, "title": entry.title, "items": items})
    return offered


def _own_merchant(request: Request):
    """The signed-in merchant user, checked for ``applications.submit`` on its own merchant."""
    account = current_account(request)
    return authorize(request, p.SUBMIT_APPLICATION, merchant_id=account.merchant_id)


def new_application_page(request: Request) -> Response:
    return _form(request, _own_merchant(request))


def _form(request: Request, account) -> Response:
    ctx = portal(request)
    today = ctx.today()
    return render(
        request,
        "application_new.html",
        {
            "datasets": offered_items(ctx),
            "methods": METHOD_LABELS,
            "today": today.isoformat(),
            "default_end": date(today.year + 1, today.month, min(today.day, 28)).isoformat(),
        },
        account=account,
    )


def _day(value: object, what: str) -> date:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise AuthorizationError(f"{what}须为日期（如 2026-12-31）") from None


def _items(values: list[str]) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for value in values:
        dataset_id, _, column = value.partition("/")
        if dataset_id and column:
            chosen.setdefault(dataset_id, []).append(column)
    return chosen


async def new_application_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(_own_merchant, request)
    ctx = portal(request)

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()[:MAX_TEXT]

    try:
        application = await run_in_threadpool(
            lambda: submit_application(
                ctx.platform,
                account.name,
                ctx.catalog,
                merchant_id=account.merchant_id or "",
                scenario=text("scenario"),
                purpose=text("purpose"),
                method=text("method"),
                period_start=_day(form.get("period_start"), "使用期限的开始日"),
                period_end=_day(form.get("period_end"), "使用期限的结束日"),
                safeguards=text("safeguards"),
                items=_items([str(v) for v in form.getlist("item")]),
                today=ctx.today(),
            )
        )
    except AuthorizationError as exc:
        flash(request, f"未受理：{exc}", "error")
        return RedirectResponse("/applications/new", status_code=303)
    record = application.as_record(today=ctx.today())
    provisional = "（依据暂定日历）" if record["due_date_provisional"] else ""
    flash(
        request,
        f"申请 {application.application_id} 已受理，授权运营单位须在 {record['due_date']}"
        f"{provisional} 前完成合规核查（5 个工作日）。",
    )
    return RedirectResponse(f"/applications/{quote(application.application_id)}", status_code=303)
