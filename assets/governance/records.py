"""Governance's working store and platform records.

- the governed data of a dataset (typed, all counties and periods) is the city's governance working
  store: ``<data dir>/governance/<dataset>.parquet``, replaced atomically (write, then rename);
- quarantine, duplicate and reconciliation records are platform records (``assets/storage/tables.py``),
  replaced per dataset inside one transaction. None of them holds a data value: quarantine and
  duplicate records point at the exchange row by its provenance, and a repeated business key is stored
  masked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.common.files import create_private_file, private_dir
from assets.common.text import as_text, format_dates
from assets.storage.exchange_layout import existing_loads
from assets.storage.tables import (
    exchange_table,
    governance_duplicates,
    governance_quarantine,
    governance_reconciliation,
)

if TYPE_CHECKING:  # the records are read where governance itself is not (the run's summary)
    from assets.governance.govern import GovernanceResult

# --- governed data ------------------------------------------------------------------------------


def governed_path(data_dir: Path, dataset_id: str) -> Path:
    return data_dir / "governance" / f"{dataset_id}.parquet"


def write_governed(path: Path, frame: pd.DataFrame) -> None:
    """Write the governed frame; a reader sees the previous file or the new one, never a part."""
    private_dir(path.parent)  # governed personal data: owner-only
    partial = create_private_file(path.with_name(f".{path.name}.{os.getpid()}.partial"))
    frame.to_parquet(partial, index=False)
    os.replace(partial, path)


def read_governed(
    path: Path, columns: Sequence[str] | None = None, *, arrow_strings: bool = False
) -> pd.DataFrame:
    """The governed file (only ``columns`` of it, when given); with ``arrow_strings`` its text as
    ``string[pyarrow]`` (no Python string per value) instead of as written."""
    if columns is not None and not columns:  # no column: the rows, as an index
        return pd.DataFrame(index=pd.RangeIndex(governed_rows(path)))
    selected = None if columns is None else list(columns)
    if not arrow_strings:
        return pd.read_parquet(path, columns=selected)
    return _arrow_text_frame(pq.read_table(path, columns=selected, use_pandas_metadata=True))


_ARROW_TEXT = pd.StringDtype("pyarrow")


def _arrow_text_frame(table: pa.Table) -> pd.DataFrame:
    """A governed table as pandas with its text as ``string[pyarrow]``: the file's pandas metadata
    says ``string``, which pandas would rebuild as one Python ``str`` per value."""
    return table.to_pandas(
        types_mapper={pa.string(): _ARROW_TEXT, pa.large_string(): _ARROW_TEXT}.get
    )


def governed_columns(path: Path) -> list[str]:
    """The columns of the governed file, from its footer."""
    names = [str(name) for name in pq.read_schema(path).names]
    return [name for name in names if not name.startswith("__index_level_")]


def governed_rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def iter_governed(path: Path, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
    """The governed file a row group at a time, in order, its text as ``string[pyarrow]`` (as
    ``read_governed(arrow_strings=True)`` types it)."""
    with pq.ParquetFile(path) as parquet:
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=columns, use_pandas_metadata=True)
            yield _arrow_text_frame(table)


# the governed file's footer (``slices.GovernedWriter``): per slice its county, period, first row,
# rows and a key naming its governed rows, for the operation publish to carry unchanged counties
SLICES_METADATA = b"publicdata.slices"


@dataclass(frozen=True)
class GovernedSlice:
    county_code: str
    period: str
    start: int  # its first row in the governed file (a row group starts there)
    rows: int
    key: str | None  # names its governed rows; None: unknown


def governed_slices(path: Path) -> list[GovernedSlice] | None:
    """The slices of the governed file in file order, from its footer; None when it does not say
    (a file written before the footer held them, or by ``write_governed``)."""
    try:
        metadata = pq.read_metadata(path).metadata or {}
        listed = json.loads(metadata[SLICES_METADATA])
        return [
            GovernedSlice(
                str(s["county"]),
                str(s["period"]),
                int(s["start"]),
                int(s["rows"]),
                None if s["key"] is None else str(s["key"]),
            )
            for s in listed
        ]
    except (KeyError, TypeError, ValueError, OSError, pa.ArrowException):
        return None


def iter_governed_ranges(
    path: Path, ranges: Sequence[tuple[int, int]]
) -> Iterator[tuple[int, pd.DataFrame]]:
    """The governed rows in ``ranges`` (first row, end row; each on row-group boundaries), a row
    group at a time as ``iter_governed`` reads them, each with its first row's position in the
    file."""
    with pq.ParquetFile(path) as parquet:
        start = 0
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if any(first <= start and start + rows <= end for first, end in ranges):
                table = parquet.read_row_group(group, use_pandas_metadata=True)
                yield start, _arrow_text_frame(table)
            elif any(first < start + rows and start < end for first, end in ranges):
                raise ValueError(f"{path.name}: 行范围不在行组边界上")
            start += rows


def read_exchange(engine: Engine, entry: CatalogEntry) -> pd.DataFrame:
    """Every row of the dataset's exchange table (empty, with the columns, when it does not exist)."""
    table = exchange_table(entry)
    if not sa.inspect(engine).has_table(table.name):
        return pd.DataFrame({c.name: pd.Series(dtype=object) for c in table.columns})
    with engine.connect() as connection:
        return pd.read_sql(sa.select(table), connection)


def count_exchange_rows(engine: Engine, entry: CatalogEntry) -> pd.DataFrame:
    """Rows of the exchange table per (county_code, period)."""
    loads = existing_loads(engine, entry)
    if loads is None:
        return pd.DataFrame(columns=["county_code", "period", "rows"])
    query = sa.select(loads.c.county_code, loads.c.period, sa.func.sum(loads.c.rows)).group_by(
        loads.c.county_code, loads.c.period
    )
    with engine.connect() as connection:
        found = [(county, period, int(rows)) for county, period, rows in connection.execute(query)]
    return pd.DataFrame(found, columns=["county_code", "period", "rows"])


# --- governance records ---------------------------------------------------------------------------


def _records(frame: pd.DataFrame, columns: Sequence[str], **constant: object) -> list[dict]:
    present = frame[[c for c in columns if c in frame.columns]]
    records = present.astype(object).where(present.notna(), None).to_dict("records")
    for record in records:
        record.update(constant)
    return records


_QUARANTINE_COLUMNS = [
    c.name for c in governance_quarantine.columns if c.name not in ("id", "dataset_id", "run_id")
]
_DUPLICATE_COLUMNS = [
    c.name for c in governance_duplicates.columns if c.name not in ("id", "dataset_id", "run_id")
]


def record_governance(
    engine: Engine, result: GovernanceResult, *, run_id: str, at: datetime
) -> None:
    """Replace the dataset's quarantine, duplicate and reconciliation records in one transaction."""
    dataset_id = result.dataset_id
    quarantine = _records(
        result.quarantine, _QUARANTINE_COLUMNS, dataset_id=dataset_id, run_id=run_id
    )
    duplicates = _records(
        result.duplicates, _DUPLICATE_COLUMNS, dataset_id=dataset_id, run_id=run_id
    )
    by_partition = result.reconciliation.by_partition
    reconciliation = _records(
        by_partition,
        ["county_code", "period", "rows_in", "governed", "quarantined", "duplicates"],
        dataset_id=dataset_id,
        run_id=run_id,
        reconciled_at=at,
    )
    for record in reconciliation:
        for key in ("rows_in", "governed", "quarantined", "duplicates"):
            record[key] = int(record[key])
    with engine.begin() as connection:
        for table in (governance_quarantine, governance_duplicates, governance_reconciliation):
            connection.execute(sa.delete(table).where(table.c.dataset_id == dataset_id))
        for table, rows in (
            (governance_quarantine, quarantine),
            (governance_duplicates, duplicates),
            (governance_reconciliation, reconciliation),
        ):
            if rows:
                connection.execute(table.insert(), rows)


def recorded_reconciliation(engine: Engine, dataset_id: str) -> pd.DataFrame:
    """The recorded reconciliation per partition, with how many quarantine and duplicate records
    actually exist for it."""
    recon = governance_reconciliation
    with engine.connect() as connection:
        table = pd.DataFrame(
            connection.execute(
                sa.select(
                    recon.c.county_code,
                    recon.c.period,
                    recon.c.rows_in,
                    recon.c.governed,
                    recon.c.quarantined,
                    recon.c.duplicates,
                ).where(recon.c.dataset_id == dataset_id)
            ).all(),
            columns=["county_code", "period", "rows_in", "governed", "quarantined", "duplicates"],
        )
        for name, source in (
            ("quarantine_records", governance_quarantine),
            ("duplicate_records", governance_duplicates),
        ):
            counts = pd.DataFrame(
                connection.execute(
                    sa.select(source.c.county_code, source.c.period, sa.func.count())
                    .where(source.c.dataset_id == dataset_id)
                    .group_by(source.c.county_code, source.c.period)
                ).all(),
                columns=["county_code", "period", name],
            )
            table = table.merge(counts, on=["county_code", "period"], how="outer")
    count_columns = [c for c in table.columns if c not in ("county_code", "period")]
    table[count_columns] = table[count_columns].apply(pd.to_numeric).fillna(0).astype("int64")
    return table


def governed_text(frame: pd.DataFrame, entry: CatalogEntry) -> pd.DataFrame:
    """The catalog columns of a governed frame as text (dates as ISO days), for the detectors."""
    columns = {
        item.column: governed_text_column(frame[item.column])
        for item in entry.items
        if item.column in frame.columns
    }
    return pd.DataFrame(columns, index=frame.index)


def governed_text_column(values: pd.Series) -> pd.Series:
    """One governed column as Arrow-backed text (dates as ISO days), for the detectors."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return format_dates(values, "%Y-%m-%d")
    return as_text(values)
