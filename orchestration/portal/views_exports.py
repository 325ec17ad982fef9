"""Exports (出域, 第二十二条 and 第二十三条): a merchant requests one for its product, the automatic
checks run at once and their results are shown with their reasons; the operator's reviewer approves or
rejects with a reason; the bureau records the filing (备案号), which releases the result — through
``assets.exports`` as the signed-in account (``require`` and the audit entries are the domain's). A
merchant sees its own requests only."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.roles import Role
from assets.authorization.applications import GRANTED_STATUSES, list_applications
from assets.exports.intake import Source, request_export
from assets.exports.screening import CHECK_LABELS
from assets.exports.workflow import (
    ExportError,
    ExportRequest,
    file_export,
    get_export,
    list_exports,
    review_export,
)
from assets.products.register import ProductError, list_products
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account, may
from orchestration.portal.context import PortalContext, portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form

MAX_TEXT = 2000
MAX_SQL = 10_000


def _record(ctx: PortalContext, request: ExportRequest) -> dict[str, object]:
    record = request.as_record(ctx.exports_config, today=ctx.today())
    record["checks"] = [
        {**check, "label": CHECK_LABELS.get(str(check["name"]), check["name"])}
        for check in record["checks"]  # type: ignore[union-attr]
    ]
    return record


def _export(ctx: PortalContext, export_id: str) -> ExportRequest:
    try:
        return get_export(ctx.platform, export_id)
    except ExportError as exc:
        raise HTTPException(404, str(exc)) from exc


def exports_page(request: Request) -> Response:
    account = current_account(request)
    merchant = account.merchant_id if account.role is Role.MERCHANT_USER else None
    authorize(request, p.VIEW_EXPORTS, merchant_id=merchant)
    ctx = portal(request)
    found = list_exports(ctx.platform, merchant_id=merchant)
    return render(
        request,
        "exports.html",
        {
            "exports": [_record(ctx, e) for e in reversed(found)],
            "may_request": may(account, p.REQUEST_EXPORT, merchant_id=account.merchant_id),
        },
        account=account,
    )


def _own_merchant(request: Request):
    account = current_account(request)
    return authorize(request, p.REQUEST_EXPORT, merchant_id=account.merchant_id)


def new_export_page(request: Request) -> Response:
    account = _own_merchant(request)
    ctx = portal(request)
    merchant_id = account.merchant_id
    products = list_products(ctx.platform, merchant_id=merchant_id)
    applications = [
        a
        for a in list_applications(ctx.platform, merchant_id=merchant_id)
        if a.status in GRANTED_STATUSES
    ]
    return render(
        request,
        "export_new.html",
        {
            "products": [pr for pr in products if pr.status == "active"],
            "applications": applications,
        },
        account=account,
    )


async def new_export_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(_own_merchant, request)
    ctx = portal(request)
    sql = str(form.get("sql") or "").strip()
    if not sql or len(sql) > MAX_SQL:
        flash(request, "请填写查询语句（一条 SELECT，不超过 10000 个字符）", "error")
        return RedirectResponse("/exports/new", status_code=303)

    def run() -> str:
        return request_export(
            platform_engine=ctx.platform,
            operation_engine=ctx.operation,
            data_dir=ctx.settings.data_dir,
            catalog=ctx.catalog,
            config=ctx.exports_config,
            account=account.name,
            product_id=str(form.get("product") or ""),
            application_id=str(form.get("application") or ""),
            recipient=str(form.get("recipient") or "")[:MAX_TEXT],
            source=Source(sql=sql),
            today=ctx.today(),
            suppress=form.get("suppress") == "1",
        )

    try:
        export_id = await run_in_threadpool(run)
    except ValueError as exc:  # the product, the recipient: refused before any check ran
        flash(request, f"未受理：{exc}", "error")
        return RedirectResponse("/exports/new", status_code=303)
    status = (await run_in_threadpool(get_export, ctx.platform, export_id)).row["status"]
    if status == "refused":
        flash(request, f"出域申请 {export_id} 自动核查未通过，原因见下。", "error")
    else:
        flash(request, f"出域申请 {export_id} 自动核查通过，等待授权运营单位审核。")
    return RedirectResponse(f"/exports/{quote(export_id)}", status_code=303)


def export_page(request: Request) -> Response:
    ctx = portal(request)
    account = current_account(request)
    found = _export(ctx, request.path_params["export_id"])
    authorize(request, p.VIEW_EXPORTS, merchant_id=str(found.row["merchant_id"]))
    status = found.row["status"]
    return render(
        request,
        "export.html",
        {
            "export": _record(ctx, found),
            "may_review": status == "pending_review" and may(account, p.REVIEW_EXPORT),
            "may_file": status == "pending_filing" and may(account, p.FILE_EXPORT),
        },
        account=account,
    )


async def review_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, p.REVIEW_EXPORT)
    ctx = portal(request)
    export_id = request.path_params["export_id"]
    approve = form.get("decision") == "approve"
    reason = str(form.get("reason") or "").strip()[:MAX_TEXT]
    await run_in_threadpool(_export, ctx, export_id)
    try:
        await run_in_threadpool(
            lambda: review_export(
                ctx.platform,
                ctx.settings.data_dir,
                account.name,
                export_id,
                approve=approve,
                reason=reason,
                today=ctx.today(),
            )
        )
    except ExportError as exc:
        flash(request, str(exc), "error")
    else:
        flash(
            request, f"出域申请 {export_id} 审核{'通过，待市数据局备案' if approve else '不通过'}。"
        )
    return RedirectResponse(f"/exports/{quote(export_id)}", status_code=303)


async def file_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, p.FILE_EXPORT)
    ctx = portal(request)
    export_id = request.path_params["export_id"]
    filing_no = str(form.get("filing_no") or "").strip()[:100]
    await run_in_threadpool(_export, ctx, export_id)
    try:
        await run_in_threadpool(
            lambda: file_export(
                platform_engine=ctx.platform,
                operation_engine=ctx.operation,
                data_dir=ctx.settings.data_dir,
                account=account.name,
                export_id=export_id,
                filing_no=filing_no,
                fee_config=ctx.fee_config,
                city=ctx.city,
                catalog=ctx.catalog,
            )
        )
    except (ExportError, ProductError) as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"出域申请 {export_id} 已备案（{filing_no}），结果已出域。")
    return RedirectResponse(f"/exports/{quote(export_id)}", status_code=303)
