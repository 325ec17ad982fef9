"""Reading a delivered XLSX or XLS workbook (its first sheet) as the text a spreadsheet shows: numbers as Excel
displays them, dates as ISO dates, trailing all-empty rows dropped. What reading may cost is checked
first (:mod:`assets.landing.limits`), and rows are converted in batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from assets.common.catalog import CatalogEntry
from assets.landing.limits import ReadLimits, check_csv_size, check_row_count, check_xlsx
from assets.landing.parsed import (
    ENCODING_XLSX,
    HEADER_SEARCH_ROWS,
    OLE2_SIGNATURE,
    Parsed,
    clean_header,
    header_index,
    looks_binary,
    map_header,
    strip_bom_and_space,
)
from assets.landing.rejections import CORRUPT, TRUNCATED, FileRejected, empty_file
from assets.landing.xls_limits import check_xls

_EXCEL_EXACT_LIMIT = 1e15  # Excel keeps 15 significant digits; beyond that integers are damaged
_EXCEL_GENERAL_WIDTH = 11  # characters Excel's General format shows in a standard-width cell


def _excel_general(value: float) -> str:
    """A number as Excel's General format shows it in a standard-width cell: 6.40521E+17."""
    sign = "-" if value < 0 else ""
    for decimals in range(_EXCEL_GENERAL_WIDTH, -1, -1):
        mantissa, exponent = f"{abs(value):.{decimals}E}".split("E")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{sign}{mantissa}E{exponent}"
        if len(text) <= _EXCEL_GENERAL_WIDTH:
            return text
    return f"{sign}{abs(value):.0E}"


def _number_text(value: float) -> str:
    if value.is_integer():
        return str(int(value)) if abs(value) < _EXCEL_EXACT_LIMIT else _excel_general(value)
    text = f"{value:.15g}"  # Excel keeps 15 significant digits
    return _excel_general(value) if "e" in text else text


def _round_to_second(value: dt.datetime) -> dt.datetime:
    return (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def _cell_text(value: Any) -> str | None:
    """One calamine cell as delivered text."""
    kind = type(value)
    if kind is str:
        return value or None
    if value is None:
        return None
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is float:
        return _number_text(value)
    if kind is int:
        return str(value) if abs(value) < _EXCEL_EXACT_LIMIT else _excel_general(float(value))
    if isinstance(value, dt.datetime):
        value = _round_to_second(value)
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _round_to_second(dt.datetime.combine(dt.date(2000, 1, 1), value)).time().isoformat()
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


def _cells_text(values: Sequence[Any]) -> list[str | None]:
    # Most cells are text: keep that path a plain comprehension.
    return [(v or None) if v.__class__ is str else _cell_text(v) for v in values]


_BATCH_ROWS = 65_536


def _batch_table(rows: list[list[Any]], width: int) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    return pa.table(
        [pa.array(_cells_text(column), type=pa.string()) for column in columns],
        names=[f"f{i}" for i in range(width)],
    )


def _not_blank(table: pa.Table) -> np.ndarray:
    if table.num_rows == 0 or table.num_columns == 0:
        return np.zeros(table.num_rows, dtype=bool)
    mask = pc.is_valid(table.column(0))
    for column in table.columns[1:]:
        mask = pc.or_(mask, pc.is_valid(column))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _padded(row: list[Any], pad: int) -> list[Any]:
    return [None] * pad + row if pad else row


def _check_xlsx_bytes(path: Path, head: bytes, tail: bytes, limits: ReadLimits) -> None:
    if head.startswith(OLE2_SIGNATURE):
        raise FileRejected(
            CORRUPT,
            "不是 .xlsx 工作簿：是 Excel 97-2003（.xls）格式或设置了打开密码的工作簿，"
            "请取消密码并另存为 .xlsx 后重新提交，或以 .xls 扩展名提交",
        )
    if not head.startswith(b"PK\x03\x04"):
        hint = (
            "内容像是文本（CSV），请另存为 .xlsx 或改用 .csv 扩展名"
            if looks_binary(head) is None
            else "请用 Excel 打开检查后另存为 .xlsx"
        )
        raise FileRejected(CORRUPT, f"不是有效的 Excel 工作簿（.xlsx）：{hint}")
    if b"PK\x05\x06" not in tail:
        raise FileRejected(
            TRUNCATED,
            "Excel 工作簿不完整（压缩包的结尾缺失），可能上传或复制时被截断，请重新提交完整文件",
        )
    check_xlsx(path, limits)  # before the reader allocates the sheet's grid


def _check_xls_bytes(path: Path, head: bytes, limits: ReadLimits) -> None:
    """A BIFF workbook is an uncompressed compound file whose cells address at most 65,536 rows ×
    256 columns, so what reading costs is bounded by its size on disk (``max_bytes``) and the
    format (16.7 M cells, within ``MAX_CELLS``); the first sheet's extent is checked before reading
    (:func:`check_xls`), and rows are counted against ``max_rows`` as they are read."""
    if head.startswith(b"PK\x03\x04"):
        raise FileRejected(
            CORRUPT, "不是 .xls 工作簿：内容是 .xlsx 格式，请以 .xlsx 扩展名重新提交"
        )
    if not head.startswith(OLE2_SIGNATURE):
        hint = (
            "内容像是文本（CSV），请另存为 Excel 工作簿或改用 .csv 扩展名"
            if looks_binary(head) is None
            else "请用 Excel 打开检查后另存为 .xlsx"
        )
        raise FileRejected(CORRUPT, f"不是有效的 Excel 97-2003 工作簿（.xls）：{hint}")
    check_csv_size(path, limits)
    check_xls(path, limits)  # the first sheet's extent, before the reader allocates its grid


def parse_xlsx(path: Path, entry: CatalogEntry | None, limits: ReadLimits | None = None) -> Parsed:
    """The first sheet of an .xlsx or .xls workbook, after what reading it costs is bounded
    (:func:`check_xlsx`, or the size for .xls); rows are converted in batches of ``_BATCH_ROWS``,
    never all at once. The header is the first row, or the row below title rows
    (:func:`header_index`); ``source_row`` is the row number in the sheet."""
    limits = limits or ReadLimits()
    file_format = "xls" if Path(path).suffix.lower() == ".xls" else "xlsx"
    size = Path(path).stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8192)
        handle.seek(max(0, size - 65_557))  # the zip end record sits in the last 64 KiB + 22 bytes
        tail = handle.read()
    if not strip_bom_and_space(head) and size <= len(head):
        raise empty_file()
    if file_format == "xls":
        _check_xls_bytes(path, head, limits)
    else:
        _check_xlsx_bytes(path, head, tail, limits)
    head_rows: list[list[str]] = []
    buffered: list[list[Any]] = []  # the first rows, until the header is found among them
    header: list[str] = []
    header_at: int | None = None  # index of the header among the rows read
    first_row = 1  # the sheet row of the first row read (rows above it are empty)
    chunks: list[pa.Table] = []
    batch: list[list[Any]] = []
    width = 0
    rows_seen = 0  # data rows below the header
    last_data = 0  # data rows up to the last one holding a value

    def flush() -> None:
        nonlocal last_data
        table = _batch_table(batch, width)
        filled = np.flatnonzero(_not_blank(table))
        if len(filled):
            last_data = rows_seen - len(batch) + int(filled[-1]) + 1
        chunks.append(table)
        batch.clear()

    def take(row: list[Any]) -> None:
        nonlocal rows_seen
        rows_seen += 1
        if rows_seen > limits.max_rows:
            check_row_count(rows_seen, limits)
        batch.append(row)
        if len(batch) >= _BATCH_ROWS:
            flush()

    def start_data() -> int:
        nonlocal header, width
        at = header_index(head_rows, entry)
        header, width = head_rows[at] if head_rows else [], len(buffered[at]) if buffered else 0
        if entry is not None:  # a wrong file, before the rest
            map_header(header, entry, head_rows, file_format, header_row=first_row + at)
        for row in buffered[at + 1 :]:
            take(row)
        buffered.clear()
        return at

    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            if not workbook.sheet_names:
                raise empty_file("工作簿中没有工作表")
            sheet = workbook.get_sheet_by_index(0)
            pad = sheet.start[1] if sheet.start else 0  # rows start at the first used column
            first_row = (sheet.start[0] if sheet.start else 0) + 1
            for raw in sheet.iter_rows():
                row = _padded(raw, pad)
                if header_at is not None:
                    take(row)
                    continue
                buffered.append(row)
                head_rows.append([clean_header(_cell_text(v)) for v in row])
                if len(buffered) >= HEADER_SEARCH_ROWS:
                    header_at = start_data()
            if header_at is None and buffered:
                header_at = start_data()
            flush()
    except PasswordError:
        raise FileRejected(
            CORRUPT, "工作簿设置了打开密码，无法读取：请取消密码后重新提交"
        ) from None
    except (CalamineError, ValueError, RuntimeError) as exc:
        raise FileRejected(
            CORRUPT, "Excel 工作簿已损坏，无法读取：请用 Excel 打开检查后另存为 .xlsx 重新提交"
        ) from exc

    if header_at is None or (last_data == 0 and not any(any(row) for row in head_rows)):
        raise empty_file("第一个工作表没有内容")
    data = pa.concat_tables(chunks).slice(0, last_data) if chunks else _batch_table([], width)
    header_row = first_row + header_at
    return Parsed(
        header=header,
        data=data,
        source_rows=np.arange(header_row + 1, header_row + 1 + last_data, dtype=np.int64),
        ragged=[],
        encoding=ENCODING_XLSX if file_format == "xlsx" else file_format,
        file_format=file_format,
        head_rows=head_rows,
        header_row=header_row,
        head_start=first_row,
    )
