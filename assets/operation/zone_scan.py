"""The blocking leak check's scan of a published table, in the zone (``guards.scan_for_leaks`` of the
table without reading it into memory).

Each column is read as its distinct non-null values and how often each occurs (``GROUP BY``); the
scan judges each distinct value once anyway. Only values of at least ``MIN_SCANNED_BYTES`` UTF-8
bytes are read: a shorter value cannot hold an identifier, because every finding needs at least
``guards.MIN_IDENTIFIER_DIGITS`` ASCII digits in the normalized (NFKC) value and NFKC never gives a
character more ASCII digits than its UTF-8 bytes (``⅒`` → ``1⁄10``: three digits from three bytes;
``tests/test_zone_scan.py`` checks every code point of the running Python's Unicode). Sorting only
those values is about a third less work for SQLite at 1M rows (masked, generalized and coded columns
fall out). The column's count of all non-null values still comes from the zone (one ``count`` per
column, in one statement), for the share of credit codes the bank-card verdict depends on.

A text column whose values are mostly distinct (pseudonyms, masked phone numbers: judged on the
scanned values among its first ``SAMPLE_ROWS`` non-null values, a read that stops there) is read as it
is and counted by Arrow instead: ``GROUP BY`` sorts every value first, which took twice as long for
such a column at 300,000 rows. Same values, same counts.

The statement that counts the columns' values also takes each text column's longest value in bytes: a
column with no value of ``MIN_SCANNED_BYTES`` has nothing to scan and is not read again (at 1M rows
about half the published columns — codes, generalized dates, masked values — each a pass over the
table saved).

A column whose type is not text, or a zone whose text is not stored as UTF-8, is read whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.operation.guards import MIN_IDENTIFIER_DIGITS, scan_counted
from assets.operation.writer import SLICE_COLUMN, published_table
from assets.storage.arrow_read import read_frame
from assets.storage.engine import is_postgres
from assets.storage.tables import operation_table_name

# values shorter than this (UTF-8 bytes) are not read: they hold too few digits to be an identifier
MIN_SCANNED_BYTES = MIN_IDENTIFIER_DIGITS
# a text column is counted by Arrow when more than this share of its first scanned values are distinct
SAMPLE_ROWS = 2_000
MOSTLY_DISTINCT = 0.5


@dataclass(frozen=True)
class PublishedScan:
    rows: int
    columns: int
    found: dict[str, dict[str, int]]
    # of ``rows``, those read back and scanned in the zone (the others: chunks the writer scanned
    # before loading them)
    zone_rows: int


@dataclass(frozen=True)
class CountedColumn:
    """A published column as the scan reads it: distinct non-null values (those of at least
    ``MIN_SCANNED_BYTES`` bytes, for text) with their occurrences, and ``total``, the column's
    non-null values, all of them."""

    values: pd.Series
    occurrences: np.ndarray
    total: int


ByteLength = Callable[[sa.Column], sa.ColumnElement]


def byte_length(engine: Engine) -> ByteLength | None:
    """The SQL for a text value's length in UTF-8 bytes in this zone, or None where it cannot say."""
    if is_postgres(engine):  # in UTF-8 whatever the server's encoding
        return lambda column: sa.func.octet_length(sa.func.convert_to(column, "UTF8"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            encoding = connection.exec_driver_sql("PRAGMA encoding").scalar_one()
        if encoding == "UTF-8":  # a text's bytes as stored
            return lambda column: sa.func.length(sa.cast(column, sa.LargeBinary))
    return None


def counted_column(
    engine: Engine,
    column: sa.Column,
    total: int,
    length: ByteLength | None,
    rows: Sequence[sa.ColumnElement[bool]] = (),
) -> CountedColumn:
    """One column's values as the scan needs them (``total``: its non-null values, counted;
    ``length``: :func:`byte_length` of the zone, which leaves out short text values; ``rows``: the
    conditions of the rows scanned, all of them when empty)."""
    scanned = [column.is_not(None), *rows]
    if length is not None and isinstance(column.type, sa.String):
        scanned.append(length(column) >= MIN_SCANNED_BYTES)
        if _mostly_distinct(engine, column, rows):
            return _counted_by_arrow(engine, column, scanned, total)
    occurs = sa.func.count().label("occurrences")
    statement = sa.select(column, occurs).where(*scanned).group_by(column)
    counted = read_frame(engine, statement, strings="arrow")
    return CountedColumn(
        values=counted[column.name],
        occurrences=counted["occurrences"].to_numpy(dtype=np.int64),
        total=total,
    )


def _mostly_distinct(
    engine: Engine, column: sa.Column, rows: Sequence[sa.ColumnElement[bool]] = ()
) -> bool:
    """Whether most of the scanned values (``MIN_SCANNED_BYTES`` and longer) among the column's first
    ``SAMPLE_ROWS`` non-null values are distinct. Filtering in the statement instead made it read the
    whole table when few values are that long."""
    sample = sa.select(column).where(column.is_not(None), *rows).limit(SAMPLE_ROWS)
    with engine.connect() as connection:
        values = connection.execute(sample).scalars().all()
    scanned = [
        v for v in map(str, values) if len(v.encode("utf-8", "surrogatepass")) >= MIN_SCANNED_BYTES
    ]
    return bool(scanned) and len(set(scanned)) > MOSTLY_DISTINCT * len(scanned)


def _counted_by_arrow(
    engine: Engine, column: sa.Column, scanned: list, total: int
) -> CountedColumn:
    """The scanned values read as they are and counted by Arrow (``GROUP BY``'s values and counts,
    in another order)."""
    values = read_frame(engine, sa.select(column).where(*scanned), strings="arrow")[column.name]
    counted = pc.value_counts(pa.array(values.array))  # Arrow's own chunks, not copied into one
    del values
    return CountedColumn(
        values=pd.Series(pd.arrays.ArrowStringArray(counted.field("values")), name=column.name),
        occurrences=counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64),
        total=total,
    )


def scan_published(
    engine: Engine, dataset_id: str, counties: Sequence[str] | None = None
) -> PublishedScan | None:
    """``guards.scan_for_leaks`` of the published table, a column at a time in the zone: the same
    findings without the table, or even one whole column, in memory. ``counties``: only their rows
    (``SLICE_COLUMN``), every row when None. None when nothing is published."""
    table = published_table(engine, operation_table_name(dataset_id))
    if table is None:
        return None
    columns = list(table.c)
    rows = [] if counties is None else [table.c[SLICE_COLUMN].in_(list(counties))]
    length = byte_length(engine)
    texts = [c for c in columns if length is not None and isinstance(c.type, sa.String)]
    with engine.connect() as connection:  # rows, non-null values, longest text values: one pass
        counts = connection.execute(
            sa.select(
                sa.func.count(),
                *(sa.func.count(c) for c in columns),
                *(sa.func.max(length(c)) for c in texts if length is not None),
            ).where(*rows)
        ).one()
    longest = dict(zip((c.name for c in texts), counts[1 + len(columns) :], strict=True))
    found: dict[str, dict[str, int]] = {}
    for column, total in zip(columns, counts[1 : 1 + len(columns)], strict=True):
        if not total or (longest.get(column.name, MIN_SCANNED_BYTES) or 0) < MIN_SCANNED_BYTES:
            continue  # no value, or none long enough to hold an identifier
        counted = counted_column(engine, column, int(total), length, rows)
        hits = scan_counted(counted.values, counted.occurrences, total=counted.total)
        if hits:
            found[column.name] = hits
    rows_scanned = int(counts[0])
    return PublishedScan(
        rows=rows_scanned, columns=len(columns), found=found, zone_rows=rows_scanned
    )
