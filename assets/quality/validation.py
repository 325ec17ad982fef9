"""Run a dataset's quality suite on one county's partition, and build Data Docs from the results.

One :class:`QualityValidator` per process: it builds an ephemeral GE context once, loads the suites
from ``quality_suites/``, adds one dataframe asset per dataset on first use, and validates a whole
partition in a single suite validation call.

No raw personal data survives a validation: GE is asked for failing rows by their ``source_row``
only (``exclude_unexpected_values``), examples are looked up in the frame and masked by the
column's personal-data type (assets/common/masking.py), and the GE result object that is kept is
rewritten to hold only those masked examples. Data Docs are rendered from that scrubbed object.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import pandas_execution_engine

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.city import DEFAULT_CITY_CONFIG, City, load_city
from assets.common.masking import mask_id_number, mask_phone, mask_series
from assets.common.text import STRING
from assets.quality.suite_rules import PARAM_AS_OF, PARAM_COUNTY_CODES, PARAM_TOWNSHIPS, SOURCE_ROW
from assets.quality.suites import SUITES_DIR, suite_for

MAX_EXAMPLES = 5
HEADER_ROW = 1  # the header is row 1 of the delivered file; a missing column is reported there
DATASOURCE = "exchange"
DOCS_SITE = "quality"

RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": [SOURCE_ROW],
    "partial_unexpected_count": MAX_EXAMPLES,
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}

# GE fingerprints every in-memory batch under this size with an MD5 over every cell (the batch
# marker "pandas_data_fingerprint"), a full extra pass over the partition per validation; nothing
# here reads it (the exchange load keeps its own content hashes), so no batch is fingerprinted.
pandas_execution_engine.HASH_THRESHOLD = 0

# Long digit runs (mobiles, ID and card numbers) in text no masker was chosen for: free text,
# values in the wrong column, exception messages.
_DIGIT_RUN = re.compile(r"\d{11,}[Xx]?")


def scrub_text(text: str) -> str:
    """Mask every run of 11 or more digits in free text (phone-style for 11, else keep 4+4)."""

    def _mask(match: re.Match[str]) -> str:
        run = pd.Series([match.group()])
        masked = mask_phone(run) if len(match.group()) == 11 else mask_id_number(run)
        return str(masked.iloc[0])

    return _DIGIT_RUN.sub(_mask, text)


@dataclass(frozen=True)
class Example:
    """A failing row: its row number in the delivered file and its value, masked."""

    source_row: int
    value: str | None


@dataclass(frozen=True)
class ExpectationOutcome:
    rule_id: str
    expectation_type: str
    columns: tuple[str, ...]
    dimension: str
    severity: str
    success: bool
    failed_count: int
    total: int
    percent: float
    examples: tuple[Example, ...]
    description: str
    fix: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "expectation_type": self.expectation_type,
            "columns": list(self.columns),
            "dimension": self.dimension,
            "severity": self.severity,
            "success": self.success,
            "failed_count": self.failed_count,
            "total": self.total,
            "percent": self.percent,
            "examples": [{"source_row": e.source_row, "value": e.value} for e in self.examples],
            "description": self.description,
            "fix": self.fix,
            "error": self.error,
        }


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of one suite on one partition, free of raw personal data."""

    dataset_id: str
    county_code: str
    period: str | None
    as_of: str
    row_count: int
    validated_at: dt.datetime
    expectations: tuple[ExpectationOutcome, ...]
    ge_result: dict[str, Any] = field(repr=False, compare=False)
    ge_object: ExpectationSuiteValidationResult | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def success(self) -> bool:
        return all(e.success for e in self.expectations)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(e for e in self.expectations if not e.success)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "county_code": self.county_code,
            "period": self.period,
            "as_of": self.as_of,
            "row_count": self.row_count,
            "validated_at": self.validated_at.isoformat(),
            "success": self.success,
            "expectations": [e.to_dict() for e in self.expectations],
        }


class QualityValidator:
    """Validates partitions against the suites in ``suites_dir``; build once per process."""

    def __init__(
        self,
        suites_dir: Path = SUITES_DIR,
        catalog_dir: Path = SHIPPED_CATALOG_DIR,
        city_config: Path = DEFAULT_CITY_CONFIG,
    ) -> None:
        self._catalog: dict[str, CatalogEntry] = load_catalog(catalog_dir)
        self._city_config = city_config
        self._city: City | None = None
        self._context = _ephemeral_context()
        self._datasource = self._context.data_sources.add_pandas(DATASOURCE)
        self._suites = {
            dataset_id: suite_for(entry, suites_dir) for dataset_id, entry in self._catalog.items()
        }
        self._batch_definitions: dict[str, Any] = {}

    def suite(self, dataset_id: str) -> Any:
        """The expectation suite this validator runs for a dataset."""
        return self._suites[dataset_id]

    @property
    def dataset_ids(self) -> list[str]:
        return list(self._suites)

    def _batch_definition(self, dataset_id: str) -> Any:
        if dataset_id not in self._batch_definitions:
            asset = self._datasource.add_dataframe_asset(dataset_id)
            self._batch_definitions[dataset_id] = asset.add_batch_definition_whole_dataframe(
                "partition"
            )
        return self._batch_definitions[dataset_id]

    def _townships(self, county_code: str) -> list[str]:
        if self._city is None:
            self._city = load_city(self._city_config)
        return list(self._city.county(county_code).townships)

    def validate(
        self,
        frame: pd.DataFrame,
        dataset_id: str,
        *,
        county_code: str,
        as_of: dt.date | str,
        townships: Sequence[str] | None = None,
    ) -> ValidationOutcome:
        """Run the dataset's whole suite on one county's partition in one GE validation call.

        ``townships`` defaults to the county's townships in config/city.yaml; ``as_of`` is the
        date not-future rules compare with.
        """
        if dataset_id not in self._suites:
            raise KeyError(f"数据集 {dataset_id} 没有质量规则")
        if SOURCE_ROW not in frame.columns:
            raise ValueError(f"{dataset_id}: 待校验数据缺少 {SOURCE_ROW} 列，无法定位问题行")
        as_of_text = _iso_date(as_of)
        if townships is None:
            townships = self._townships(county_code)
        if frame.index.names[0] is not None or not frame.index.is_unique:
            frame = frame.reset_index(drop=True)
        entry = self._catalog[dataset_id]
        period = _single_value(frame, "period")
        # what the suite is about: the delivered items and their row numbers; the load's own
        # columns (period, file checksum) would only be copied along by each of GE's row filters
        frame = suite_frame(
            frame[[c for c in frame.columns if c == SOURCE_ROW or c in entry.columns]]
        )

        batch = self._batch_definition(dataset_id).get_batch(batch_parameters={"dataframe": frame})
        validated_at = dt.datetime.now(dt.UTC)
        suite = self._suites[dataset_id]
        try:
            result = batch.validate(
                suite,
                result_format={**RESULT_FORMAT, "unexpected_index_column_names": [SOURCE_ROW]},
                expectation_parameters={
                    PARAM_COUNTY_CODES: [county_code],
                    PARAM_TOWNSHIPS: list(townships),
                    PARAM_AS_OF: as_of_text,
                },
            )
        finally:
            _release_batches(batch)
        masker = _MaskedColumns(frame, entry)
        for r in result.results:  # every example row first: each column is masked once
            columns = (r.expectation_config.meta or {}).get("columns") or []
            if isinstance(r.result, dict):
                masker.want(_failing_rows(r.result)[:MAX_EXAMPLES], columns)
        order = {(e.meta or {}).get("rule_id"): i for i, e in enumerate(suite.expectations)}
        outcomes = tuple(
            sorted(
                (_scrub_expectation_result(r, masker, entry, len(frame)) for r in result.results),
                key=lambda o: order.get(o.rule_id, len(order)),
            )
        )
        run_id = RunIdentifier(run_name=_run_name(county_code, period), run_time=validated_at)
        result.meta["run_id"] = run_id
        result.meta["validation_time"] = validated_at
        result.meta["county_code"] = county_code
        result.meta["period"] = period
        return ValidationOutcome(
            dataset_id=dataset_id,
            county_code=county_code,
            period=period,
            as_of=as_of_text,
            row_count=len(frame),
            validated_at=validated_at,
            expectations=outcomes,
            ge_result=result.to_json_dict(),
            ge_object=result,
        )


def _release_batches(batch: Any) -> None:
    """Let go of the partition once it is validated. GE's execution engine keeps every batch it
    was given and every metric it computed (column copies, row masks) for the life of the process:
    a worker validating partition after partition kept the last frame of every dataset (a 2.6 GB
    plateau after ingest at 10M rows). Each partition is validated once, so nothing is lost."""
    engine = getattr(getattr(batch, "data", None), "execution_engine", None)
    if engine is None:
        return
    manager = engine.batch_manager
    manager.reset_batch_cache()
    cached = getattr(manager, "_batch_data_cache", None)
    if isinstance(cached, dict):
        cached.clear()
    metrics = getattr(engine, "_metric_cache", None)
    if isinstance(metrics, dict):
        metrics.clear()


@functools.cache
def default_validator() -> QualityValidator:
    """The process's validator over the shipped suites, catalog and city configuration."""
    return QualityValidator()


def suite_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The partition with its text columns as Arrow strings, converted once per validation.

    Every rule reads its column as ``string[pyarrow]`` (``_text`` in
    assets/quality/expectations.py, a no-op on a column that already is one), so converting here
    saves one conversion per expectation; GE's row filters also copy Arrow columns faster than
    Python objects. Values are unchanged: None stays missing, text stays the same text.
    """
    text = [c for c in frame.columns if c != SOURCE_ROW and frame[c].dtype == object]
    return frame.astype(dict.fromkeys(text, STRING)) if text else frame


def _ephemeral_context() -> Any:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _iso_date(value: dt.date | str) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(value).isoformat()


def _single_value(frame: pd.DataFrame, column: str) -> str | None:
    if column not in frame.columns:
        return None
    values = frame[column].dropna().unique()
    return str(values[0]) if len(values) == 1 else None


def _failing_rows(result: Mapping[str, Any]) -> list[int]:
    """Rows of ``partial_unexpected_index_list``: with excluded values GE gives one dict holding
    every failing row's ``source_row``; without, one dict per row."""
    rows: list[int] = []
    for entry in result.get("partial_unexpected_index_list") or []:
        value = entry.get(SOURCE_ROW) if isinstance(entry, Mapping) else None
        if isinstance(value, list | tuple):
            rows.extend(int(v) for v in value)
        elif value is not None:
            rows.append(int(value))
    return sorted(set(rows))


class _RowLookup:
    """A partition's rows by their ``source_row``, indexed once per validation (on first use) for
    every expectation's examples; a repeated row number shows its first row's values."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._first: pd.Index | None = None
        self._positions: np.ndarray | None = None

    def positions(self, rows: list[int]) -> np.ndarray:
        if self._first is None:
            source_rows = pd.Index(self.frame[SOURCE_ROW].astype("int64"))
            first = ~source_rows.duplicated()
            self._first, self._positions = source_rows[first], np.flatnonzero(first)
        assert self._positions is not None
        return self._positions[self._first.get_indexer(rows)]


class _MaskedColumns:
    """Failing rows' values masked by their column's personal-data type, each column masked once
    per validation for the rows all the expectations' examples name (announced with ``want``)."""

    def __init__(self, frame: pd.DataFrame, entry: CatalogEntry) -> None:
        self.frame, self.entry = frame, entry
        self._rows = _RowLookup(frame)
        self._wanted: dict[str, set[int]] = {}
        self._masked: dict[str, dict[int, Any]] = {}

    def columns(self, columns: Sequence[str]) -> list[str]:
        return [c for c in columns if c in self.entry.columns and c in self.frame.columns]

    def want(self, rows: list[int], columns: Sequence[str]) -> None:
        for column in self.columns(columns):
            self._wanted.setdefault(column, set()).update(rows)

    def values(self, column: str, rows: list[int]) -> list[Any]:
        masked = self._masked.setdefault(column, {})
        if any(row not in masked for row in rows):
            todo = sorted((set(rows) | self._wanted.pop(column, set())) - masked.keys())
            values = self.frame[column].iloc[self._rows.positions(todo)].reset_index(drop=True)
            masked.update(zip(todo, mask_series(values, self.entry.item(column).pii), strict=True))
        return [masked[row] for row in rows]


def _masked_values(
    masker: _MaskedColumns, rows: list[int], columns: Sequence[str], entry: CatalogEntry
) -> dict[str, list[str | None]]:
    """Each column's values at ``rows``, masked by its personal-data type; with a personal
    identifier in the same example, quasi-identifying dates keep only year and month so the two
    together cannot restore the identifier."""
    items = {c: entry.item(c) for c in masker.columns(columns)}
    has_pii = any(item.pii for item in items.values())
    out: dict[str, list[str | None]] = {}
    for column, item in items.items():
        masked = masker.values(column, rows)
        if has_pii and not item.pii and item.quasi_identifier and item.type == "date":
            masked = [v if pd.isna(v) else str(v)[:7] + "-**" for v in masked]
        out[column] = [None if pd.isna(v) else scrub_text(str(v)) for v in masked]
    return out


def _scrub_expectation_result(
    r: Any, masker: _MaskedColumns, entry: CatalogEntry, row_count: int
) -> ExpectationOutcome:
    """Rewrite one GE expectation result in place to hold masked examples only; summarise it."""
    config = r.expectation_config
    meta = config.meta or {}
    columns: list[str] = list(meta.get("columns") or [])
    result: dict[str, Any] = r.result if isinstance(r.result, dict) else {}
    for key in ("partial_unexpected_list", "partial_unexpected_counts", "unexpected_list"):
        result.pop(key, None)
    result.pop("unexpected_index_list", None)

    examples: list[Example]
    if config.type == "expect_table_columns_to_match_set":
        missing = sorted((result.get("details") or {}).get("mismatched", {}).get("missing") or [])
        failed, total = len(missing), len(config.kwargs.get("column_set") or [])
        names = [f"{entry.item(c).name}（{c}）" if c in entry.columns else c for c in missing]
        examples = [Example(HEADER_ROW, "缺少列：" + "、".join(names))] if missing else []
    else:
        failed = int(result.get("unexpected_count") or 0)
        total = int(result.get("element_count") or row_count)
        rows = _failing_rows(result)[:MAX_EXAMPLES]
        values = _masked_values(masker, rows, columns, entry) if rows else {}
        examples = [Example(row, _example_value(values, i, entry)) for i, row in enumerate(rows)]
        if "partial_unexpected_index_list" in result:
            # what Data Docs and any reader of the GE result see: masked values only
            result["partial_unexpected_index_list"] = [
                {SOURCE_ROW: row, **{c: v[i] for c, v in values.items()}}
                for i, row in enumerate(rows)
            ]
            result["partial_unexpected_list"] = [e.value for e in examples]

    error = _scrub_exception_info(r)
    return ExpectationOutcome(
        rule_id=str(meta.get("rule_id") or config.type),
        expectation_type=config.type,
        columns=tuple(columns),
        dimension=str(meta.get("dimension") or ""),
        severity=str(meta.get("severity") or ""),
        success=bool(r.success),
        failed_count=failed,
        total=total,
        percent=round(failed / total * 100, 4) if total else 0.0,
        examples=tuple(examples),
        description=str(config.description or ""),
        fix=str(meta.get("fix") or ""),
        error=error,
    )


def _scrub_exception_info(r: Any) -> str | None:
    """The scrubbed message of an expectation that raised, and no traceback left in the result.

    GE reports either one ``{raised_exception, exception_message, …}`` dict or, when a metric
    failed, one such dict per metric configuration."""
    info = r.exception_info or {}
    if not isinstance(info, dict):
        return None
    reports = (
        [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    )
    messages = [
        scrub_text(str(report.get("exception_message") or "规则执行出错"))
        for report in reports
        if report.get("raised_exception")
    ]
    if not messages:
        return None
    message = "；".join(dict.fromkeys(messages))
    r.exception_info = {
        "raised_exception": True,
        "exception_message": message,
        "exception_traceback": None,
    }
    return message


def _example_value(
    values: Mapping[str, list[str | None]], i: int, entry: CatalogEntry
) -> str | None:
    if len(values) == 1:
        return next(iter(values.values()))[i]
    parts = [
        f"{entry.item(c).name}={v[i] if v[i] is not None else '（空）'}" for c, v in values.items()
    ]
    return "；".join(parts) or None


# --- Data Docs ---------------------------------------------------------------------------------


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def _safe_id(text: str) -> str:
    """Identifiers in page names, run names and the index table: letters, digits, ``_`` and ``-``."""
    return _UNSAFE_ID.sub("_", text)


def _run_name(county_code: str, period: str | None) -> str:
    # GE's page renderer tries to read a run name as a date: "640502-2026-11-26" (a daily
    # dataset's partition) would parse, with a nonsensical UTC offset, and break the page
    return _safe_id(f"county{county_code}-period{period or 'all'}")
