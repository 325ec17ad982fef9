"""The operation-zone writer (公共数据运营平台): the only code that writes dataset tables there.

- ``publish`` accepts a ``DesensitizedFrame`` and nothing else (only ``desensitize`` can build one), runs
  the guards (禁止开放, the blocking leak scan, k measured on the frame), then replaces the dataset's table
  ``operation_<dataset>`` atomically: the new version is loaded into a staging table no reader knows,
  then one transaction drops the old table and renames the staging table into its place. Readers see the
  old version or the new one, never a mix; a writer killed before the swap leaves the old version whole.
- ``withdraw`` removes a published version (第二十七条 暂停供给并撤回): the whole table, or one county's
  rows — after which small classes are suppressed again so the remaining table stays k-anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry
from assets.common.text import as_text
from assets.desensitization.desensitize import DesensitizedBatches, DesensitizedFrame
from assets.desensitization.kanonymity import ClassCounts, class_sizes
from assets.operation import carry
from assets.operation.guards import (
    KAnonymityViolation,
    all_blank,
    assert_no_leak,
    ensure_publishable,
)
from assets.storage.arrow_read import Strings, read_frame
from assets.storage.bulk import append_rows, replace_slice
from assets.storage.dependents import lock_views, restore_views, save_dependent_views
from assets.storage.engine import is_postgres
from assets.storage.tables import operation_table_name

STAGING_SUFFIX = "__next"
SLICE_COLUMN = "county_code"


@dataclass(frozen=True)
class PublishOutcome:
    dataset_id: str
    table_name: str
    rows: int
    replaced_rows: int  # rows of the version it replaced (0 when there was none)
    k: int | None
    suppressed: int
    # workspace views on the table that the new version no longer fits (dropped, not restored)
    views_dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class WithdrawOutcome:
    dataset_id: str
    table_name: str
    county_code: str | None
    removed: int  # rows of the withdrawn county (or the whole table)
    suppressed: int  # further rows removed so the remaining table stays k-anonymous
    remaining: int


def _column_type(values: pd.Series, *, is_date: bool) -> sa.types.TypeEngine:
    """The SQL type of a published column: catalog dates stay dates, other timestamps (provenance)
    keep their time, numbers stay numbers, everything else (masked, pseudonymized, generalized) is
    text."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return sa.Date() if is_date else sa.DateTime(timezone=True)
    if pd.api.types.is_bool_dtype(dtype):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return sa.Float()
    return sa.Text()


def _storable(frame: pd.DataFrame, types: dict[str, sa.types.TypeEngine]) -> pd.DataFrame:
    """Values in the form the loaders take for each column type (dates as ``datetime.date``)."""
    out = frame.copy()
    for name, kind in types.items():
        values = out[name]
        if isinstance(kind, sa.DateTime):
            if pd.api.types.is_datetime64_any_dtype(values.dtype) and values.dt.tz is None:
                out[name] = values.dt.tz_localize("UTC")  # the zones store UTC
        elif isinstance(kind, sa.Date):
            if pd.api.types.is_datetime64_any_dtype(values.dtype):
                dates = values.dt.date.astype(object)
                out[name] = dates.where(values.notna(), None)
        elif isinstance(kind, sa.Integer) and not pd.api.types.is_integer_dtype(values.dtype):
            out[name] = pd.to_numeric(values, errors="raise").astype("Int64")
        elif isinstance(kind, sa.Text | sa.String):
            # Arrow strings (the bulk loader's COPY takes any Arrow string width since 162faf5):
            # no Python object per value on the way to PostgreSQL
            out[name] = as_text(values)
    return out


def _table_exists(engine: Engine, name: str) -> bool:
    return sa.inspect(engine).has_table(name)


def _drop_if_exists(engine: Engine, name: str, *, cascade: bool = False) -> None:
    """Drop a table; with ``cascade`` (PostgreSQL) the views built on it go with it."""
    also = " CASCADE" if cascade and is_postgres(engine) else ""
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"{also}')


def _swap_in(
    engine: Engine, staging: str, name: str, keys: Sequence[tuple[str, dict]] | None = None
) -> list[str]:
    """Drop ``name`` and rename ``staging`` to it, in one transaction. On PostgreSQL the views
    built on the table (merchants' workspace views) are created again in the same transaction with
    the same definition and privileges; returns those that no longer fit the new table. ``keys``:
    the statements that keep the new table's carry keys (``carry.keep_keys_sql``); without, the
    dataset's kept keys are forgotten (the new table is not what they name)."""
    drop = f'DROP TABLE IF EXISTS "{name}"'
    rename = f'ALTER TABLE "{staging}" RENAME TO "{name}"'
    create_keys = carry.create_keys_sql()
    statements = keys if keys is not None else carry.forget_keys_sql(_dataset_of(name))
    if is_postgres(engine):
        with engine.begin() as connection:  # DDL is transactional in PostgreSQL
            lock_views(connection)
            views = save_dependent_views(connection, name)
            connection.exec_driver_sql(drop + (" CASCADE" if views else ""))
            connection.exec_driver_sql(rename)
            lost = restore_views(connection, views)
            connection.execute(sa.text(create_keys))
            for sql, params in statements:
                connection.execute(sa.text(sql), params)
        return [f"{view.schema}.{view.name}" for view in lost]
    # SQLite's DDL is transactional too, but the sqlite3 module runs DDL outside the transactions it
    # opens implicitly: take the connection into explicit-transaction mode for the swap.
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        previous = driver.isolation_level
        driver.isolation_level = None
        try:
            cursor = driver.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(drop)
                cursor.execute(rename)
                cursor.execute(create_keys)
                for sql, params in statements:
                    cursor.execute(sql, params)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        finally:
            driver.isolation_level = previous
    finally:
        raw.close()
    return []  # SQLite views bind by name at use: nothing depends on the dropped table


def _dataset_of(table_name: str) -> str:
    return table_name.removeprefix(operation_table_name(""))


def _replace_table(
    engine: Engine, name: str, frame: pd.DataFrame, columns: list[sa.Column]
) -> list[str]:
    if SLICE_COLUMN not in frame.columns:
        raise ValueError(f"运营平台数据缺少 {SLICE_COLUMN} 列")
    staging = f"{name}{STAGING_SUFFIX}"
    _drop_if_exists(engine, staging)  # left over from a writer killed before its swap
    table = sa.Table(staging, sa.MetaData(), *columns)
    table.create(engine)
    try:
        # the staging table is invisible to readers: loading it slice by slice is safe
        for county, part in frame.groupby(SLICE_COLUMN, sort=True, dropna=False):
            replace_slice(engine, table, part, {SLICE_COLUMN: county})
        return _swap_in(engine, staging, name)
    except BaseException:
        _drop_if_exists(engine, staging)
        raise


def _count(engine: Engine, name: str) -> int:
    if not _table_exists(engine, name):
        return 0
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar_one())


def _check_chunk(entry: CatalogEntry, chunk: DesensitizedFrame) -> pd.DataFrame:
    if not isinstance(chunk, DesensitizedFrame):
        raise TypeError(
            f"运营平台只接受经过脱敏（desensitize）的数据，拒绝写入未脱敏的 {type(chunk).__name__}"
        )
    if chunk.report.dataset_id != entry.dataset_id:
        raise ValueError(f"脱敏结果属于 {chunk.report.dataset_id}，不能发布为 {entry.dataset_id}")
    return chunk.frame


def _publish_chunks(
    engine: Engine,
    entry: CatalogEntry,
    chunks: Iterable[DesensitizedFrame],
    quasi_identifiers: Sequence[str],
    threshold: int,
    observe: Callable[[pd.DataFrame], None] | None,
    carried: carry.Carry | None = None,
    transformations: Callable[[], Mapping[str, Mapping[str, str]]] | None = None,
) -> tuple[int, int | None, list[str]]:
    """Load the chunks into the staging table — each leak-scanned before it is written, the classes
    over the quasi-identifiers counted — then, when k holds over all of them, swap it in. Returns
    the rows written, k and the views dropped.

    ``carried``: the counties copied over from the published table after the chunks (k is then
    measured in the zone over the whole staging table) and the carry keys the zone keeps with the
    new table; ``transformations`` gives, once the chunks are all taken, what was done to each
    county's columns (kept with the keys)."""
    dataset_id = entry.dataset_id
    name = operation_table_name(dataset_id)
    staging = f"{name}{STAGING_SUFFIX}"
    names = {item.column: item.name for item in entry.items}
    dates = {item.column for item in entry.items if item.type == "date"}
    classes = ClassCounts(quasi_identifiers)
    table: sa.Table | None = None
    types: dict[str, sa.types.TypeEngine] = {}
    _drop_if_exists(engine, staging)  # left over from a writer killed before its swap
    try:
        for chunk in chunks:
            frame = _check_chunk(entry, chunk)
            assert_no_leak(frame, dataset_id)
            missing = sorted(set(quasi_identifiers) - {str(c) for c in frame.columns})
            if missing:
                raise KAnonymityViolation(
                    f"{dataset_id}: 发布数据缺少准标识符列 {', '.join(missing)}"
                )
            if SLICE_COLUMN not in frame.columns:
                raise ValueError(f"运营平台数据缺少 {SLICE_COLUMN} 列")
            classes.add(frame)
            if table is None:
                types = {str(c): _column_type(frame[c], is_date=c in dates) for c in frame.columns}
                columns = [sa.Column(c, kind, comment=names.get(c)) for c, kind in types.items()]
                table = sa.Table(staging, sa.MetaData(), *columns)
                table.create(engine)
            # the staging table is invisible to readers: loading it chunk by chunk is safe
            append_rows(engine, table, _storable(frame, types))
            if observe is not None:
                observe(frame)
        if table is None:
            raise ValueError(f"{dataset_id}: 没有可发布的数据块")
        rows, k = classes.rows, None
        if carried is not None and carried.counties:
            carry.copy_counties(engine, name, staging, carried.counties, SLICE_COLUMN)
            rows, k = carry.measure_in_zone(engine, staging, quasi_identifiers)
        else:
            k = classes.k()
        if k is not None and k < threshold:
            raise KAnonymityViolation(
                f"{dataset_id}: k-匿名度 {k} 低于阈值 {threshold}"
                f"（准标识符 {', '.join(quasi_identifiers)}）"
            )
        keys = None
        if carried is not None:
            done = dict(transformations() if transformations else {})
            keys = carry.keep_keys_sql(
                dataset_id, carried.keys, {**carried.transformations, **done}
            )
        dropped = _swap_in(engine, staging, name, keys)
    except BaseException:
        _drop_if_exists(engine, staging)
        raise
    return rows, k, dropped


def publish(engine: Engine, entry: CatalogEntry, published: DesensitizedFrame) -> PublishOutcome:
    """Replace the dataset's operation table with ``published``, after the guards pass."""
    if not isinstance(published, DesensitizedFrame):
        _check_chunk(entry, published)  # refuses it
    ensure_publishable(entry)
    _check_chunk(entry, published)
    report = published.report
    name = operation_table_name(entry.dataset_id)
    replaced = _count(engine, name)
    rows, k, dropped = _publish_chunks(
        engine, entry, [published], report.quasi_identifiers, report.k_threshold, None
    )
    return PublishOutcome(
        dataset_id=entry.dataset_id,
        table_name=name,
        rows=rows,
        replaced_rows=replaced,
        k=k,
        suppressed=report.suppressed,
        views_dropped=tuple(dropped),
    )


def publish_batches(
    engine: Engine,
    entry: CatalogEntry,
    batches: DesensitizedBatches,
    *,
    observe: Callable[[pd.DataFrame], None] | None = None,
    carried: carry.Carry | None = None,
) -> PublishOutcome:
    """``publish`` a chunk at a time: the dataset's rows desensitized chunk by chunk are leak-scanned
    and loaded into the staging table one chunk at a time, k is measured over all of them, and the
    table is swapped in only then (readers see the old version or the new one, never a part).
    ``observe`` sees each chunk once it is written. ``carried``: the unchanged counties copied over
    from the published table (the batches hold the other counties' rows) and the keys to keep
    (``operation.carry``)."""
    if not isinstance(batches, DesensitizedBatches):
        raise TypeError(
            "运营平台只接受经过脱敏（desensitize）的数据，拒绝写入未脱敏的 "
            f"{type(batches).__name__}"
        )
    ensure_publishable(entry)
    if batches.dataset_id != entry.dataset_id:
        raise ValueError(f"脱敏结果属于 {batches.dataset_id}，不能发布为 {entry.dataset_id}")
    name = operation_table_name(entry.dataset_id)
    replaced = _count(engine, name)
    rows, k, dropped = _publish_chunks(
        engine,
        entry,
        batches,
        batches.quasi_identifiers,
        batches.k_threshold,
        observe,
        carried,
        lambda: batches.by_county,
    )
    return PublishOutcome(
        dataset_id=entry.dataset_id,
        table_name=name,
        rows=rows,
        replaced_rows=replaced,
        k=k,
        suppressed=batches.report.suppressed,
        views_dropped=tuple(dropped),
    )


def published_table(engine: Engine, name: str) -> sa.Table | None:
    """The zone's table ``name`` as it is (reflected), or None when there is none."""
    if not _table_exists(engine, name):
        return None
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def published_columns(engine: Engine, dataset_id: str) -> list[str] | None:
    """The published table's columns, in order, or None when nothing is published."""
    name = operation_table_name(dataset_id)
    if not _table_exists(engine, name):
        return None
    return [c["name"] for c in sa.inspect(engine).get_columns(name)]


def read_published(
    engine: Engine,
    dataset_id: str,
    columns: Sequence[str] | None = None,
    *,
    strings: Strings = "object",
) -> pd.DataFrame | None:
    """The dataset's table as the operation platform holds it (only ``columns`` of it, those it
    has, when given), or None when nothing is published. Read columnar (``read_frame``): text as
    ``str``/``None``, or Arrow-backed ``string[pyarrow]`` with ``strings="arrow"``."""
    table = published_table(engine, operation_table_name(dataset_id))
    if table is None:
        return None
    selected = list(table.c) if columns is None else [table.c[c] for c in columns if c in table.c]
    if not selected:  # none of the columns: the table's row count, no column
        return pd.DataFrame(index=pd.RangeIndex(_count(engine, table.name)))
    return read_frame(engine, sa.select(*selected), strings=strings)


# rows read at once to find an informative value in (almost) every column
EMPTIED_HEAD_ROWS = 256


def emptied_published_columns(engine: Engine, dataset_id: str) -> tuple[list[str], int] | None:
    """The published table's emptied columns (``guards.emptied_columns``: every value NULL, empty or
    mask characters) and its row count, or None when nothing is published; no column when it has no
    rows. Measured without reading the table: its first rows settle every column holding an
    informative value among them, the others are judged on their DISTINCT non-null values (the
    verdict on a value does not depend on the other values)."""
    table = published_table(engine, operation_table_name(dataset_id))
    if table is None:
        return None
    rows = _count(engine, table.name)
    if not rows:
        return [], 0
    head = read_frame(engine, sa.select(table).limit(EMPTIED_HEAD_ROWS))
    emptied = []
    for column in table.columns:
        if not all_blank(head[column.name].dropna()):
            continue
        distinct = read_frame(engine, sa.select(column).where(column.is_not(None)).distinct())
        if all_blank(distinct[column.name]):
            emptied.append(column.name)
    return emptied, rows


def withdraw(
    engine: Engine,
    dataset_id: str,
    *,
    county_code: str | None = None,
    quasi_identifiers: Sequence[str] = (),
    k_threshold: int = 5,
) -> WithdrawOutcome:
    """Remove the published version: the whole table, or one county's rows (then re-suppress the
    classes that fell below ``k_threshold``). Nothing new is written: the remainder is a subset of what
    was published."""
    name = operation_table_name(dataset_id)
    table = published_table(engine, name)
    if table is None:
        return WithdrawOutcome(dataset_id, name, county_code, 0, 0, 0)
    if county_code is None:
        removed = _count(engine, name)
        _drop_if_exists(engine, name, cascade=True)  # merchants' views on it go too
        with engine.begin() as connection:
            connection.execute(sa.text(carry.create_keys_sql()))
            for sql, params in carry.forget_keys_sql(dataset_id):
                connection.execute(sa.text(sql), params)
        return WithdrawOutcome(dataset_id, name, None, removed, 0, 0)

    with engine.connect() as connection:
        current = pd.read_sql(sa.select(table), connection)
    remaining = current.loc[current[SLICE_COLUMN] != county_code].reset_index(drop=True)
    removed = len(current) - len(remaining)
    columns_present = [c for c in quasi_identifiers if c in remaining.columns]
    suppressed = 0
    if columns_present and len(remaining):
        keep = class_sizes(remaining, columns_present) >= k_threshold
        suppressed = int((~keep).sum())
        remaining = remaining.loc[np.asarray(keep)].reset_index(drop=True)
    if removed == 0 and suppressed == 0:
        return WithdrawOutcome(dataset_id, name, county_code, 0, 0, len(remaining))
    assert_no_leak(remaining, dataset_id)
    columns = [sa.Column(c.name, c.type, comment=c.comment) for c in table.columns]
    types = {c.name: c.type for c in table.columns}
    _replace_table(engine, name, _storable(remaining, types), columns)
    return WithdrawOutcome(dataset_id, name, county_code, removed, suppressed, len(remaining))
