"""Governance (治理) of one dataset taken from the exchange platform.

Order of work, and why:

1. standardize the delivered text (``standardize.py``);
2. remove exact duplicates, then repeated business keys, within a county + period, keeping the latest
   delivery of each (highest ``ingested_at``, then highest ``source_row``). Deduplication comes before
   the rules on purpose: the department's latest version of a record is the one that counts, so when
   it breaks a rule it goes to quarantine (and to the department as a ticket) instead of letting an
   older, superseded version slip into the governed table;
3. evaluate the hard rules on what is left; a row violating any goes to quarantine with its reason
   codes and GB/T 36344 dimensions, everything else is typed into the governed table.

Nothing is dropped: every input row is in exactly one of governed / quarantine / duplicates, and the
reconciliation says so per (county, period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.masking import mask_series
from assets.governance.rules import (
    PARTITION_COLUMNS,
    RuleSpec,
    evaluate_and_type,
    rule_registry,
)
from assets.governance.standardize import standardize
from assets.storage.tables import PROVENANCE_COLUMNS

# Joined lists in quarantine / duplicate records are text so they store in any database.
LIST_SEPARATOR = ";"

DUPLICATE_EXACT = "exact"
DUPLICATE_BUSINESS_KEY = "business_key"


@dataclass(frozen=True)
class Reconciliation:
    """rows in = governed + quarantined + duplicates, in total and per (county_code, period)."""

    rows_in: int
    governed: int
    quarantined: int
    duplicates: int
    by_partition: pd.DataFrame  # county_code, period, rows_in, governed, quarantined, duplicates

    @property
    def balanced(self) -> bool:
        per_partition = self.by_partition
        partitions_ok = bool(
            (
                per_partition["rows_in"]
                == per_partition["governed"]
                + per_partition["quarantined"]
                + per_partition["duplicates"]
            ).all()
        )
        return partitions_ok and self.rows_in == self.governed + self.quarantined + self.duplicates

    def as_metadata(self) -> dict[str, int | bool]:
        return {
            "rows_in": self.rows_in,
            "governed": self.governed,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "balanced": self.balanced,
        }


@dataclass(frozen=True)
class GovernanceResult:
    """The outcome of governing one dataset (one partition or many).

    - ``governed``: catalog columns typed (date → datetime64, integer → Int64, decimal → Float64,
      string → text) plus the provenance columns;
    - ``quarantine``: provenance of each row that violates a hard rule, with ``rule_ids``,
      ``reason_codes``, ``dimensions`` and ``reasons`` (Chinese), each joined by ``;``;
    - ``duplicates``: provenance of each superseded row, ``duplicate_kind`` (exact | business_key),
      ``key_columns``, ``key_masked`` (the repeated key, masked for display) and the provenance of the
      row it repeats (``kept_batch_id``, ``kept_source_file``, ``kept_source_row``);
    - ``violations``: per rule id, the number of rows violating it (among deduplicated rows);
    - ``standardized_cells``: per column, how many cells standardization changed.
    """

    dataset_id: str
    governed: pd.DataFrame
    quarantine: pd.DataFrame
    duplicates: pd.DataFrame
    reconciliation: Reconciliation
    violations: dict[str, int]
    standardized_cells: dict[str, int]


def _descending_key(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """A key that sorts ``values`` (int64 or float64) largest first, the missing ones last."""
    if values.dtype.kind == "f":
        return np.where(missing, np.inf, -np.where(missing, 0.0, values))
    return np.where(missing, np.iinfo(np.int64).max, -np.where(missing, 0, values))


def _recency_order(frame: pd.DataFrame) -> pd.Index:
    """The frame's index sorted newest first: ingested_at, then source_row, then position (each
    descending, a missing value last); one ``lexsort`` over numeric keys."""
    keys = [-np.arange(len(frame), dtype=np.int64)]  # the last key sorts first
    if "source_row" in frame.columns:
        row = pd.to_numeric(frame["source_row"], errors="coerce")
        missing = row.isna().to_numpy()
        numbers = row.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = not missing.all() and np.array_equal(numbers[~missing], np.trunc(numbers[~missing]))
        if whole and np.abs(numbers[~missing]).max() < 2**53:  # exact as integers
            numbers = np.where(missing, 0, numbers).astype(np.int64)
        keys.append(_descending_key(numbers, missing))
    if "ingested_at" in frame.columns:
        at = pd.to_datetime(frame["ingested_at"], utc=True, errors="coerce")
        missing = at.isna().to_numpy()
        nanoseconds = at.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]").view(np.int64)
        keys.append(_descending_key(nanoseconds, missing))
    return frame.index[np.lexsort(keys)]


def _find_duplicates(
    text: pd.DataFrame, subset: list[str], eligible: pd.Series, newest_first: pd.Index
) -> tuple[pd.Index, pd.Series]:
    """Rows (among ``eligible``) repeating an earlier-ranked row on ``subset``, and for each the index
    label of the kept row. (Grouped in place when every row is eligible: no reordered copy of the
    columns; else only the eligible rows' ``subset``.)"""
    order = newest_first[eligible.loc[newest_first].to_numpy()]
    if not len(order):
        return pd.Index([]), pd.Series(dtype=object)
    rows = text if len(order) == len(text) else text.loc[eligible.to_numpy(), subset]
    group = rows.groupby(subset, dropna=False, sort=False).ngroup()
    ranked = group.loc[order]
    repeated = ranked.index[ranked.duplicated().to_numpy()]
    first_of_group = pd.Series(ranked.index, index=ranked.to_numpy()).groupby(level=0).first()
    kept = pd.Series(first_of_group.loc[ranked.loc[repeated].to_numpy()].to_numpy(), index=repeated)
    return repeated, kept


def _provenance(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in PROVENANCE_COLUMNS if c in frame.columns]].copy()


def _masked_key(text: pd.DataFrame, entry: CatalogEntry, rows: pd.Index) -> pd.Series:
    parts = [
        f"{col}=" + mask_series(text.loc[rows, col], entry.item(col).pii).fillna("")
        for col in entry.business_key
    ]
    if not parts:
        return pd.Series("", index=rows)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + LIST_SEPARATOR + part
    return joined.astype(object)


def _duplicate_records(
    frame: pd.DataFrame,
    text: pd.DataFrame,
    entry: CatalogEntry,
    repeated: pd.Index,
    kept: pd.Series,
    kind: str,
) -> pd.DataFrame:
    records = _provenance(frame.loc[repeated])
    records["duplicate_kind"] = kind
    if kind == DUPLICATE_EXACT:
        records["key_columns"] = "*"  # every catalog column
    else:
        records["key_columns"] = ",".join(entry.business_key)
    records["key_masked"] = _masked_key(text, entry, repeated) if entry.business_key else ""
    for col in ("batch_id", "source_file", "source_row"):
        if col in frame.columns:
            records[f"kept_{col}"] = frame.loc[kept.to_numpy(), col].to_numpy()
    return records


def _join_flags(violations: pd.DataFrame, labels: list[str]) -> pd.Series:
    """Per row, the labels of the True columns joined by ``;`` (vectorized via a matrix product)."""
    if violations.empty or not labels:
        return pd.Series("", index=violations.index, dtype=object)
    flags = violations.to_numpy(dtype=bool)
    # each label once per row, in rule order, even when two rules share a reason code or dimension
    parts = np.where(
        flags, np.array([label + LIST_SEPARATOR for label in labels], dtype=object), ""
    )
    joined = parts.sum(axis=1) if parts.shape[1] else np.full(len(flags), "")
    return pd.Series(joined, index=violations.index).str.rstrip(LIST_SEPARATOR)


def _unique_labels(row_labels: pd.Series) -> pd.Series:
    """Deduplicate the ``;``-joined labels of each row, keeping first-seen order."""
    uniques = pd.Series(row_labels.unique())
    cleaned = uniques.map(
        lambda s: LIST_SEPARATOR.join(dict.fromkeys(p for p in s.split(LIST_SEPARATOR) if p))
    )
    return row_labels.map(dict(zip(uniques, cleaned, strict=True)))


def _quarantine_records(
    frame: pd.DataFrame, violations: pd.DataFrame, registry: dict[str, RuleSpec]
) -> pd.DataFrame:
    rule_ids = list(violations.columns)
    specs = [registry[r] for r in rule_ids]
    records = _provenance(frame)
    records["rule_ids"] = _join_flags(violations, rule_ids)
    records["reason_codes"] = _unique_labels(
        _join_flags(violations, [str(s.reason_code) for s in specs])
    )
    records["dimensions"] = _unique_labels(
        _join_flags(violations, [str(s.dimension) for s in specs])
    )
    records["reasons"] = _join_flags(violations, [s.description for s in specs])
    return records


def _counts(frame: pd.DataFrame, keys: list[str], name: str) -> pd.Series:
    if not keys:
        return pd.Series([len(frame)], name=name)
    return frame.groupby(keys, dropna=False).size().rename(name)


def reconcile(
    rows_in: pd.DataFrame,
    governed: pd.DataFrame,
    quarantine: pd.DataFrame,
    duplicates: pd.DataFrame,
) -> Reconciliation:
    """Count rows in and out, in total and per (county_code, period)."""
    keys = [c for c in PARTITION_COLUMNS if c in rows_in.columns]
    parts = [
        _counts(rows_in, keys, "rows_in"),
        _counts(governed, keys, "governed"),
        _counts(quarantine, keys, "quarantined"),
        _counts(duplicates, keys, "duplicates"),
    ]
    table = pd.concat(parts, axis=1).fillna(0).astype("int64")
    by_partition = table.reset_index() if keys else table.reset_index(drop=True)
    return Reconciliation(
        rows_in=len(rows_in),
        governed=len(governed),
        quarantined=len(quarantine),
        duplicates=len(duplicates),
        by_partition=by_partition,
    )


def govern(
    frame: pd.DataFrame, entry: CatalogEntry, *, city: City, as_of: date
) -> GovernanceResult:
    """Standardize, deduplicate, check and type one dataset's exchange rows.

    ``frame``: catalog columns as delivered text (str or None) plus the provenance columns. Rows are
    identified by their index, which is reset to 0..n-1 first; no row is dropped.
    """
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    standardized = standardize(frame, entry)
    text = standardized.frame
    # from here on the delivered values are not needed, only the rows' provenance: a caller that
    # handed over its frame lets them go (governance holds one slice's values once, not twice)
    frame = frame[[c for c in frame.columns if c not in set(entry.columns)]]
    columns = [c for c in entry.columns if c in text.columns]
    keys = [c for c in PARTITION_COLUMNS if c in text.columns]
    newest_first = _recency_order(text)

    # 2a. exact duplicates: every catalog column equal (after standardization) within county + period;
    # only rows repeating their business key can be (the key is among the columns): the rest is
    # never grouped on every column
    all_rows = pd.Series(True, index=text.index)
    key_cols = [c for c in entry.business_key if c in text.columns]
    candidates = text.duplicated(subset=keys + key_cols, keep=False) if key_cols else all_rows
    exact, exact_kept = _find_duplicates(text, keys + columns, candidates, newest_first)
    remaining = all_rows.copy()
    remaining.loc[exact] = False

    # 2b. repeated business keys among the rest; a key with an empty part identifies nothing
    if key_cols:
        has_key = remaining & text[key_cols].notna().all(axis=1)
        by_key, key_kept = _find_duplicates(text, keys + key_cols, has_key, newest_first)
        remaining.loc[by_key] = False
    else:
        by_key, key_kept = pd.Index([]), pd.Series(dtype=object)

    duplicates = pd.concat(
        [
            _duplicate_records(frame, text, entry, exact, exact_kept, DUPLICATE_EXACT),
            _duplicate_records(frame, text, entry, by_key, key_kept, DUPLICATE_BUSINESS_KEY),
        ]
    )

    # 3. hard rules on the deduplicated rows
    candidates = text if bool(remaining.all()) else text.loc[remaining.to_numpy()]
    changed = standardized.changed
    del standardized, text  # only the deduplicated rows are judged and kept from here on
    registry = rule_registry(entry)
    violations, typed = evaluate_and_type(candidates, entry, city=city, as_of=as_of)
    failing = violations.any(axis=1)
    quarantine = _quarantine_records(
        frame.loc[failing[failing].index], violations[failing], registry
    )
    governed = typed.loc[~failing]
    del typed

    reconciliation = reconcile(frame, governed, quarantine, duplicates)
    if not reconciliation.balanced:  # a bug here would silently lose rows: refuse to continue
        raise RuntimeError(f"治理对账不平: {reconciliation.as_metadata()}")
    return GovernanceResult(
        dataset_id=entry.dataset_id,
        governed=governed.reset_index(drop=True),
        quarantine=quarantine.reset_index(drop=True),
        duplicates=duplicates.reset_index(drop=True),
        reconciliation=reconciliation,
        violations={rule_id: int(n) for rule_id, n in violations.sum().items()},
        standardized_cells=changed,
    )


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames one after the other; empty ones only shape the result when all are empty."""
    filled = [f for f in frames if len(f)]
    if not filled:
        return frames[0].reset_index(drop=True)
    return (
        pd.concat(filled, ignore_index=True)
        if len(filled) > 1
        else filled[0].reset_index(drop=True)
    )


def combine(results: Sequence[GovernanceResult]) -> GovernanceResult:
    """The results of governing a dataset's (county, period) slices one at a time, as one result.

    Governance deduplicates, judges the partition-scoped rules and reconciles within a county + period,
    so governing each slice on its own is governing the whole dataset: the records and counts are
    concatenated (the reconciliation sorted by county and period, as ``reconcile`` gives it), the
    violation and standardization counts added. ``governed`` is taken as the slices hold it — the
    caller may have replaced each slice's rows by an empty frame of the same columns once written.
    """
    if not results:
        raise ValueError("没有可合并的治理结果")
    by_partition = pd.concat([r.reconciliation.by_partition for r in results], ignore_index=True)
    keys = [c for c in PARTITION_COLUMNS if c in by_partition.columns]
    if keys:
        by_partition = by_partition.sort_values(keys, kind="stable").reset_index(drop=True)
    reconciliation = Reconciliation(
        rows_in=sum(r.reconciliation.rows_in for r in results),
        governed=sum(r.reconciliation.governed for r in results),
        quarantined=sum(r.reconciliation.quarantined for r in results),
        duplicates=sum(r.reconciliation.duplicates for r in results),
        by_partition=by_partition,
    )
    if not reconciliation.balanced:
        raise RuntimeError(f"治理对账不平: {reconciliation.as_metadata()}")
    violations: dict[str, int] = {}
    cells: dict[str, int] = {}
    for r in results:
        for rule_id, n in r.violations.items():
            violations[rule_id] = violations.get(rule_id, 0) + int(n)
        for column, n in r.standardized_cells.items():
            cells[column] = cells.get(column, 0) + int(n)
    return GovernanceResult(
        dataset_id=results[0].dataset_id,
        governed=_concat([r.governed for r in results]),
        quarantine=_concat([r.quarantine for r in results]),
        duplicates=_concat([r.duplicates for r in results]),
        reconciliation=reconciliation,
        violations=violations,
        standardized_cells=cells,
    )
