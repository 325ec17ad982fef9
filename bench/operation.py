"""Benchmark of issue 3: governance, classification & grading, desensitization, the leak scan and the
operation-zone publish (SQLite and PostgreSQL), in rows per second over the generated landing zone."""

from __future__ import annotations

import secrets
from datetime import date

import pandas as pd
import sqlalchemy as sa

from assets.classification.classify import classify_frame, dataset_grade
from assets.desensitization.desensitize import desensitize
from assets.desensitization.kanonymity import measure_k
from assets.desensitization.policy import load_policy
from assets.governance.govern import govern
from assets.governance.records import governed_text
from assets.operation.guards import scan_for_leaks
from assets.operation.writer import emptied_published_columns, publish, read_published
from assets.operation.zone_scan import scan_published
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name

AS_OF = date(2026, 11, 20)  # the day bench/run.py generates its data as of


def run(ctx) -> None:
    frames: dict[str, list[pd.DataFrame]] = {}
    for outcome, frame in ctx.staged:
        frames.setdefault(outcome.dataset_id, []).append(frame)
    exchange = {d: pd.concat(parts, ignore_index=True) for d, parts in frames.items()}
    rows_in = sum(len(f) for f in exchange.values())

    governed = ctx.timed(
        "governance",
        rows_in,
        lambda: {
            d: govern(f, ctx.catalog[d], city=ctx.city, as_of=AS_OF).governed
            for d, f in exchange.items()
        },
    )
    governed_rows = sum(len(f) for f in governed.values())

    def classify_all() -> dict[str, dict[str, tuple[str, str]]]:
        out = {}
        for d, frame in governed.items():
            entry = ctx.catalog[d]
            columns = classify_frame(governed_text(frame, entry), dataset_id=d, entry=entry)
            dataset_grade(columns)
            out[d] = {c.column: (c.level, c.detected_type) for c in columns}
        return out

    classified = ctx.timed("classification", governed_rows, classify_all)

    policy = load_policy()
    key = secrets.token_bytes(32)
    open_sets = {d: f for d, f in governed.items() if not ctx.catalog[d].is_prohibited}
    open_rows = sum(len(f) for f in open_sets.values())
    published = ctx.timed(
        "desensitization",
        open_rows,
        lambda: {
            d: desensitize(
                f,
                ctx.catalog[d],
                levels={c: v[0] for c, v in classified[d].items()},
                detected={c: v[1] for c, v in classified[d].items()},
                policy=policy,
                key=key,
                city=ctx.city,
            )
            for d, f in open_sets.items()
        },
    )
    out_rows = sum(len(p.frame) for p in published.values())
    ctx.timed("leak scan", out_rows, lambda: [scan_for_leaks(p.frame) for p in published.values()])
    for backend, url in ctx.exchange_urls.items():
        engine = get_engine(url)
        ctx.timed(
            f"operation publish ({backend})",
            out_rows,
            lambda engine=engine: [
                publish(engine, ctx.catalog[d], p) for d, p in published.items()
            ],
        )
        # the published tables read back: row by row (SQLAlchemy) and columnar (ADBC → Arrow)
        ctx.timed(
            f"operation read, SQLAlchemy ({backend})",
            out_rows,
            lambda engine=engine: [_read_rows(engine, d) for d in published],
        )
        ctx.timed(
            f"operation read, Arrow ({backend})",
            out_rows,
            lambda engine=engine: [read_published(engine, d, strings="arrow") for d in published],
        )
        ctx.timed(
            f"operation checks in the zone ({backend})",
            out_rows,
            lambda engine=engine: [_checks(engine, d, p) for d, p in published.items()],
        )


def _read_rows(engine, dataset_id: str) -> pd.DataFrame:
    table = sa.Table(operation_table_name(dataset_id), sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        return pd.read_sql(sa.select(table), connection)


def _checks(engine, dataset_id: str, published) -> None:
    """What the operation asset's checks measure on the published table when they run alone (a
    publish reports the writer's measurements instead; with counties carried, the leak scan)."""
    scan_published(engine, dataset_id)
    emptied_published_columns(engine, dataset_id)
    columns = list(published.report.quasi_identifiers)
    measure_k(read_published(engine, dataset_id, columns, strings="arrow"), columns)
