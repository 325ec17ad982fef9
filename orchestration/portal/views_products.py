"""Data products (第二十二条): a merchant user registers its own products (an export request names
one); operator staff and the bureau see them all — through ``assets.products.register`` as the
signed-in account (``require`` and the audit entry are the domain's)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.roles import Role
from assets.products.register import (
    KIND_LABELS,
    USE_LABELS,
    ProductError,
    list_products,
    register_product,
)
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, current_account, may
from orchestration.portal.context import portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form


def products_page(request: Request) -> Response:
    account = current_account(request)
    merchant = account.merchant_id if account.role is Role.MERCHANT_USER else None
    authorize(request, p.VIEW_PRODUCTS, merchant_id=merchant)
    ctx = portal(request)
    return render(
        request,
        "products.html",
        {
            "products": [
                pr.as_record() for pr in list_products(ctx.platform, merchant_id=merchant)
            ],
            "may_register": account.role is Role.MERCHANT_USER
            and may(account, p.REGISTER_PRODUCT, merchant_id=account.merchant_id),
            "kinds": KIND_LABELS,
            "uses": USE_LABELS,
        },
        account=account,
    )


async def register_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(current_account, request)
    if account.role is not Role.MERCHANT_USER:  # operator staff register for a merchant in the CLI
        raise HTTPException(403, "门户中由数据商用户登记本数据商的产品")
    # its own merchant only; the domain checks the scope again
    await run_in_threadpool(authorize, request, p.REGISTER_PRODUCT, merchant_id=account.merchant_id)
    ctx = portal(request)

    def text(name: str, limit: int = 2000) -> str:
        return str(form.get(name) or "").strip()[:limit]

    try:
        product = await run_in_threadpool(
            lambda: register_product(
                ctx.platform,
                account.name,
                ctx.fee_config,
                merchant_id=account.merchant_id or "",
                name=text("name", 200),
                kind=text("kind", 40),
                scenario=text("scenario", 200),
                use=text("use", 40),
                description=text("description"),
            )
        )
    except ProductError as exc:
        flash(request, f"未登记：{exc}", "error")
    else:
        flash(request, f"数据产品 {product.product_id}（{product.name}）已登记。")
    return RedirectResponse("/products", status_code=303)
