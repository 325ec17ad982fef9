"""Department offices: the ticket inbox of their county × department, acknowledging, claiming a fix,
downloading their own report and uploading a corrected delivery.

Each step goes through the same store functions the CLI uses (``assets.tickets.store``), after
``require`` for the ticket's own county and department; the store writes the audit entry in the same
transaction. A county office sees its county's tickets, a department office those of its department in
its county, the bureau all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.authorize import Account
from assets.audit import log as audit
from assets.tickets import store
from assets.tickets.reports import (
    example_text,
    item_names,
    source_files,
    ticket_rows,
    xlsx_report,
)
from assets.tickets.rules import TRANSITIONS, Action, Status, Ticket, TicketError
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account, may
from orchestration.portal.context import PortalContext, portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form
from orchestration.portal.uploads import UploadRejected, landing_target, store_delivery

STATUS_FILTERS = {"open": "未关闭", "all": "全部", **{s.value: s.label for s in Status}}
AUDIT_UPLOAD = "delivery_upload"


def inbox_scope(account: Account) -> dict[str, str | None]:
    """The tickets an account's inbox holds: its county and department, as far as it has them."""
    return {"county_code": account.county_code, "department_id": account.department_id}


def _ticket(ctx: PortalContext, ticket_id: str) -> Ticket:
    try:
        return store.get_ticket(ctx.platform, ticket_id)
    except store.TicketNotFound as exc:
        raise HTTPException(404, str(exc)) from exc


def _office(ctx: PortalContext, ticket: Ticket) -> str:
    return ctx.department_name(ticket.department_id, ticket.county_code)


def inbox(request: Request) -> Response:
    account = current_account(request)
    scope = inbox_scope(account)
    authorize(request, p.VIEW_TICKETS, **scope)
    ctx = portal(request)
    status = request.query_params.get("status", "open")
    if status not in STATUS_FILTERS:
        status = "open"
    found = store.list_tickets(ctx.platform, status=None if status == "all" else status, **scope)
    today = ctx.today()
    rows = [
        {
            "ticket": t,
            "dataset": ctx.dataset_title(t.dataset_id),
            "item_names": item_names(t, ctx.catalog.get(t.dataset_id)),
            "office": _office(ctx, t),
            "county": ctx.county_name(t.county_code),
            "overdue": t.is_overdue(today),
        }
        for t in found
    ]
    return render(
        request,
        "tickets.html",
        {
            "rows": rows,
            "status": status,
            "filters": STATUS_FILTERS,
            "scope_county": ctx.county_name(scope["county_code"]),
            "scope_department": ctx.department_name(scope["department_id"], scope["county_code"]),
            "may_upload": may(account, p.UPLOAD_DELIVERY, **scope),
        },
        account=account,
    )


def ticket_page(request: Request) -> Response:
    ctx = portal(request)
    ticket = _ticket(ctx, request.path_params["ticket_id"])
    scope = {"county_code": ticket.county_code, "department_id": ticket.department_id}
    account = authorize(request, p.VIEW_TICKETS, **scope)
    entry = ctx.catalog.get(ticket.dataset_id)
    return render(
        request,
        "ticket.html",
        {
            "ticket": ticket,
            "dataset": ctx.dataset_title(ticket.dataset_id),
            "items": item_names(ticket, entry),
            "office": _office(ctx, ticket),
            "overdue": ticket.is_overdue(ctx.today()),
            "examples": [example_text(e) for e in ticket.examples],
            "history": ticket.history,
            "can_acknowledge": (ticket.status, Action.ACKNOWLEDGE) in TRANSITIONS
            and may(account, p.ACKNOWLEDGE_TICKET, **scope),
            "can_claim": (ticket.status, Action.CLAIM_FIX) in TRANSITIONS
            and may(account, p.CLAIM_FIXED, **scope),
            "may_upload": may(account, p.UPLOAD_DELIVERY, **scope),
        },
        account=account,
    )


async def _ticket_step(request: Request, action: str) -> Response:
    form = await checked_form(request)
    ctx = portal(request)
    ticket_id = request.path_params["ticket_id"]
    ticket = await run_in_threadpool(_ticket, ctx, ticket_id)
    account = await run_in_threadpool(
        authorize,
        request,
        action,
        county_code=ticket.county_code,
        department_id=ticket.department_id,
    )
    comment = str(form.get("comment") or "").strip()[:2000]
    step = store.acknowledge_ticket if action == p.ACKNOWLEDGE_TICKET else store.claim_fixed
    try:
        changed = await run_in_threadpool(
            lambda: step(
                ctx.platform, ticket_id, by=account.name, comment=comment, role=account.role.value
            )
        )
    except TicketError as exc:
        flash(request, str(exc), "error")
    else:
        done = "已确认" if action == p.ACKNOWLEDGE_TICKET else "已申报整改，待下一期数据复核"
        flash(request, f"工单 {changed.id} {done}。")
    return RedirectResponse(f"/tickets/{quote(ticket_id)}", status_code=303)


async def acknowledge(request: Request) -> Response:
    return await _ticket_step(request, p.ACKNOWLEDGE_TICKET)


async def claim_fixed(request: Request) -> Response:
    return await _ticket_step(request, p.CLAIM_FIXED)


def report(request: Request) -> Response:
    """The inbox's open tickets as XLSX (``format=xlsx``) or a printable HTML page."""
    account = current_account(request)
    scope = inbox_scope(account)
    authorize(request, p.VIEW_TICKETS, **scope)
    ctx = portal(request)
    tickets = store.list_tickets(ctx.platform, status="open", **scope)
    today = ctx.today()
    offices = {t.id: _office(ctx, t) for t in tickets}
    rows = ticket_rows(tickets, ctx.catalog, offices, today, source_files(ctx.platform, tickets))
    where = ctx.department_name(scope["department_id"], scope["county_code"]) or ctx.county_name(
        scope["county_code"]
    )
    title = f"{where}数据质量工单（未关闭，{today.isoformat()}）"
    if request.query_params.get("format") == "xlsx":
        name = quote(f"质量工单_{where}_{today.isoformat()}.xlsx")
        return Response(
            xlsx_report(rows, title),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"},
        )
    return render(request, "report.html", {"title": title, "rows": rows}, account=account)


# --- corrected deliveries ------------------------------------------------------------------------


def _datasets_of(ctx: PortalContext, account: Account) -> list:
    return [e for e in ctx.catalog.values() if e.provider == account.department_id]


def upload_page(request: Request) -> Response:
    account = current_account(request)
    authorize(
        request,
        p.UPLOAD_DELIVERY,
        county_code=account.county_code,
        department_id=account.department_id,
    )
    ctx = portal(request)
    return render(
        request,
        "upload.html",
        {
            "datasets": _datasets_of(ctx, account),
            "county": ctx.county_name(account.county_code),
            "max_mb": ctx.settings.portal_max_upload_mb,
            "selected": request.query_params.get("dataset", ""),
            "period": request.query_params.get("period", ""),
        },
        account=account,
    )


async def upload_submit(request: Request) -> Response:
    ctx = portal(request)
    max_bytes = ctx.settings.portal_max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise HTTPException(413, f"文件超过上传上限 {ctx.settings.portal_max_upload_mb} MB")
    form = await checked_form(request, max_files=1, max_fields=10)
    try:
        account = await run_in_threadpool(current_account, request)
        county_code = account.county_code
        dataset_id = str(form.get("dataset") or "")
        entry = ctx.catalog.get(dataset_id)
        # the dataset's own department is the scope: an office uploads only its department's data
        await run_in_threadpool(
            authorize,
            request,
            p.UPLOAD_DELIVERY,
            county_code=county_code,
            department_id=entry.provider if entry else f"?{dataset_id}",
        )
        upload = form.get("file")
        if entry is None or county_code is None:
            raise UploadRejected("请选择本部门的数据集")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UploadRejected("请选择要上传的文件")
        target = landing_target(
            ctx.settings.data_dir,
            entry,
            county_code,
            ctx.city.county_codes,
            str(form.get("period") or ""),
            upload.filename,
        )
        stored = await run_in_threadpool(
            store_delivery, upload.file, target, ctx.settings.data_dir, max_bytes=max_bytes
        )
        await run_in_threadpool(_audit_upload, ctx, account, stored)
    except UploadRejected as exc:
        flash(request, f"未接收：{exc}", "error")
        return RedirectResponse("/deliveries/upload", status_code=303)
    finally:
        await form.close()
    flash(
        request,
        f"已接收 {stored.relative_path}（{stored.size} 字节）。系统将自动入库并复核相关工单，"
        "结果见工单处理记录。",
    )
    return RedirectResponse("/tickets", status_code=303)


def _audit_upload(ctx: PortalContext, account: Account, stored) -> None:
    with ctx.platform.begin() as connection:
        audit.record(
            connection,
            actor=account.name,
            role=account.role.value,
            action=AUDIT_UPLOAD,
            target=stored.relative_path,
            reason="门户上传更正后的交付文件",
            detail={"bytes": stored.size, "sha256": stored.sha256, "replaced": stored.replaced},
            at=datetime.now(UTC),
        )
