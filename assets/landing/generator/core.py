"""``generate``: a synthetic landing zone of county deliveries with a ground-truth manifest.

For every catalog dataset × county × period it draws clean rows from the catalog rules, injects
defects at ``defect_rate``, and writes ``<data_dir>/landing/<county>/<dataset>/<period>.csv|.xlsx``
in one of the encodings departments really send. The same ``(seed, as_of)`` and arguments give
byte-identical files and manifest.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from assets.common.catalog import CatalogEntry
from assets.common.city import City, County
from assets.landing.generator.context import FileContext
from assets.landing.generator.defects import DefectInjector
from assets.landing.generator.manifest import (
    MANIFEST_PATH,
    Manifest,
    ManifestDefect,
    ManifestFile,
)
from assets.landing.generator.periods import Period, recent_periods
from assets.landing.generator.rows import RowBuilder
from assets.landing.generator.shapes import XLS, deal_shapes, shape_rows, write_shaped
from assets.landing.generator.tables import DATASET_ROW_WEIGHTS
from assets.landing.generator.writer import XLSX_MAX_ROWS, write_csv, write_xlsx

MIN_ROWS_PER_FILE = 5
MAX_DEFECT_RATE = 0.5
SHUFFLED_HEADER_SHARE = 0.3
# Formats dealt round the files in a seeded order: a third GB18030, a sixth xlsx, the rest UTF-8.
FORMAT_CYCLE: tuple[tuple[str, str | None], ...] = (
    ("csv", "gb18030"),
    ("csv", "utf-8"),
    ("xlsx", None),
    ("csv", "gb18030"),
    ("csv", "utf-8-sig"),
    ("csv", "utf-8"),
)

Progress = Callable[[str, int], None]


def generate(
    data_dir: Path,
    *,
    rows: int,
    seed: int,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    as_of: date | None = None,
    defect_rate: float = 0.03,
    periods: int = 1,
    progress: Progress | None = None,
    shapes: Collection[str] = (),
) -> Manifest:
    """Write the landing files and ``ground_truth/manifest.json`` under ``data_dir``.

    ``rows`` data rows in total are spread over datasets × counties × ``periods`` (the most recent
    complete periods before ``as_of``, default today), at least ``MIN_ROWS_PER_FILE`` per file.
    ``progress(file, rows_in_file)`` is called after each file with its path relative to data_dir.
    ``shapes`` (:data:`~assets.landing.generator.shapes.SHAPES`) are dealt to about half the files
    each: title rows, a 合计 row, extra columns, IDs Excel made numbers, .xls.
    """
    if not catalog:
        raise ValueError("目录为空：没有可生成的数据集")
    if not 0.0 <= defect_rate <= MAX_DEFECT_RATE:
        raise ValueError(f"defect_rate 应在 0 到 {MAX_DEFECT_RATE} 之间")
    as_of = as_of or date.today()
    data_dir = Path(data_dir)
    plan = [
        (entry, county, period)
        for _, entry in sorted(catalog.items())
        for county in city.counties
        for period in recent_periods(entry.frequency, as_of, periods)
    ]
    counts = allocate_rows(rows, [DATASET_ROW_WEIGHTS.get(e.dataset_id, 1.0) for e, _, _ in plan])
    formats = assign_formats(seed, counts)
    files: list[ManifestFile] = []
    defects: list[ManifestDefect] = []
    for (entry, county, period), n, (fmt, encoding) in zip(plan, counts, formats, strict=True):
        record, found = _generate_file(
            data_dir,
            FileContext(entry, county, city, period, as_of),
            n,
            seed,
            fmt,
            encoding,
            defect_rate,
            shapes,
        )
        files.append(record)
        defects += found
        if progress is not None:
            progress(record.path, n)
    manifest = Manifest(
        seed=seed,
        as_of=as_of,
        rows=rows,
        defect_rate=defect_rate,
        periods=periods,
        files=files,
        defects=defects,
        pii_columns={
            entry.dataset_id: {item.column: item.pii for item in entry.items if item.pii}
            for _, entry in sorted(catalog.items())
        },
    )
    manifest.save(data_dir / MANIFEST_PATH)
    return manifest


def _generate_file(
    data_dir: Path,
    ctx: FileContext,
    n: int,
    seed: int,
    fmt: str,
    encoding: str | None,
    defect_rate: float,
    shapes: Collection[str] = (),
) -> tuple[ManifestFile, list[ManifestDefect]]:
    entry, county, period = ctx.entry, ctx.county, ctx.period
    rng = file_rng(seed, entry.dataset_id, county.code, period.key)
    frame = RowBuilder(ctx, rng).build_unique(n)
    injected = DefectInjector(ctx, frame, rng).inject(defect_rate)
    order = list(entry.columns)
    if rng.random() < SHUFFLED_HEADER_SHARE:
        order = [order[i] for i in rng.permutation(len(order))]
    header = [entry.item(c).name for c in order]
    dealt = deal_shapes(seed, f"{county.code}/{entry.dataset_id}/{period.key}", shapes, n, fmt)
    if XLS in dealt:
        fmt, encoding = "xls", None
    relative = f"landing/{county.code}/{entry.dataset_id}/{period.key}.{fmt}"
    path = data_dir / relative
    _remove_other_formats(path)
    columns = [frame[c] for c in order]
    shaped = None
    if dealt:
        shaped = shape_rows(ctx, header, order, columns, dealt, {d.row for d in injected}, seed)
        sha256 = write_shaped(
            path,
            shaped,
            fmt=fmt,
            encoding=encoding,
            sheet=entry.title,
            created=_export_time(period),
            author=_department_name(ctx.city, entry, county),
        )
    elif fmt == "xlsx":
        sha256 = write_xlsx(
            path,
            header,
            columns,
            sheet=entry.title,
            created=_export_time(period),
            author=_department_name(ctx.city, entry, county),
        )
    else:
        assert encoding is not None
        sha256 = write_csv(path, header, columns, encoding)
    record = ManifestFile(
        path=relative,
        dataset_id=entry.dataset_id,
        county_code=county.code,
        period=period.key,
        format=fmt,  # type: ignore[arg-type]
        encoding=encoding,  # type: ignore[arg-type]
        rows=n,
        header=header,
        columns=order,
        sha256=sha256,
        shapes=list(dealt),
        header_row=1 + (len(shaped.above) if shaped else 0),
        skipped_rows=len(shaped.above) + len(shaped.below) if shaped else 0,
        extra_columns=shaped.extra_columns if shaped else [],
        excel_numeric_rows=[r + 2 + len(shaped.above) for r in shaped.damaged_rows]
        if shaped
        else [],
    )
    offset = 2 + record.header_row - 1
    defects = [
        ManifestDefect(file=relative, source_row=d.row + offset, column=d.column, kind=d.kind)
        for d in injected
    ]
    return record, defects


def allocate_rows(total: int, weights: list[float], minimum: int = MIN_ROWS_PER_FILE) -> list[int]:
    """Split ``total`` rows over files in proportion to ``weights`` (largest remainders), at least
    ``minimum`` each."""
    if total < minimum * len(weights):
        raise ValueError(
            f"rows={total} 太少：{len(weights)} 个文件每个至少 {minimum} 行，"
            f"至少需要 {minimum * len(weights)} 行"
        )
    extra = total - minimum * len(weights)
    w = np.asarray(weights, dtype=float)
    share = w / w.sum() * extra
    counts = np.floor(share).astype(np.int64)
    leftover = extra - int(counts.sum())
    counts[np.argsort(-(share - counts), kind="stable")[:leftover]] += 1
    return (counts + minimum).tolist()


def assign_formats(seed: int, counts: list[int]) -> list[tuple[str, str | None]]:
    """Deal ``FORMAT_CYCLE`` over the files in a seeded order; xlsx only where the rows fit a sheet."""
    order = np.random.default_rng([_seed_key(seed), len(counts)]).permutation(len(counts))
    formats: list[tuple[str, str | None]] = [("csv", "utf-8")] * len(counts)
    for position, index in enumerate(order):
        fmt = FORMAT_CYCLE[position % len(FORMAT_CYCLE)]
        if fmt[0] == "xlsx" and counts[index] > XLSX_MAX_ROWS:
            fmt = ("csv", "utf-8")
        formats[index] = fmt
    return formats


def file_rng(seed: int, dataset_id: str, county_code: str, period: str) -> np.random.Generator:
    """The random stream of one file: a function of the seed and the file's identity only."""
    parts = [zlib.crc32(p.encode("utf-8")) for p in (dataset_id, county_code, period)]
    return np.random.default_rng(np.random.SeedSequence([_seed_key(seed), *parts]))


def _seed_key(seed: int) -> int:
    return abs(seed) * 2 + (seed < 0)


def _remove_other_formats(path: Path) -> None:
    """A period is delivered once: drop the same period's file in another format from a prior run."""
    for suffix in (".csv", ".xlsx", ".xls"):
        other = path.with_suffix(suffix)
        if other != path and other.exists():
            other.unlink()


def _export_time(period: Period) -> datetime:
    return datetime.combine(period.end + timedelta(days=1), time(9, 0))


def _department_name(city: City, entry: CatalogEntry, county: County) -> str:
    try:
        return city.department(entry.provider).name_in(county)
    except KeyError:
        return county.data_bureau
