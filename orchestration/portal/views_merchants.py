"""Merchants (第十八条): a merchant user registers its merchant and follows the decision; operator staff
decide within 5 working days, a refusal with its reason — through ``assets.authorization.merchants``,
which writes the audit entries. A merchant user sees its own merchant only."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.roles import Role
from assets.authorization.merchants import (
    decide_merchant,
    get_merchant,
    list_merchants,
    register_merchant,
)
from assets.authorization.records import AuthorizationError, NotFound
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account, may
from orchestration.portal.context import portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form


def _record(merchant) -> dict[str, object]:
    return merchant.as_record()


def merchants_page(request: Request) -> Response:
    account = current_account(request)
    if account.role is Role.MERCHANT_USER and account.merchant_id:
        return RedirectResponse(f"/merchants/{quote(account.merchant_id)}", status_code=303)
    authorize(request, p.VIEW_MERCHANTS)
    ctx = portal(request)
    merchants = [_record(m) for m in list_merchants(ctx.platform)]
    return render(
        request,
        "merchants.html",
        {"merchants": merchants, "may_decide": may(account, p.DECIDE_MERCHANT)},
        account=account,
    )


def merchant_page(request: Request) -> Response:
    merchant_id = request.path_params["merchant_id"]
    account = authorize(request, p.VIEW_MERCHANTS, merchant_id=merchant_id)
    ctx = portal(request)
    try:
        merchant = get_merchant(ctx.platform, merchant_id)
    except NotFound as exc:
        if account.role is Role.MERCHANT_USER:
            return RedirectResponse("/merchant/register", status_code=303)
        raise HTTPException(404, str(exc)) from exc
    return render(
        request,
        "merchant.html",
        {
            "merchant": _record(merchant),
            "may_decide": may(account, p.DECIDE_MERCHANT) and merchant.status == "pending",
        },
        account=account,
    )


def register_page(request: Request) -> Response:
    account = authorize(request, p.REGISTER_MERCHANT)
    return render(request, "merchant_register.html", {}, account=account)


async def register_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, p.REGISTER_MERCHANT)
    ctx = portal(request)
    merchant_id = str(form.get("merchant_id") or "").strip() or None
    qualifications = str(form.get("qualifications") or "").replace("，", ",").split(",")
    try:
        registered = await run_in_threadpool(
            lambda: register_merchant(
                ctx.platform,
                account.name,
                merchant_id=merchant_id,
                name=str(form.get("name") or ""),
                uscc=str(form.get("uscc") or ""),
                contact_name=str(form.get("contact_name") or ""),
                contact_phone=str(form.get("contact_phone") or ""),
                qualifications=qualifications,
                today=ctx.today(),
            )
        )
    except AuthorizationError as exc:
        flash(request, f"未受理：{exc}", "error")
        return RedirectResponse("/merchant/register", status_code=303)
    flash(request, f"数据商 {registered.merchant_id} 的注册申请已受理，须在 5 个工作日内核查。")
    return RedirectResponse(f"/merchants/{quote(registered.merchant_id)}", status_code=303)


async def decide(request: Request) -> Response:
    form = await checked_form(request)
    merchant_id = request.path_params["merchant_id"]
    account = await run_in_threadpool(authorize, request, p.DECIDE_MERCHANT)
    ctx = portal(request)
    approve = form.get("decision") == "approve"
    reason = str(form.get("reason") or "").strip()[:2000] or None
    try:
        await run_in_threadpool(
            lambda: decide_merchant(
                ctx.platform,
                account.name,
                merchant_id,
                approve=approve,
                reason=reason,
            )
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except AuthorizationError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"数据商 {merchant_id} {'予以注册' if approve else '不予注册'}。")
    return RedirectResponse(f"/merchants/{quote(merchant_id)}", status_code=303)
