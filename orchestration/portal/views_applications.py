"""Data-use applications (第二十条, 第二十一条): a merchant follows its own applications with their status
and current due date; operator compliance staff check them; the bureau and the source departments of the
requested datasets review them, a refusal with its reason — through ``assets.authorization``, which
applies the working-day clock and writes the audit entries."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.authorize import Account
from assets.accounts.roles import Role
from assets.authorization.applications import Application, get_application, list_applications
from assets.authorization.records import AuthorizationError, NotFound
from assets.authorization.reviews import comply, review
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account, may
from orchestration.portal.context import PortalContext, portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form


def _scope(account: Account, application: Application) -> dict[str, str | None]:
    """The scope an account sees an application in: its merchant, or the reviewing department."""
    if account.role is Role.MERCHANT_USER:
        return {"merchant_id": application.merchant_id}
    if account.role is Role.DEPARTMENT_OFFICE:
        departments = {r.department_id for r in application.reviews if r.department_id}
        mine = account.department_id if account.department_id in departments else None
        return {"department_id": mine or f"?{application.application_id}"}
    return {}


def _visible(account: Account, application: Application) -> bool:
    return may(account, p.VIEW_APPLICATIONS, **_scope(account, application))


def _application(ctx: PortalContext, application_id: str) -> Application:
    try:
        return get_application(ctx.platform, application_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


def applications_page(request: Request) -> Response:
    account = current_account(request)
    own = {"merchant_id": account.merchant_id, "department_id": account.department_id}
    authorize(request, p.VIEW_APPLICATIONS, **own)
    ctx = portal(request)
    merchant = account.merchant_id if account.role is Role.MERCHANT_USER else None
    found = [
        a for a in list_applications(ctx.platform, merchant_id=merchant) if _visible(account, a)
    ]
    today = ctx.today()
    return render(
        request,
        "applications.html",
        {
            "applications": [a.as_record(today=today) for a in found],
            "may_submit": may(account, p.SUBMIT_APPLICATION, merchant_id=account.merchant_id),
        },
        account=account,
    )


def application_page(request: Request) -> Response:
    ctx = portal(request)
    account = current_account(request)
    application = _application(ctx, request.path_params["application_id"])
    authorize(request, p.VIEW_APPLICATIONS, **_scope(account, application))
    pending = {
        (r.reviewer, r.department_id) for r in application.reviews if r.decision == "pending"
    }
    reviewer = _reviewer(account)
    return render(
        request,
        "application.html",
        {
            "application": application.as_record(today=ctx.today()),
            "titles": {d: ctx.dataset_title(d) for d in application.datasets},
            "may_comply": application.status == "submitted" and may(account, p.COMPLY_APPLICATION),
            "may_review": application.status == "compliance_passed"
            and reviewer is not None
            and reviewer in pending,
        },
        account=account,
    )


def _reviewer(account: Account) -> tuple[str, str | None] | None:
    if account.role is Role.BUREAU:
        return ("bureau", None)
    if account.role is Role.DEPARTMENT_OFFICE and account.county_code is None:
        return ("department", account.department_id)
    return None


async def comply_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, p.COMPLY_APPLICATION)
    ctx = portal(request)
    application_id = request.path_params["application_id"]
    passed = form.get("decision") == "pass"
    reason = str(form.get("reason") or "").strip()[:2000] or None
    try:
        await run_in_threadpool(
            lambda: comply(
                ctx.platform,
                account.name,
                ctx.catalog,
                application_id,
                passed=passed,
                today=ctx.today(),
                reason=reason,
            )
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except AuthorizationError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"申请 {application_id} 合规核查{'通过' if passed else '未通过'}。")
    return RedirectResponse(f"/applications/{quote(application_id)}", status_code=303)


async def review_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(current_account, request)
    reviewer = _reviewer(account)
    department = reviewer[1] if reviewer else None
    await run_in_threadpool(authorize, request, p.REVIEW_APPLICATION, department_id=department)
    if reviewer is None:
        raise HTTPException(403, "只有市数据局和市级数源部门审核数据使用申请")
    ctx = portal(request)
    application_id = request.path_params["application_id"]
    approve = form.get("decision") == "approve"
    reason = str(form.get("reason") or "").strip()[:2000] or None
    try:
        await run_in_threadpool(
            lambda: review(
                ctx.platform,
                account.name,
                ctx.catalog,
                application_id,
                reviewer=reviewer[0],
                department_id=reviewer[1],
                approve=approve,
                today=ctx.today(),
                reason=reason,
            )
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except AuthorizationError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"申请 {application_id} 审核{'同意' if approve else '不同意'}。")
    return RedirectResponse(f"/applications/{quote(application_id)}", status_code=303)
