"""The portal application: ``create_app(settings)`` builds it for one data directory.

    publicdata portal [--host 127.0.0.1 --port 3001]      # or `make ui`, beside the Dagster UI

Server-rendered pages (Jinja2, autoescaped), no JavaScript, every static file served from here.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from assets.accounts.authorize import AccessDenied
from orchestration.portal import (
    auth,
    pages,
    views_applications,
    views_apply,
    views_exports,
    views_incidents,
    views_lineage,
    views_merchants,
    views_products,
    views_supply,
    views_tickets,
    views_workspace,
)
from orchestration.portal.context import STATIC_DIR, PortalContext
from orchestration.portal.security import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SecurityHeadersMiddleware,
    session_secret,
)
from orchestration.settings import Settings

ERROR_TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作冲突",
    413: "文件太大",
    429: "操作过于频繁",
    500: "系统错误",
}


def routes() -> list[Route | Mount]:
    return [
        Route("/", pages.home, name="home"),
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login_submit, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/tickets", views_tickets.inbox),
        Route("/tickets/report", views_tickets.report),
        Route("/tickets/{ticket_id}", views_tickets.ticket_page),
        Route("/tickets/{ticket_id}/acknowledge", views_tickets.acknowledge, methods=["POST"]),
        Route("/tickets/{ticket_id}/claim-fixed", views_tickets.claim_fixed, methods=["POST"]),
        Route("/deliveries/upload", views_tickets.upload_page, methods=["GET"]),
        Route("/deliveries/upload", views_tickets.upload_submit, methods=["POST"]),
        Route("/lineage", views_lineage.lineage_index),
        Route("/lineage/{dataset_id}", views_lineage.lineage_dataset),
        Route("/quality-docs", views_lineage.redirect_to_slash),
        Route("/quality-docs/{path:path}", views_lineage.quality_docs),
        Route("/catalog", views_lineage.redirect_to_slash),
        Route("/catalog/{path:path}", views_lineage.catalog_files),
        Route("/reports", views_lineage.redirect_to_slash),
        Route("/reports/{path:path}", views_lineage.supervision_reports),
        Route("/supply", views_supply.supply_page),
        Route("/supply/suspend", views_supply.suspend, methods=["POST"]),
        Route("/supply/resume", views_supply.resume, methods=["POST"]),
        Route("/merchants", views_merchants.merchants_page),
        Route("/merchants/{merchant_id}", views_merchants.merchant_page),
        Route("/merchants/{merchant_id}/decide", views_merchants.decide, methods=["POST"]),
        Route("/merchant/register", views_merchants.register_page, methods=["GET"]),
        Route("/merchant/register", views_merchants.register_submit, methods=["POST"]),
        Route("/applications", views_applications.applications_page),
        Route("/applications/new", views_apply.new_application_page, methods=["GET"]),
        Route("/applications/new", views_apply.new_application_submit, methods=["POST"]),
        Route("/applications/{application_id}", views_applications.application_page),
        Route(
            "/applications/{application_id}/comply",
            views_applications.comply_submit,
            methods=["POST"],
        ),
        Route(
            "/applications/{application_id}/review",
            views_applications.review_submit,
            methods=["POST"],
        ),
        Route("/exports", views_exports.exports_page),
        Route("/exports/new", views_exports.new_export_page, methods=["GET"]),
        Route("/exports/new", views_exports.new_export_submit, methods=["POST"]),
        Route("/exports/{export_id}", views_exports.export_page),
        Route("/exports/{export_id}/review", views_exports.review_submit, methods=["POST"]),
        Route("/exports/{export_id}/file", views_exports.file_submit, methods=["POST"]),
        Route("/incidents", views_incidents.incidents_page, methods=["GET"]),
        Route("/incidents", views_incidents.open_submit, methods=["POST"]),
        Route("/incidents/{incident_id}", views_incidents.incident_page),
        Route("/incidents/{incident_id}/fix", views_incidents.fix_submit, methods=["POST"]),
        Route("/incidents/{incident_id}/close", views_incidents.close_submit, methods=["POST"]),
        Route("/products", views_products.products_page, methods=["GET"]),
        Route("/products", views_products.register_submit, methods=["POST"]),
        Route("/workspace", views_workspace.workspace_home),
        Route("/workspace/{merchant_id}", views_workspace.workspace_page, methods=["GET"]),
        Route("/workspace/{merchant_id}/query", views_workspace.workspace_query, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


async def _sign_in(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return auth.sign_in_redirect(request)
    return RedirectResponse("/login", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_page(request, exc.status_code, exc.detail)


async def _access_denied(request: Request, exc: Exception) -> Response:
    return _error_page(request, 403, str(exc))


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error_page(request, 500, "系统内部错误，已记录。请稍后重试或联系平台运维。")


def _error_page(request: Request, status: int, detail: str | None) -> Response:
    title = ERROR_TITLES.get(status, "出错了")
    default = {
        403: "您的账号无权访问此页面或执行此操作。",
        404: "您访问的页面不存在，或已被移除。",
        405: "该地址不支持这种请求方式。",
    }.get(status, title)
    # an HTTPException without a message carries the standard English phrase: show Chinese instead
    message = detail if detail and not detail.isascii() else default
    account = None
    if "session" in request.scope:
        try:
            account = auth.signed_in(request)
        except Exception:  # the error page must render even when the records are unreachable
            account = None
    return pages.render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        account=account,
        status_code=status,
    )


def create_app(settings: Settings) -> Starlette:
    """The portal on ``settings``' data directory and zones (tests pass a temporary one)."""
    context = PortalContext(settings)
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=session_secret(settings),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=settings.portal_secure_cookies,
            ),
        ],
        exception_handlers={
            auth.SignInRequired: _sign_in,
            HTTPException: _http_error,
            AccessDenied: _access_denied,
            500: _server_error,
        },
    )
    app.state.portal = context
    return app
