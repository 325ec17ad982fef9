"""The governed outcome of each exchange slice (county, period), kept beside the dataset's governed
file so that a rerun governs again only the slices whose outcome may differ.

Per slice, in ``<data dir>/governance/<dataset>.slices/``: its quarantine and duplicate records
(Parquet) and a small JSON file — written last, it is what makes the entry count — with the
reconciliation, the rule and standardization counts and the key the outcome is valid for. Its
governed rows are not copied: they are in the dataset's governed file, whose footer names each
slice's rows by that key and the day they were governed on (``records.governed_slices``), a slice
starting a row group. A reused slice's rows are read from there (the previous file, still in place
while the new one is written) when the footer names them so; when it does not (the file removed,
rewritten by other code, a slice not listed), the slice is governed again. Writing the same rows a
second time was half of governance's writing: about 1.1 s of CPU over 1M rows.

When an entry is reused (``reusable``), provably nothing else would come out of governing the slice
again, because governance of a slice is a function of exactly these inputs:

- the slice's rows: the key holds what the exchange table has of the (county, period) — per delivery
  file its checksum, the load's batch id, the rows and the first and last ``ingested_at`` (a slice is
  loaded whole, one batch, never patched, so these name its rows and provenance);
- the dataset's catalog entry (columns, formats, rules, business key) and the city (counties and
  townships of the cross-field rules), as their JSON;
- the code: the SHA-256 of the governance modules and of the shared modules they judge with
  (``CODE_MODULES``), and ``CACHE_FORMAT``;
- the run's day ``as_of``, which only the ``not_future`` rules read (``typed > as_of``). The entry
  records the day it was governed on (A) and whether any value was found in the future then. It is
  reused on the same day, or on a later day B > A when no value was in the future on A: every date
  is then ≤ A < B, so no value is in the future on B either and every rule decides as on A. On an
  earlier day, or once a value was flagged as future, the slice is governed again (a value may
  have crossed the day in either direction).

Duplicates are found within a (county, period) and every rule is judged within one row or one
partition (``govern.combine``), so a reused slice's records are those a full recompute writes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.files import create_private_file, private_dir, sources_digest
from assets.governance.govern import GovernanceResult, Reconciliation
from assets.governance.records import GovernedSlice
from assets.governance.rules import rule_registry

CACHE_FORMAT = 2  # 2: the governed rows are read from the governed file, not kept twice
# what governance of a slice executes: these modules' source is part of every entry's key
CODE_MODULES = (
    "governance/govern.py",
    "governance/rules.py",
    "governance/standardize.py",
    "governance/slices.py",
    "governance/slice_cache.py",
    "common/catalog.py",
    "common/city.py",
    "common/identifiers.py",
    "common/check_chars.py",  # the identifiers' weights and shapes
    "common/quality.py",
    "common/masking.py",
    "common/text.py",
    "common/reference.py",
    "landing/excel_numbers.py",
    "storage/tables.py",
    "storage/exchange_layout.py",  # a slice read from the exchange table: its rows and order
)
_ASSETS = Path(__file__).resolve().parents[1]

SliceKey = tuple[str, str]  # county_code, period


@cache
def code_version() -> str:
    return sources_digest(f"format {CACHE_FORMAT}", _ASSETS, CODE_MODULES)


def cache_dir(governed: Path) -> Path:
    """Where the slices of the governed file at ``governed`` are kept."""
    return governed.with_name(f"{governed.stem}.slices")


def slice_key(entry: CatalogEntry, city: City, key: SliceKey, stamp: str) -> str:
    digest = hashlib.sha256()
    for part in (
        code_version(),
        entry.model_dump_json(),
        city.model_dump_json(),
        json.dumps(list(key)),
        stamp,
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def content_key(governance_key: str, governed_on: date) -> str:
    """What names a slice's governed rows: the key of its governance inputs (rows, catalog entry,
    city, code: :func:`slice_key`) and the day it was governed on, the one other input (a slice
    kept from an earlier day is reused only when that day decides as today would)."""
    text = f"{governance_key}\0{governed_on.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stem(key: SliceKey) -> str:
    return hashlib.sha256(json.dumps(list(key)).encode("utf-8")).hexdigest()[:32]


def _future_rules(entry: CatalogEntry) -> list[str]:
    return [rule_id for rule_id, spec in rule_registry(entry).items() if spec.kind == "not_future"]


@dataclass(frozen=True)
class CachedSlice:
    """A slice's kept outcome: its records and counts, and the row groups of the governed file
    that hold its governed rows."""

    key: SliceKey
    governed: Path  # the dataset's governed file as it was before this governance
    row_groups: tuple[int, ...]
    result: GovernanceResult  # ``governed`` empty (the columns only)
    governed_on: date  # the day its rows were governed on

    def batches(self) -> Iterator[pa.Table]:
        """The governed rows, a row group at a time (as they were written)."""
        with pq.ParquetFile(self.governed) as parquet:
            for group in self.row_groups:  # with the pandas metadata they were written with
                yield parquet.read_row_group(group, use_pandas_metadata=True)


def _row_groups(parquet: pq.ParquetFile, start: int, rows: int) -> tuple[int, ...] | None:
    """The row groups that hold exactly the rows [start, start + rows), or None when those rows do
    not begin and end on row-group boundaries."""
    groups: list[int] = []
    position = covered = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if not size:
            continue  # holds no row of any slice
        if start <= position and position + size <= start + rows:
            groups.append(group)
            covered += size
        elif position < start + rows and start < position + size:
            return None
        position += size
    return tuple(groups) if covered == rows else None


class SliceCache:
    """The kept slices of one dataset's governed file."""

    def __init__(self, governed: Path, entry: CatalogEntry, city: City, as_of: date) -> None:
        self.governed = governed
        self.dir = cache_dir(governed)
        self.entry = entry
        self.city = city
        self.as_of = as_of
        self._future = _future_rules(entry)

    def _paths(self, key: SliceKey) -> tuple[Path, Path, Path]:
        stem = self.dir / _stem(key)
        return (
            stem.with_suffix(".json"),
            stem.with_suffix(".quarantine.parquet"),
            stem.with_suffix(".duplicates.parquet"),
        )

    def reusable(
        self, key: SliceKey, stamp: str, listed: GovernedSlice | None
    ) -> CachedSlice | None:
        """The slice's kept outcome when governing it again provably gives the same (see the
        module's docstring) and the governed file's footer lists its rows (``listed``: the file's
        entry for the slice), else None."""
        meta_path, quarantine, duplicates = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            governance_key = slice_key(self.entry, self.city, key, stamp)
            if meta.get("key") != governance_key:
                return None
            governed_on = date.fromisoformat(meta["as_of"])
            same_day = governed_on == self.as_of
            if not same_day and not (meta["future_free"] and self.as_of > governed_on):
                return None
            if (
                listed is None
                or listed.key != content_key(governance_key, governed_on)
                or listed.rows != int(meta["governed"])
            ):
                return None  # the governed file does not hold these rows (any more)
            with pq.ParquetFile(self.governed) as parquet:
                row_groups = _row_groups(parquet, listed.start, listed.rows)
                empty = parquet.schema_arrow.empty_table().to_pandas()
            if row_groups is None:
                return None
            result = GovernanceResult(
                dataset_id=self.entry.dataset_id,
                governed=empty,
                quarantine=pd.read_parquet(quarantine),
                duplicates=pd.read_parquet(duplicates),
                reconciliation=Reconciliation(
                    rows_in=int(meta["rows_in"]),
                    governed=int(meta["governed"]),
                    quarantined=int(meta["quarantined"]),
                    duplicates=int(meta["duplicates"]),
                    by_partition=pd.DataFrame(meta["by_partition"]).astype(
                        {c: "int64" for c in ("rows_in", "governed", "quarantined", "duplicates")}
                    ),
                ),
                violations={k: int(v) for k, v in meta["violations"].items()},
                standardized_cells={k: int(v) for k, v in meta["standardized_cells"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None  # no entry, or not whole: govern the slice
        return CachedSlice(key, self.governed, row_groups, result, governed_on)

    def keep(self, key: SliceKey, stamp: str, result: GovernanceResult) -> None:
        """Keep a slice just governed: ``result``'s records and counts (its governed rows are the
        governed file's)."""
        private_dir(self.dir)
        meta_path, quarantine, duplicates = self._paths(key)
        meta_path.unlink(missing_ok=True)  # the entry counts again once all of it is written
        for path, frame in ((quarantine, result.quarantine), (duplicates, result.duplicates)):
            _write(path, lambda p, f=frame: f.to_parquet(p, index=False))
        recon = result.reconciliation
        by_partition = recon.by_partition.astype(object).where(recon.by_partition.notna(), None)
        meta = {
            "key": slice_key(self.entry, self.city, key, stamp),
            "slice": list(key),
            "as_of": self.as_of.isoformat(),
            "future_free": not any(result.violations.get(r, 0) for r in self._future),
            "rows_in": recon.rows_in,
            "governed": recon.governed,
            "quarantined": recon.quarantined,
            "duplicates": recon.duplicates,
            "by_partition": by_partition.to_dict("list"),
            "violations": {k: int(v) for k, v in result.violations.items()},
            "standardized_cells": {k: int(v) for k, v in result.standardized_cells.items()},
        }
        text = json.dumps(meta, ensure_ascii=False, default=_plain)
        _write(meta_path, lambda path: path.write_text(text, encoding="utf-8"))

    def prune(self, keys: set[SliceKey]) -> None:
        """Remove the entries of slices the exchange table no longer holds, and any file this
        format does not write (the governed rows an earlier format kept here)."""
        if not self.dir.exists():
            return
        wanted = {path.name for key in keys for path in self._paths(key)}
        for path in self.dir.iterdir():
            if path.name not in wanted:
                path.unlink(missing_ok=True)


def _plain(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _write(path: Path, write) -> None:
    partial = create_private_file(path.with_name(f".{path.name}.{os.getpid()}.partial"))
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def drop_slice_caches(governance_dir: Path) -> None:
    """Forget every kept slice (``publicdata run --force``: everything governed again)."""
    if not governance_dir.exists():
        return
    for directory in governance_dir.glob("*.slices"):
        for path in directory.iterdir():
            path.unlink(missing_ok=True)
        directory.rmdir()
