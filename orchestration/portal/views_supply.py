"""Supply suspension (第二十七条) for the bureau: the list of suspensions, suspending and resuming —
through ``assets.operation.suspension``, which writes the audit entries; operator staff see the list."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.operation.records import publications
from assets.operation.suspension import (
    SuspensionError,
    resume_supply,
    suspend_supply,
    suspension_history,
)
from orchestration.portal import labels
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, may
from orchestration.portal.context import portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form


def supply_page(request: Request) -> Response:
    account = authorize(request, p.VIEW_SUPPLY)
    ctx = portal(request)
    published = publications(ctx.platform)
    datasets = [
        {
            "entry": entry,
            "status": labels.PUBLICATION_STATUS.get(
                "prohibited"
                if entry.is_prohibited
                else (published.get(entry.dataset_id) or {}).get("status", ""),
                "尚未发布",
            ),
        }
        for entry in ctx.catalog.values()
    ]
    history = suspension_history(ctx.platform)
    return render(
        request,
        "supply.html",
        {
            "datasets": datasets,
            "active": [s for s in history if s.active],
            "history": [s for s in history if not s.active][-20:],
            "counties": ctx.city.counties,
            "may_suspend": may(account, p.SUSPEND_SUPPLY),
            "may_resume": may(account, p.RESUME_SUPPLY),
        },
        account=account,
    )


async def _supply_step(request: Request, action: str) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, action)
    ctx = portal(request)
    dataset_id = str(form.get("dataset") or "")
    county_code = str(form.get("county") or "") or None
    reason = str(form.get("reason") or "").strip()[:2000]
    if dataset_id not in ctx.catalog:
        flash(request, "请选择资源目录中的数据集", "error")
        return RedirectResponse("/supply", status_code=303)
    if county_code is not None and county_code not in ctx.city.county_codes:
        flash(request, "请选择本市的县（区）", "error")
        return RedirectResponse("/supply", status_code=303)
    title = ctx.dataset_title(dataset_id)
    where = f"（{ctx.county_name(county_code)}）" if county_code else ""
    try:
        if action == p.SUSPEND_SUPPLY:
            await run_in_threadpool(
                lambda: suspend_supply(
                    ctx.platform,
                    ctx.operation,
                    dataset_id=dataset_id,
                    county_code=county_code,
                    reason=reason,
                    actor=account.name,
                    actor_role=account.role.value,
                    withdraw_published=form.get("withdraw") == "1",
                )
            )
            flash(request, f"已暂停 {title}{where} 向运营平台供给。")
        else:
            await run_in_threadpool(
                lambda: resume_supply(
                    ctx.platform,
                    dataset_id=dataset_id,
                    county_code=county_code,
                    reason=reason,
                    actor=account.name,
                    actor_role=account.role.value,
                )
            )
            flash(request, f"已恢复 {title}{where} 的供给，下次运行时重新发布。")
    except SuspensionError as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/supply", status_code=303)


async def suspend(request: Request) -> Response:
    return await _supply_step(request, p.SUSPEND_SUPPLY)


async def resume(request: Request) -> Response:
    return await _supply_step(request, p.RESUME_SUPPLY)
