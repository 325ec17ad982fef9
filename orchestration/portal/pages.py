"""Rendering a page: the layout's navigation for the account, flash messages, the home page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from assets.accounts.authorize import Account
from orchestration.portal import permissions as p
from orchestration.portal.auth import current_account, may
from orchestration.portal.context import portal

FLASH_KEY = "flash"

# (path, label, action, description) — shown to the accounts that may take the action in their scope
SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("/tickets", "质量工单", p.VIEW_TICKETS, "本单位的数据质量工单：确认、申报整改、下载报告"),
    ("/deliveries/upload", "上传交付", p.UPLOAD_DELIVERY, "上传更正后的交付文件，系统自动入库复核"),
    ("/lineage", "数据血缘", p.VIEW_LINEAGE, "各数据集从县区交付到运营平台的链路、运行与检查"),
    ("/quality-docs/", "质量报告", p.VIEW_LINEAGE, "Great Expectations 质量检查报告（Data Docs）"),
    ("/supply", "供给管理", p.VIEW_SUPPLY, "向运营平台供给数据的暂停与恢复（第二十七条）"),
    ("/merchants", "数据商", p.VIEW_MERCHANTS, "数据商注册与核查（第十八条）"),
    ("/applications", "使用申请", p.VIEW_APPLICATIONS, "数据使用申请：状态、期限、合规核查与审核"),
    ("/workspace", "工作区", p.QUERY_WORKSPACE, "在授权范围内查询运营平台数据（可用不可见）"),
    ("/products", "数据产品", p.VIEW_PRODUCTS, "数据商登记的数据产品（出域申请须对应一个产品）"),
    (
        "/exports",
        "出域申请",
        p.VIEW_EXPORTS,
        "出域申请、自动核查结果、审核与备案（第二十二条、第二十三条）",
    ),
    ("/incidents", "安全事件", p.VIEW_INCIDENTS, "安全事件登记、整改与关闭；重大事件立即暂停供给"),
    ("/reports/", "监督报告", p.VIEW_REPORTS, "第三十一条至第三十三条的通报、运营报告和年度评价"),
    ("/catalog/", "资源目录", p.VIEW_CATALOG, "已发布的公共数据资源目录（元数据，不含数据）"),
)


def own_scope(account: Account) -> dict[str, str | None]:
    return {
        "county_code": account.county_code,
        "department_id": account.department_id,
        "merchant_id": account.merchant_id,
    }


def navigation(account: Account | None) -> list[tuple[str, str, str]]:
    if account is None:
        return []
    scope = own_scope(account)
    return [
        (path, label, description)
        for path, label, action, description in SECTIONS
        if may(account, action, **scope)
    ]


def flash(request: Request, message: str, kind: str = "ok") -> None:
    messages = list(request.session.get(FLASH_KEY) or [])
    messages.append([kind, message])
    request.session[FLASH_KEY] = messages[-5:]


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    account: Account | None,
    status_code: int = 200,
) -> Response:
    messages = request.session.pop(FLASH_KEY, None) or [] if "session" in request.scope else []
    values = {
        "account": account,
        "nav": navigation(account),
        "messages": messages,
        "portal": portal(request),
        **context,
    }
    return portal(request).templates.TemplateResponse(
        request, template, values, status_code=status_code
    )


def home(request: Request) -> Response:
    account = current_account(request)
    ctx = portal(request)
    return render(
        request,
        "home.html",
        {
            "scope_text": _scope_text(ctx, account),
            "dagster_url": ctx.settings.dagster_ui_url,
        },
        account=account,
    )


def _scope_text(ctx: Any, account: Account) -> str:
    parts = [account.role.label]
    if account.county_code:
        parts.append(ctx.county_name(account.county_code))
    if account.department_id:
        parts.append(ctx.department_name(account.department_id, account.county_code))
    if account.merchant_id:
        parts.append(f"数据商 {account.merchant_id}")
    return " · ".join(parts)
