"""Security incidents (第二十六条, 第二十七条): the register, opening one (a 重大 or 特别重大 incident
suspends the affected datasets' supply at once, as the domain does), recording the fix, closing —
through ``assets.security.incidents`` as the signed-in account, checked against ``incidents.open``,
``incidents.fix`` and ``incidents.close``; the domain writes the audit entries."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.security.incidents import (
    IncidentError,
    IncidentLevel,
    close_incident,
    get_incident,
    list_incidents,
    open_incident,
    record_fix,
)
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize, may
from orchestration.portal.context import portal
from orchestration.portal.pages import flash, render
from orchestration.portal.security import checked_form

MAX_TEXT = 2000
ACTION_LABELS = {"opened": "登记", "fixed": "整改", "closed": "关闭", "suspended": "暂停供给"}


def incidents_page(request: Request) -> Response:
    account = authorize(request, p.VIEW_INCIDENTS)
    ctx = portal(request)
    found = list(reversed(list_incidents(ctx.platform)))
    return render(
        request,
        "incidents.html",
        {
            "incidents": [i.as_record() for i in found],
            "may_open": may(account, p.OPEN_INCIDENT),
            "levels": [(level.value, level.label, level.severe) for level in IncidentLevel],
            "datasets": [
                (e.dataset_id, e.title) for e in ctx.catalog.values() if not e.is_prohibited
            ],
        },
        account=account,
    )


def incident_page(request: Request) -> Response:
    account = authorize(request, p.VIEW_INCIDENTS)
    ctx = portal(request)
    try:
        incident = get_incident(ctx.platform, request.path_params["incident_id"])
    except IncidentError as exc:
        raise HTTPException(404, str(exc)) from exc
    return render(
        request,
        "incident.html",
        {
            "incident": incident.as_record(),
            "titles": {d: ctx.dataset_title(d) for d in incident.datasets},
            "action_labels": ACTION_LABELS,
            "may_fix": incident.status == "open" and may(account, p.FIX_INCIDENT),
            "may_close": incident.status == "fixed" and may(account, p.CLOSE_INCIDENT),
        },
        account=account,
    )


async def open_submit(request: Request) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, p.OPEN_INCIDENT)
    ctx = portal(request)
    datasets = [str(d) for d in form.getlist("dataset") if str(d) in ctx.catalog]
    merchants = [m.strip() for m in str(form.get("merchants") or "").replace("，", ",").split(",")]
    try:
        incident = await run_in_threadpool(
            lambda: open_incident(
                ctx.platform,
                ctx.operation,
                level=str(form.get("level") or ""),
                title=str(form.get("title") or "")[:200],
                description=str(form.get("description") or "")[:MAX_TEXT],
                datasets=datasets,
                merchants=[m for m in merchants if m][:20],
                actor=account.name,
                role=account.role.value,
                withdraw_published=form.get("withdraw") == "1",
            )
        )
    except (IncidentError, ValueError) as exc:
        flash(request, f"未登记：{exc}", "error")
        return RedirectResponse("/incidents", status_code=303)
    message = f"已登记{incident.level.label}安全事件 {incident.id}。"
    if incident.suspension_ids:
        titles = "、".join(ctx.dataset_title(d) for d in incident.datasets)
        message += f"已立即暂停 {titles} 的供给，登记整改后方可由市数据局恢复。"
    flash(request, message)
    return RedirectResponse(f"/incidents/{quote(incident.id)}", status_code=303)


async def _step(request: Request, action: str) -> Response:
    form = await checked_form(request)
    account = await run_in_threadpool(authorize, request, action)
    ctx = portal(request)
    incident_id = request.path_params["incident_id"]
    text = str(form.get("text") or "").strip()[:MAX_TEXT]
    try:
        if action == p.FIX_INCIDENT:
            await run_in_threadpool(
                lambda: record_fix(
                    ctx.platform, incident_id, fix=text, actor=account.name, role=account.role.value
                )
            )
            flash(request, f"已登记 {incident_id} 的整改情况。")
        else:
            await run_in_threadpool(
                lambda: close_incident(
                    ctx.platform,
                    incident_id,
                    actor=account.name,
                    role=account.role.value,
                    comment=text or None,
                )
            )
            flash(request, f"安全事件 {incident_id} 已关闭。")
    except (IncidentError, ValueError) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/incidents/{quote(incident_id)}", status_code=303)


async def fix_submit(request: Request) -> Response:
    return await _step(request, p.FIX_INCIDENT)


async def close_submit(request: Request) -> Response:
    return await _step(request, p.CLOSE_INCIDENT)
