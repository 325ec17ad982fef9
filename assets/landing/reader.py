"""Landing files (落地文件): reading a county's delivery faithfully as text, against its catalog entry.

Where files land is :mod:`assets.landing.paths`; the formats are read by :mod:`assets.landing.csv_file`
and :mod:`assets.landing.xlsx_file`; what is refused is :mod:`assets.landing.rejections`. A file carries
a header row of the catalog items' Chinese names (``item.name``) in any order.

Reading keeps every value as delivered text (empty cell → None, whitespace kept) and accounts for every
record: each row is loaded, rejected with a reason, or skipped with a reason — title rows above the
header (“2026年10月海原县户籍人口信息”) and 合计 / 总计 / 小计 rows are not data and not defects — so
``rows_read == len(frame) + len(rejections) + len(skipped)``.
A file that cannot be trusted as a whole raises :class:`FileRejected` with a reason a department official
can act on. Reasons never quote cell values (they may be personal data).

``source_row`` is the spreadsheet row number in the delivered file (the header is row 1 unless title
rows sit above it; ``rows_read`` counts every row but the header). Trailing
all-empty rows (which spreadsheet tools leave behind) are not data rows and are not counted; an
all-empty row before the last data row is a ``blank_row`` rejection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.catalog import CatalogEntry
from assets.landing.csv_file import parse_csv
from assets.landing.excel_numbers import repair_excel_arrays
from assets.landing.limits import ReadLimits
from assets.landing.parsed import Parsed, is_total_label, map_header
from assets.landing.paths import SUFFIX_FORMATS
from assets.landing.rejections import (
    BLANK_ROW,
    DUPLICATE_COLUMN,
    FIELD_COUNT,
    TITLE_ROW,
    TOTAL_ROW,
    FileRejected,
    RowRejection,
)
from assets.landing.xlsx_file import parse_xlsx


@dataclass
class LandingRead:
    """A landing file read against its catalog entry.

    ``frame`` has the catalog columns (``item.column``) in catalog order with values ``str`` or None, and
    ``source_row`` (int64). ``unknown_headers`` are delivered headers that name no catalog item;
    ``missing_optional`` are the Chinese names of optional items the file lacks (their column is None).
    ``skipped`` are the title rows above the header and the 合计 rows, each with its reason.
    The rows are held as Arrow: ``items`` (catalog column → string array, in catalog order) and
    ``source_rows``; ``frame`` is built from them when asked for.
    """

    items: dict[str, pa.Array | pa.ChunkedArray]
    source_rows: np.ndarray
    encoding: str
    file_format: str
    rows_read: int
    rejections: list[RowRejection] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    skipped: list[RowRejection] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.source_rows)

    @cached_property
    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                column: pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
                for column, array in self.items.items()
            },
            index=pd.RangeIndex(self.rows),
        )
        frame["source_row"] = self.source_rows
        return frame


def _parse(path: Path, entry: CatalogEntry | None, limits: ReadLimits | None = None) -> Parsed:
    file_format = SUFFIX_FORMATS.get(Path(path).suffix.lower())
    if file_format is None:
        raise ValueError(f"{Path(path).name}: only .csv, .xlsx and .xls files are read")
    if file_format == "csv":
        return parse_csv(path, entry, limits)
    return parse_xlsx(path, entry, limits)


def _blank_mask(data: pa.Table) -> np.ndarray:
    """True where every field of the row is empty."""
    if data.num_rows == 0:
        return np.zeros(0, dtype=bool)
    mask = pc.is_null(data.column(0))
    for column in data.columns[1:]:
        mask = pc.and_(mask, pc.is_null(column))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _total_mask(data: pa.Table) -> np.ndarray:
    """True where the row's first non-empty cell is a 合计 / 总计 / 小计 label."""
    if data.num_rows == 0 or data.num_columns == 0:
        return np.zeros(data.num_rows, dtype=bool)
    first = pc.coalesce(*data.columns) if data.num_columns > 1 else data.column(0)
    # every label ends in 计 (合计 / 总计 / 小计): only those values are looked at one by one
    maybe = pc.fill_null(pc.match_substring(first, "计"), False)
    labels = pc.unique(pc.filter(first, maybe)).to_pylist()
    totals = [label for label in labels if is_total_label(label)]
    if not totals:
        return np.zeros(data.num_rows, dtype=bool)
    mask = pc.is_in(first, value_set=pa.array(totals, type=pa.string()))
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _title_rows(parsed: Parsed) -> list[RowRejection]:
    """Every row above the header: skipped, a title or a blank row."""
    skipped = []
    for row in range(1, parsed.header_row):
        index = row - parsed.head_start
        cells = parsed.head_rows[index] if 0 <= index < len(parsed.head_rows) else []
        reason = (
            f"表头（第 {parsed.header_row} 行）上方的标题行，不是数据，已跳过"
            if any(cells)
            else f"表头（第 {parsed.header_row} 行）上方的空行，已跳过"
        )
        skipped.append(RowRejection(row, TITLE_ROW, reason))
    return skipped


_TOTAL_REASON = "合计 / 总计 / 小计行，不是数据，已跳过"


def _object_column(data: pa.Table, index: int | None, length: int) -> pd.Series:
    if index is None:
        return pd.Series(np.full(length, None, dtype=object), dtype=object)
    return pd.Series(data.column(index).to_numpy(zero_copy_only=False), dtype=object)


def _string_column(data: pa.Table, index: int | None) -> pa.Array | pa.ChunkedArray:
    if index is None:
        return pa.nulls(data.num_rows, pa.string())
    return data.column(index).cast(pa.string())


def _items(
    kept: pa.Table, positions: dict[str, int], entry: CatalogEntry, source_rows: np.ndarray
) -> tuple[dict[str, pa.Array | pa.ChunkedArray], np.ndarray, list[RowRejection]]:
    """The catalog columns as Arrow text and their rows' ``source_rows``, identifiers Excel made
    numbers repaired and the rows it damaged taken out (as rejections)."""
    arrays = {item.column: _string_column(kept, positions.get(item.column)) for item in entry.items}
    damaged, rejections = repair_excel_arrays(arrays, entry, source_rows)
    if damaged is not None:
        keep = pa.array(~damaged)
        arrays = {column: array.filter(keep) for column, array in arrays.items()}
        source_rows = source_rows[~damaged]
    return arrays, source_rows, rejections


def _assemble(parsed: Parsed, entry: CatalogEntry) -> LandingRead:
    header = map_header(
        parsed.header, entry, parsed.head_rows, parsed.file_format, header_row=parsed.header_row
    )
    blank = _blank_mask(parsed.data)
    total = _total_mask(parsed.data)
    rows = parsed.source_rows
    last_data = max(
        int(rows[~blank].max()) if (~blank).any() else parsed.header_row,
        max((r.source_row for r in parsed.ragged if not r.blank), default=parsed.header_row),
    )
    skipped = _title_rows(parsed) + [
        RowRejection(int(row), TOTAL_ROW, _TOTAL_REASON) for row in rows[total]
    ]
    rejections = [
        RowRejection(int(row), BLANK_ROW, "空行：该行所有字段均为空")
        for row in rows[blank & (rows <= last_data)]
    ]
    for r in parsed.ragged:
        if r.source_row > last_data:
            continue  # trailing blank lines are not data rows
        if r.blank:
            rejections.append(RowRejection(r.source_row, BLANK_ROW, "空行：该行所有字段均为空"))
            continue
        if r.total:
            skipped.append(RowRejection(r.source_row, TOTAL_ROW, _TOTAL_REASON))
            continue
        reason = f"字段数与表头不符：表头有 {r.expected} 列，该行有 {r.actual} 个字段"
        if r.open_quote:
            reason += "（该行有未闭合的引号，其后的换行被当作字段内容）"
        rejections.append(RowRejection(r.source_row, FIELD_COUNT, reason))
    rejections.sort(key=lambda r: r.source_row)
    skipped.sort(key=lambda r: r.source_row)

    keep = ~blank & ~total
    kept = parsed.data.filter(pa.array(keep)) if not keep.all() else parsed.data
    items, source_rows, damaged = _items(kept, header.positions, entry, rows[keep].astype(np.int64))
    if damaged:
        rejections = sorted([*rejections, *damaged], key=lambda r: r.source_row)
    unknown = header.unknown + [
        f"第{index + 1}列（无表头）"
        for index in header.unnamed
        if kept.column(index).null_count < kept.num_rows
    ]
    read = LandingRead(
        items=items,
        source_rows=source_rows,
        encoding=parsed.encoding,
        file_format=parsed.file_format,
        rows_read=last_data - 1,
        rejections=rejections,
        unknown_headers=unknown,
        missing_optional=header.missing_optional,
        skipped=skipped,
    )
    if read.rows_read != read.rows + len(rejections) + len(skipped):
        raise RuntimeError("landing read does not account for every row")
    return read


def read_landing_file(
    path: Path, entry: CatalogEntry, limits: ReadLimits | None = None
) -> LandingRead:
    """Read a landing file (.csv, .xlsx or .xls) against its catalog entry; see the module docstring.

    Raises :class:`FileRejected` when the file as a whole cannot be taken, or is past ``limits``
    (default :class:`ReadLimits`: rows and size, checked before reading).
    """
    return _assemble(_parse(path, entry, limits), entry)


def read_table(path: Path, limits: ReadLimits | None = None) -> tuple[pd.DataFrame, str]:
    """Any CSV, XLSX or XLS (first sheet) as a frame of text columns named by its header row, and the
    detected encoding. Empty cells are None; all-empty rows are skipped; a record of the wrong width,
    a duplicated header or an undecodable file raises :class:`FileRejected`."""
    parsed = _parse(path, None, limits)
    for r in parsed.ragged:
        if not r.blank:
            raise FileRejected(
                FIELD_COUNT,
                f"第 {r.source_row} 行字段数与表头不符：表头有 {r.expected} 列，该行有 {r.actual} 个字段",
            )
    names = [name or f"column_{index + 1}" for index, name in enumerate(parsed.header)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRejected(DUPLICATE_COLUMN, f"表头有重复的列：{'、'.join(repeated)}")
    blank = _blank_mask(parsed.data)
    kept = parsed.data.filter(pa.array(~blank)) if blank.any() else parsed.data
    frame = pd.DataFrame(
        {name: _object_column(kept, index, kept.num_rows) for index, name in enumerate(names)}
    )
    return frame, parsed.encoding
