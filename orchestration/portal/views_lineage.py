"""The bureau's lineage pages, and the quality Data Docs and the published catalog served over HTTP."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from assets.operation.records import publications
from orchestration.portal import labels, lineage
from orchestration.portal import permissions as p
from orchestration.portal.auth import authorize
from orchestration.portal.context import portal
from orchestration.portal.pages import render
from orchestration.portal.security import DOCS_ASSET_SUFFIXES

SERVED_SUFFIXES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".css": "text/css",
    ".js": "text/javascript",
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".xml": "application/xml",
    ".ttl": "text/turtle",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _matches(entry, query: str) -> bool:
    if not query:
        return True
    haystack = [entry.dataset_id, entry.title, entry.summary, *entry.keywords]
    haystack += [item.name for item in entry.items]
    return any(query.lower() in text.lower() for text in haystack)


def lineage_index(request: Request) -> Response:
    account = authorize(request, p.VIEW_LINEAGE)
    ctx = portal(request)
    query = request.query_params.get("q", "").strip()[:50]
    published = publications(ctx.platform)
    tickets = lineage.open_ticket_counts(ctx.platform)
    rows = []
    for entry in ctx.catalog.values():
        if not _matches(entry, query):
            continue
        publication = published.get(entry.dataset_id) or {}
        status = "prohibited" if entry.is_prohibited else publication.get("status")
        rows.append(
            {
                "entry": entry,
                "provider": ctx.department_name(entry.provider),
                "status": labels.PUBLICATION_STATUS.get(status, "尚未发布")
                if status
                else "尚未发布",
                "rows": publication.get("rows"),
                "open_tickets": tickets.get(entry.dataset_id, 0),
            }
        )
    return render(
        request,
        "lineage_index.html",
        {"rows": rows, "query": query, "dagster_url": ctx.settings.dagster_ui_url},
        account=account,
    )


def lineage_dataset(request: Request) -> Response:
    account = authorize(request, p.VIEW_LINEAGE)
    ctx = portal(request)
    entry = ctx.catalog.get(request.path_params["dataset_id"])
    if entry is None:
        raise HTTPException(404, "资源目录中没有这个数据集")
    counties = {c.code: c.name for c in ctx.city.counties}
    instance = lineage.open_instance(ctx.settings)
    try:
        stages = lineage.chain(
            ctx.settings, entry, county_names=counties, exchange=ctx.exchange, platform=ctx.platform
        )
        runs = lineage.latest_runs(instance, entry.dataset_id)
        checks = lineage.latest_checks(instance, entry.dataset_id, runs)
        columns = lineage.column_lineage(
            ctx.settings,
            entry,
            exchange=ctx.exchange,
            operation=ctx.operation,
            platform=ctx.platform,
            instance=instance,
        )
    finally:
        if instance is not None:
            instance.dispose()
    docs = ctx.settings.data_dir / "quality" / "data_docs" / entry.dataset_id / "index.html"
    return render(
        request,
        "lineage_dataset.html",
        {
            "entry": entry,
            "provider": ctx.department_name(entry.provider),
            "stages": stages,
            "runs": runs,
            "checks": checks,
            "columns": columns,
            "emptied": [c for c in columns if c.emptied],
            "dagster_url": ctx.settings.dagster_ui_url,
            "has_docs": docs.exists(),
        },
        account=account,
    )


def _served_file(root: Path, relative: str) -> Path:
    """``relative`` under ``root``, or 404: no '..', no absolute path, no link leading outside."""
    if "\x00" in relative or "\\" in relative:
        raise HTTPException(404)
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if any(part == ".." or part.startswith(".") for part in parts):
        raise HTTPException(404)
    base = root.resolve()
    target = base.joinpath(*parts)
    if target.is_dir():
        target = target / "index.html"
    try:
        resolved = target.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise HTTPException(404) from None
    if not resolved.is_relative_to(base) or not resolved.is_file():
        raise HTTPException(404)
    if resolved.suffix.lower() not in SERVED_SUFFIXES:
        raise HTTPException(404)
    return resolved


def _serve(request: Request, root: Path, listing: str | None = None) -> Response:
    relative = request.path_params.get("path", "")
    if relative == "" and listing is not None and not (root / "index.html").exists():
        return Response(listing, media_type="text/html; charset=utf-8")
    path = _served_file(root, relative)
    return FileResponse(path, media_type=SERVED_SUFFIXES[path.suffix.lower()])


# Great Expectations' own static files (styles, scripts, images, fonts): no data in them, and the
# sandboxed Data Docs pages request them without the session cookie
STATIC_ASSET_SUFFIXES = frozenset(DOCS_ASSET_SUFFIXES)


def quality_docs(request: Request) -> Response:
    ctx = portal(request)
    root = ctx.settings.data_dir / "quality" / "data_docs"
    if Path(request.path_params.get("path", "")).suffix.lower() in STATIC_ASSET_SUFFIXES:
        return _serve(request, root)
    account = authorize(request, p.VIEW_LINEAGE)
    if request.path_params.get("path", "") == "":
        sites = sorted(d.name for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
        return render(
            request,
            "quality_docs.html",
            {
                "sites": [(s, ctx.dataset_title(s)) for s in sites],
                "has_index": (root / "index.html").is_file(),
            },
            account=account,
        )
    return _serve(request, root)


def catalog_files(request: Request) -> Response:
    authorize(request, p.VIEW_CATALOG)
    root = portal(request).settings.data_dir / "operation" / "catalog"
    if not (root / "index.html").exists():
        raise HTTPException(404, "资源目录尚未发布（运行 publicdata run 后发布）")
    return _serve(request, root)


def redirect_to_slash(request: Request) -> Response:
    return RedirectResponse(request.url.path + "/", status_code=307)


def supervision_reports(request: Request) -> Response:
    """The supervision reports (第三十一条 to 第三十三条) the Dagster assets wrote, as files."""
    account = authorize(request, p.VIEW_REPORTS)
    ctx = portal(request)
    root = ctx.settings.reports_dir / "supervision"
    if request.path_params.get("path", "") == "":
        return render(request, "reports.html", {"reports": _report_rows(root)}, account=account)
    return _serve(request, root)


REPORT_NAMES = {
    "department_notice": "数源部门工作情况通报（第三十一条）",
    "operator_report": "授权运营单位运营情况报告（第三十二条）",
    "public_disclosure": "向社会公开的运营信息（第三十二条）",
    "annual_evaluation": "年度评价数据（第三十三条）",
}


def _report_rows(root: Path) -> list[dict[str, object]]:
    """One row per report and period (newest first), with its HTML and XLSX files."""
    if not root.is_dir():
        return []
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for f in root.rglob("*"):
        relative = f.relative_to(root)
        if not f.is_file() or f.suffix not in (".html", ".xlsx"):
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        period = relative.parent.name if len(relative.parts) > 1 else ""
        row = rows.setdefault(
            (period, relative.with_suffix("").as_posix()),
            {"period": period, "title": REPORT_NAMES.get(f.stem, f.stem), "files": {}},
        )
        row["files"][f.suffix.lstrip(".")] = relative.as_posix()  # type: ignore[index]
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1]), reverse=True)]
