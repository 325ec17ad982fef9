"""Benchmark of issue 3: governance, classification & grading, desensitization, the leak scan and the
operation-zone publish (SQLite and PostgreSQL), in rows per second over the generated landing zone."""

from __future__ import annotations

import secrets
from datetime import date

import pandas as pd

from assets.classification.classify import classify_frame, dataset_grade
from assets.desensitization.desensitize import desensitize
from assets.desensitization.policy import load_policy
from assets.governance.govern import govern
from assets.governance.records import governed_text
from assets.operation.guards import scan_for_leaks
from assets.operation.writer import publish
from assets.storage.engine import get_engine

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
