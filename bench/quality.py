"""Quality suites: validation rows per second over the loaded exchange data (every county's partition,
as the asset checks run them), and the cost of Great Expectations against a plain vectorized pandas
evaluation of the very same rules (the rule functions of ``assets/quality/expectations.py``, driven by
the same suite files). Both are timed warm: each runs once on the smallest partition first."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date

import great_expectations as gx
import pandas as pd

from assets.common.catalog import SHIPPED_CATALOG_DIR
from assets.quality import expectations as rules
from assets.quality.findings import read_partition, validator_for
from assets.quality.suite_rules import PARAM_AS_OF, PARAM_COUNTY_CODES, PARAM_TOWNSHIPS
from assets.quality.suites import load_suite as _load_suite
from assets.quality.validation import suite_frame
from assets.storage.engine import get_engine

AS_OF = date(2026, 11, 20)  # the as_of bench.run generates with


def _parameter(value: object, parameters: dict[str, object]) -> object:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def plain_failures(
    frame: pd.DataFrame,
    suite: gx.ExpectationSuite,
    *,
    county_code: str,
    townships: Sequence[str],
    as_of: date,
) -> dict[str, int]:
    """Failing row counts per rule id, computed with pandas alone (no GE) from the suite's own
    expectations and parameters; what GE reports as ``unexpected_count`` for each."""
    parameters = {
        PARAM_COUNTY_CODES: [county_code],
        PARAM_TOWNSHIPS: list(townships),
        PARAM_AS_OF: as_of.isoformat(),
    }
    frame = suite_frame(frame)  # text as Arrow strings once, as the GE path does
    out: dict[str, int] = {}
    for expectation in suite.expectations:
        config = expectation.configuration
        kwargs = {k: _parameter(v, parameters) for k, v in config.kwargs.items()}
        rule_id = expectation.meta["rule_id"]
        kind = expectation.meta["kind"]
        if kind == "columns_present":
            out[rule_id] = len(set(kwargs["column_set"]) - set(frame.columns))
            continue
        if "column_list" in kwargs:
            part = frame[list(kwargs["column_list"])]
            first, second = part.iloc[:, 0], part.iloc[:, -1]
            if kind == "business_key":
                present = part.notna().any(axis=1)
                ok = ~(part[present].duplicated(keep=False)).reindex(frame.index, fill_value=False)
            elif kind == "id_birth_date":
                ok = rules.id_agrees_with_birth_date(first, second)
            elif kind == "id_gender":
                ok = rules.id_agrees_with_gender(first, second)
            elif kind == "date_order":
                ok = rules.dates_in_order(first, second)
            else:  # empty_iff: ignore_row_if="never"
                ok = rules.empty_exactly_when_in_set(first, second, kwargs["value_set"])
            out[rule_id] = int((~ok).sum())
            continue
        values = frame[kwargs["column"]]
        present = values.notna()
        if kind == "required":
            ok = rules.not_blank(values)
        elif kind == "format":
            ok = rules.format_valid(values, kwargs["format"])
        elif kind in ("enum", "region_is_county", "township_in_county"):
            ok = values.isin(list(kwargs["value_set"]))
        elif kind == "range":
            ok = rules.numeric_in_range(
                values,
                kwargs.get("min_value"),
                kwargs.get("max_value"),
                strict_min=bool(kwargs.get("strict_min")),
            )
        elif kind == "not_future":
            ok = rules.not_after(values, str(kwargs["as_of"]))
        elif kind == "unique":
            ok = ~values[present].duplicated(keep=False).reindex(frame.index, fill_value=False)
        else:
            raise ValueError(f"{rule_id}: no plain evaluation for {kind}")
        if kind != "required":  # GE leaves empty cells to the required rule
            ok = ok | ~present
        out[rule_id] = int((~ok).sum())
    return out


def run(ctx) -> None:
    engine = get_engine(ctx.exchange_urls["sqlite"])
    partitions = []
    for outcome, _ in ctx.staged:
        landing = outcome.landing
        entry = ctx.catalog[outcome.dataset_id]
        frame = read_partition(engine, entry, landing.county_code, landing.period)
        townships = list(ctx.city.county(landing.county_code).townships)
        partitions.append((entry, landing.county_code, townships, frame))
    rows = sum(len(frame) for *_, frame in partitions)
    validator = validator_for(SHIPPED_CATALOG_DIR)
    suites = {dataset_id: _load_suite(dataset_id) for dataset_id in ctx.catalog}

    def suite_all() -> list:
        return [
            validator.validate(
                frame, entry.dataset_id, county_code=county, as_of=AS_OF, townships=townships
            )
            for entry, county, townships, frame in partitions
        ]

    def plain_all() -> list[dict[str, int]]:
        return [
            plain_failures(
                frame,
                suites[entry.dataset_id],
                county_code=county,
                townships=townships,
                as_of=AS_OF,
            )
            for entry, county, townships, frame in partitions
        ]

    # each path once on the smallest partition first, untimed: what a process pays once (GE's
    # first validation, the first use of each regex) would otherwise go to whichever runs first
    entry, county, townships, frame = min(partitions, key=lambda p: len(p[3]))
    validator.validate(
        frame, entry.dataset_id, county_code=county, as_of=AS_OF, townships=townships
    )
    plain_failures(
        frame, suites[entry.dataset_id], county_code=county, townships=townships, as_of=AS_OF
    )
    start, cpu = time.perf_counter(), time.process_time()
    outcomes = ctx.timed("quality suite (GE)", rows, suite_all)
    suite_seconds, suite_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    plain = ctx.timed("quality rules (plain pandas)", rows, plain_all, suite_seconds=suite_seconds)
    plain_seconds, plain_cpu = time.perf_counter() - start, time.process_time() - cpu
    disagreements = [
        (entry.dataset_id, county, e.rule_id, e.failed_count, counts.get(e.rule_id))
        for (entry, county, _, _), outcome, counts in zip(partitions, outcomes, plain, strict=True)
        for e in outcome.expectations
        if counts.get(e.rule_id) != e.failed_count
    ]
    compared = sum(len(outcome.expectations) for outcome in outcomes)
    print(
        f"{'quality suite ÷ plain pandas':28s} {suite_seconds / plain_seconds:10.1f} × wall,"
        f" {suite_cpu / plain_cpu:.1f} × CPU"
        f"  ({compared - len(disagreements):,d} of {compared:,d} rule counts equal)",
        flush=True,
    )
    if disagreements:
        raise AssertionError(
            f"GE and plain pandas disagree on {len(disagreements)} of {compared} rule counts "
            "(dataset, county, rule, GE, pandas): " + "; ".join(map(str, disagreements[:10]))
        )
