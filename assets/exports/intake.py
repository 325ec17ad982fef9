"""An export request (出域申请): the merchant names the product, the recipient, the application it
serves, and a query over its grant or a file of its workspace; the automatic checks run at once.

A request that passes every check waits for the operator's reviewer (``pending_review``); one that
fails is ``refused`` with each failing check's reason. The result that passed is kept, as checked, in
``<data dir>/exports/staging/`` — outside the merchant's reach and outside its outbox — until it is
released or the request is rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.accounts.authorize import require
from assets.audit import log as audit
from assets.authorization.applications import Application, list_applications
from assets.authorization.grants import live_grants
from assets.authorization.records import next_id, utc_now
from assets.common.catalog import CatalogEntry
from assets.exports import screening
from assets.exports.config import ExportsConfig
from assets.exports.lineage import LineageError, QueryPlan, analyze
from assets.exports.sdc import Thresholds
from assets.exports.sources import (
    SourceError,
    dialect_of,
    read_file,
    resolve_file,
    run_query,
)
from assets.operation.records import publications
from assets.products.register import get_product
from assets.storage.tables import export_requests, operation_table_name

REQUEST = "export_request"
STAGING_DIR = Path("exports") / "staging"


@dataclass(frozen=True)
class Source:
    sql: str | None = None
    file: str | None = None
    count_column: str | None = None  # a file aggregate: the column holding each cell's contributors

    def __post_init__(self) -> None:
        if (self.sql is None) == (self.file is None):
            raise ValueError("出域申请须给出查询（SQL）或工作区文件，二者取一")


def thresholds(config: ExportsConfig) -> Thresholds:
    return Thresholds(
        config.frequency_threshold, config.nk_n, config.nk_k, config.p_ratio, config.k
    )


def sm3_file(path: Path) -> str:
    digest = hashlib.new("sm3")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _published_columns(
    operation_engine: Engine, catalog: Mapping[str, CatalogEntry]
) -> dict[str, tuple[str, ...]]:
    inspector = sa.inspect(operation_engine)
    tables = set(inspector.get_table_names())
    out = {}
    for dataset_id, entry in catalog.items():
        if entry.is_prohibited or operation_table_name(dataset_id) not in tables:
            continue
        out[dataset_id] = tuple(
            c["name"] for c in inspector.get_columns(operation_table_name(dataset_id))
        )
    return out


def _granted(platform_engine: Engine, merchant_id: str, today: date) -> dict[str, tuple[str, ...]]:
    granted: dict[str, set[str]] = {}
    for grant in live_grants(platform_engine, today):
        if grant.merchant_id == merchant_id:
            granted.setdefault(grant.dataset_id, set()).update(grant.columns)
    return {d: tuple(sorted(c)) for d, c in granted.items()}


def _file_grant_problems(
    frame: pd.DataFrame, catalog: Mapping[str, CatalogEntry], granted: Mapping[str, tuple]
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """A file's columns named like catalog items (column or 信息项名称) must be granted items."""
    problems, reads = [], {}
    for column in map(str, frame.columns):
        owners = [
            (dataset, item.column)
            for dataset, entry in catalog.items()
            for item in entry.items
            if column in (item.column, item.name)
        ]
        if not owners:
            continue
        inside = [(d, c) for d, c in owners if c in granted.get(d, ())]
        if inside:
            for d, c in inside:
                reads.setdefault(d, set()).add(c)
        else:
            where = "、".join(f"{d}.{c}" for d, c in owners)
            problems.append(f"文件列 {column} 是信息项 {where}，不在数据商的授权范围内")
    return problems, {d: tuple(sorted(c)) for d, c in reads.items()}


def screen(
    *,
    platform_engine: Engine,
    operation_engine: Engine,
    data_dir: Path,
    catalog: Mapping[str, CatalogEntry],
    config: ExportsConfig,
    merchant_id: str,
    application: Application | None,
    product,
    source: Source,
    today: date,
    suppress: bool,
) -> tuple[screening.Screening, QueryPlan | None, dict[str, tuple[str, ...]]]:
    """Run every automatic check; the result frame only when the first two pass."""
    out = screening.Screening()
    granted = _granted(platform_engine, merchant_id, today)
    pubs = publications(platform_engine)
    transformations = {d: dict(p.get("transformations") or {}) for d, p in pubs.items()}
    published_qis = {d: tuple(p.get("quasi_identifiers") or ()) for d, p in pubs.items()}
    plan: QueryPlan | None = None
    grant_problems: list[str] = []
    frame: pd.DataFrame | None = None
    micro: pd.DataFrame | None = None
    reads: dict[str, tuple[str, ...]] = {}
    try:
        if source.sql is not None:
            try:
                plan = analyze(
                    source.sql,
                    dialect=dialect_of(operation_engine),
                    published=_published_columns(operation_engine, catalog),
                    granted=granted,
                )
                reads = dict(plan.reads)
            except LineageError as exc:
                grant_problems = screening.lineage_problems(exc)
        else:
            path = resolve_file(data_dir, merchant_id, source.file or "")
            frame = read_file(path, max_rows=config.max_rows)
            grant_problems, reads = _file_grant_problems(frame, catalog, granted)
            if source.count_column and source.count_column not in frame.columns:
                grant_problems.append(f"文件中没有频数列 {source.count_column}")
    except SourceError as exc:
        grant_problems = [str(exc)]
    app_problems = screening.application_problems(
        application, product, merchant_id, today, reads if not grant_problems else None
    )
    out.checks.append(screening.check("within_application", app_problems, "在申请的用途与期限内"))
    out.checks.append(
        screening.check(
            "within_grant",
            grant_problems,
            "读取的信息项均在生效中的授权内：" + _reads_text(reads),
        )
    )
    if app_problems or grant_problems:
        out.checks += [
            screening.Check(name, False, screening.NOT_RUN)
            for name in ("no_personal_data", "not_reversible", "disclosure_control")
        ]
        out.report = {"reads": reads}
        return out, plan, reads
    try:
        if plan is not None:
            frame = run_query(operation_engine, plan.executable_sql, max_rows=config.max_rows)
            if plan.aggregate is not None:
                micro = run_query(
                    operation_engine, plan.aggregate.microdata_sql, max_rows=50 * config.max_rows
                )
    except SourceError as exc:
        out.checks += [
            screening.Check(name, False, f"查询未能执行：{exc}")
            for name in ("no_personal_data", "not_reversible", "disclosure_control")
        ]
        return out, plan, reads
    assert frame is not None
    out.checks.append(
        screening.check(
            "no_personal_data",
            screening.personal_data_problems(frame),
            f"{len(frame.columns)} 列均未检出明文个人信息",
        )
    )
    out.checks.append(
        screening.check(
            "not_reversible",
            screening.reversible_problems(frame, plan, catalog, transformations),
            "无假名列、散列列或与直接标识一一对应的列",
        )
    )
    limits = thresholds(config)
    if source.count_column:
        outcome, kind = (
            screening.count_column_outcome(frame, source.count_column, limits, suppress=suppress),
            "aggregate",
        )
    else:
        qis = screening.quasi_identifiers_of(frame, plan, catalog, published_qis, list(reads))
        outcome, kind = screening.disclosure_control(
            frame, micro, plan, limits, qis, suppress=suppress
        )
        out.report["quasi_identifiers"] = qis
    out.checks.append(screening.disclosure_check(outcome, kind))
    out.result_kind = kind
    out.frame = outcome.frame if outcome.frame is not None else frame
    out.report |= {
        "reads": reads,
        "result_kind": kind,
        "rows": len(out.frame),
        "columns": [str(c) for c in out.frame.columns],
        "cells": outcome.cells,
        "findings": [f.reason for f in outcome.findings],
        "suppressed": [f.reason for f in outcome.suppressed],
        "notes": outcome.notes,
        "thresholds": config.thresholds(),
        "lineage": (
            {o.name: [f"{d}.{c}" for d, c in o.sources] for o in plan.outputs} if plan else None
        ),
    }
    return out, plan, reads


def _reads_text(reads: Mapping[str, tuple[str, ...]]) -> str:
    return "；".join(f"{d}（{', '.join(c) or '仅计数'}）" for d, c in sorted(reads.items())) or "无"


def request_export(
    *,
    platform_engine: Engine,
    operation_engine: Engine,
    data_dir: Path,
    catalog: Mapping[str, CatalogEntry],
    config: ExportsConfig,
    account: str,
    product_id: str,
    application_id: str,
    recipient: str,
    source: Source,
    today: date,
    suppress: bool = False,
) -> str:
    """Record the request and its checks; returns the export id (status ``pending_review`` when
    every check passed, else ``refused``)."""
    product = get_product(platform_engine, product_id)
    actor = require(platform_engine, account, "exports.request", merchant_id=product.merchant_id)
    if not recipient.strip():
        raise ValueError("须写明接收方")
    found = list_applications(platform_engine, application_id=application_id)
    result, _plan, reads = screen(
        platform_engine=platform_engine,
        operation_engine=operation_engine,
        data_dir=data_dir,
        catalog=catalog,
        config=config,
        merchant_id=product.merchant_id,
        application=found[0] if found else None,
        product=product,
        source=source,
        today=today,
        suppress=suppress,
    )
    now = utc_now()
    status = "pending_review" if result.passed else "refused"
    with platform_engine.begin() as connection:
        export_id = next_id(connection, export_requests, "export_id", "e")
        staged_path = staged_sm3 = None
        if result.passed and result.frame is not None:
            target = data_dir / STAGING_DIR / f"{export_id}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            result.frame.astype(
                {c: "string" for c in result.frame.columns if result.frame[c].dtype == object}
            ).to_parquet(target, index=False)
            staged_path, staged_sm3 = str(target.relative_to(data_dir)), sm3_file(target)
        connection.execute(
            export_requests.insert().values(
                export_id=export_id,
                merchant_id=product.merchant_id,
                product_id=product_id,
                application_id=application_id,
                recipient=recipient.strip(),
                source_kind="query" if source.sql is not None else "file",
                query_sql=source.sql,
                file_path=source.file,
                result_kind=result.result_kind,
                suppress=suppress,
                status=status,
                checks=[c.as_record() for c in result.checks],
                report=result.report,
                datasets={d: list(c) for d, c in reads.items()},
                result_rows=len(result.frame) if result.frame is not None else None,
                result_columns=[str(c) for c in result.frame.columns]
                if result.frame is not None
                else None,
                staged_path=staged_path,
                staged_sm3=staged_sm3,
                requested_by=actor.name,
                requested_at=now,
                requested_on=today,
            )
        )
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=REQUEST,
            target=f"exports/{export_id}",
            rows=len(result.frame) if result.frame is not None else None,
            detail={
                "product": product_id,
                "application": application_id,
                "status": status,
                "checks": {c.name: c.passed for c in result.checks},
                "datasets": sorted(reads),
                "staged_sm3": staged_sm3,
            },
            at=now,
        )
    return export_id
