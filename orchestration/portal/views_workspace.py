"""The merchant's workspace query page (第四条 可用不可见): its live grants, and one read-only query
at a time on them — through ``assets.workspace.reconcile.merchant_query``, the same database-enforced
path as ``publicdata workspace sql`` (a read-only connection whose authorizer denies every table and
column outside the grants; the query audited by fingerprint, never its values). At most ``MAX_ROWS``
rows come back and are shown on the page only: nothing is downloaded, the session keeps nothing."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.authorization.grants import LiveGrant
from assets.workspace.naming import view_name
from assets.workspace.reconcile import live_state, merchant_query
from assets.workspace.sqlite import QueryResult, WorkspaceError
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account
from orchestration.portal.context import PortalContext, portal
from orchestration.portal.pages import render
from orchestration.portal.security import checked_form

MAX_ROWS = 100
MAX_SQL = 10_000
TIMEOUT_SECONDS = 30.0


def workspace_home(request: Request) -> Response:
    account = current_account(request)
    authorize(request, p.QUERY_WORKSPACE, merchant_id=account.merchant_id)
    return RedirectResponse(f"/workspace/{quote(account.merchant_id or '')}", status_code=303)


def _grants(ctx: PortalContext, merchant_id: str) -> list[LiveGrant]:
    grants, _ = live_state(ctx.platform, ctx.today())
    return [g for g in grants if g.merchant_id == merchant_id]


def _views(ctx: PortalContext, grants: list[LiveGrant]) -> list[dict[str, object]]:
    views = []
    for grant in grants:
        entry = ctx.catalog.get(grant.dataset_id)
        names = {i.column: i.name for i in entry.items} if entry else {}
        views.append(
            {
                "grant_id": grant.grant_id,
                "view": view_name(grant.dataset_id),
                "title": ctx.dataset_title(grant.dataset_id),
                "columns": [(c, names.get(c, c)) for c in grant.columns],
                "valid_to": grant.valid_to.isoformat(),
            }
        )
    return views


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"（二进制 {len(bytes(value))} 字节）"
    return str(value)


def _page(
    request: Request,
    merchant_id: str,
    *,
    sql: str = "",
    result: QueryResult | None = None,
    error: str | None = None,
) -> Response:
    account = authorize(request, p.QUERY_WORKSPACE, merchant_id=merchant_id)
    ctx = portal(request)
    views = _views(ctx, _grants(ctx, merchant_id))
    if not sql and views:
        sql = f"SELECT * FROM {views[0]['view']} LIMIT 20"
    return render(
        request,
        "workspace.html",
        {
            "merchant_id": merchant_id,
            "views": views,
            "sql": sql,
            "columns": result.columns if result else [],
            "rows": [[_cell(v) for v in row] for row in result.rows] if result else [],
            "ran": result is not None,
            "truncated": bool(result and result.truncated),
            "error": error,
            "max_rows": MAX_ROWS,
        },
        account=account,
    )


def workspace_page(request: Request) -> Response:
    return _page(request, request.path_params["merchant_id"])


async def workspace_query(request: Request) -> Response:
    form = await checked_form(request)
    merchant_id = request.path_params["merchant_id"]
    account = await run_in_threadpool(
        authorize, request, p.QUERY_WORKSPACE, merchant_id=merchant_id
    )
    ctx = portal(request)
    sql = str(form.get("sql") or "").strip()
    if not sql:
        return await run_in_threadpool(lambda: _page(request, merchant_id, error="请填写查询语句"))
    if len(sql) > MAX_SQL:
        return await run_in_threadpool(
            lambda: _page(request, merchant_id, sql=sql[:MAX_SQL], error="查询语句过长")
        )

    def run() -> QueryResult:
        grants, _ = live_state(ctx.platform, ctx.today())
        return merchant_query(
            ctx.platform,
            ctx.operation,
            grants,
            merchant_id,
            sql,
            actor=account.name,
            actor_role=account.role.value,
            max_rows=MAX_ROWS,
            timeout_seconds=TIMEOUT_SECONDS,
        )

    try:
        result = await run_in_threadpool(run)
    except WorkspaceError as exc:
        message = str(exc)
        return await run_in_threadpool(lambda: _page(request, merchant_id, sql=sql, error=message))
    return await run_in_threadpool(lambda: _page(request, merchant_id, sql=sql, result=result))
