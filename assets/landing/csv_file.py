"""Reading a delivered CSV: UTF-8 (with or without BOM), GB18030/GBK or UTF-16 with BOM (Excel's
"Unicode text", tab-separated); the encoding is detected strictly, never guessed.

``source_row`` counts records, not physical lines, so a quoted value spanning lines is still one row, as
in a spreadsheet. Records of another width than the header are kept aside (:class:`Ragged`).
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from assets.common.catalog import CatalogEntry
from assets.landing.limits import ReadLimits, check_csv_size, check_row_count
from assets.landing.parsed import (
    ENCODING_GB18030,
    ENCODING_UTF8,
    ENCODING_UTF8_SIG,
    ENCODING_UTF16,
    HEADER_SEARCH_ROWS,
    Parsed,
    Ragged,
    clean_header,
    header_index,
    is_total_label,
    looks_binary,
    map_header,
    strip_bom_and_space,
)
from assets.landing.rejections import (
    CORRUPT,
    ENCODING,
    TRUNCATED,
    UNBALANCED_QUOTE,
    FileRejected,
    empty_file,
    truncated_text,
)

_HEAD_CHARS = 1 << 16
_BLOCK_SIZE = 16 << 20


def _sniff_delimiter(text_head: str) -> str:
    """Comma, or tab for Excel's "Unicode text" (UTF-16, tab-separated) saved under a .csv name."""
    first_line = text_head.split("\n", 1)[0]
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def _first_records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:  # a field longer than csv's limit, or a NUL: the rows so far suffice
        pass
    return rows


def _header_matches(text: str, names: frozenset[str]) -> int:
    head = text[:_HEAD_CHARS]
    records = _first_records(head, _sniff_delimiter(head), 1)
    return sum(1 for cell in records[0] if clean_header(cell) in names) if records else 0


def _cut_at_end(exc: UnicodeDecodeError, size: int) -> bool:
    """The decoder failed only because the input stops inside a multi-byte character."""
    return exc.end >= size and any(
        word in exc.reason for word in ("end of data", "incomplete", "truncated")
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode_csv(data: bytes, entry: CatalogEntry | None) -> tuple[str, str]:
    """``(encoding, text)``. Without a BOM, UTF-8 and GB18030 are both tried strictly and the one whose
    header names the catalog's items wins (UTF-8 first), so neither is ever read as the other."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return ENCODING_UTF16, data.decode("utf-16")
        except UnicodeDecodeError as exc:
            if _cut_at_end(exc, len(data)):
                raise truncated_text() from None
            raise FileRejected(
                ENCODING, "文件以 UTF-16 标记开头，但内容不是有效的 UTF-16 文本"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return ENCODING_UTF8_SIG, body.decode("utf-8")
        except UnicodeDecodeError as exc:
            if _cut_at_end(exc, len(body)):
                raise truncated_text() from None
            raise FileRejected(
                ENCODING,
                f"文件以 UTF-8 标记开头，但约第 {_line_of(body, exc.start)} 行起含有不是 UTF-8 的字节："
                "请以 UTF-8 或 GB18030 编码重新导出",
            ) from None

    binary = looks_binary(data[:8192])
    if binary:
        raise FileRejected(CORRUPT, f"文件无法作为 CSV 读取：{binary}")
    names = frozenset(item.name for item in entry.items) if entry is not None else frozenset()
    # Each strict attempt: it decodes, or stops at a character cut at the very end, or meets an
    # invalid byte inside; and whether the part before that names the catalog's items.
    complete: list[tuple[str, str]] = []
    cut: list[tuple[str, int]] = []
    invalid: list[tuple[str, int, int]] = []  # (encoding, header matches, offset of the bad byte)
    for encoding in (ENCODING_UTF8, ENCODING_GB18030):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            prefix = data[: min(exc.start, 4 * _HEAD_CHARS)].decode(encoding, errors="ignore")
            if _cut_at_end(exc, len(data)):
                cut.append((encoding, _header_matches(prefix, names)))
            else:
                invalid.append((encoding, _header_matches(prefix, names), exc.start))
            continue
        if entry is None or _header_matches(text, names) > 0:
            return encoding, text
        complete.append((encoding, text))

    if any(matches for _, matches in cut):
        raise truncated_text()
    for encoding, matches, offset in invalid:
        if matches:
            label = "UTF-8" if encoding == ENCODING_UTF8 else "GB18030（GBK）"
            raise FileRejected(
                ENCODING,
                f"文件是 {label} 编码，但约第 {_line_of(data, offset)} 行起含有无法按该编码解读的字节，"
                "可能混入了其他编码的内容或文件已损坏：请以 UTF-8 或 GB18030 编码重新导出",
            )
    if complete:
        return complete[0]  # decodable but not this dataset's header: the header check says so
    if cut:
        raise truncated_text()
    furthest = max(offset for _, _, offset in invalid)
    raise FileRejected(
        ENCODING,
        "文件编码无法识别：既不是 UTF-8 也不是 GB18030（GBK）编码"
        f"（约第 {_line_of(data, furthest)} 行起无法解码）。"
        "请以 UTF-8 或 GB18030 编码另存为 CSV 后重新提交",
    )


def _all_fields_empty(text: str, delimiter: str) -> bool:
    return all(cell == "" for row in _first_records(text, delimiter, 2) for cell in row)


def _starts_with_total(text: str, delimiter: str) -> bool:
    records = _first_records(text, delimiter, 1)
    first = next((cell for cell in records[0] if cell.strip()), None) if records else None
    return is_total_label(first)


def _records_offset(text: str, delimiter: str, records: int) -> int:
    """Where the text after the first ``records`` CSV records starts (a quoted title may span
    lines, so records are counted by the CSV reader, then their lines measured)."""
    if records == 0:
        return 0
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter)
    for _ in range(records):
        next(reader)
    consumed = io.StringIO(text, newline="")
    return sum(len(consumed.readline()) for _ in range(reader.line_num))


def _swallowing(ragged: list[Ragged]) -> Ragged | None:
    """The first record whose quote was left open and swallowed the lines after it."""
    return next((r for r in ragged if not r.blank and (r.open_quote or r.multiline)), None)


def parse_csv(path: Path, entry: CatalogEntry | None, limits: ReadLimits | None = None) -> Parsed:
    limits = limits or ReadLimits()
    check_csv_size(path, limits)
    data = Path(path).read_bytes()
    if not strip_bom_and_space(data):
        raise empty_file()
    encoding, text = _decode_csv(data, entry)
    if not text.strip().strip("\ufeff").strip():
        raise empty_file()
    text_head = text[:_HEAD_CHARS]
    delimiter = _sniff_delimiter(text_head)
    head_rows = [
        [clean_header(c) for c in row]
        for row in _first_records(text_head, delimiter, HEADER_SEARCH_ROWS)
    ]
    # title rows above the header are skipped: parsing starts at the header record
    skip = header_index(head_rows, entry)
    if entry is not None:  # refuse a wrong file before parsing all of it
        header_cells = head_rows[skip] if head_rows else []
        map_header(header_cells, entry, head_rows, "csv", header_row=skip + 1)
    offset = _records_offset(text_head, delimiter, skip)

    if encoding in (ENCODING_UTF8, ENCODING_UTF8_SIG):
        start = len(codecs.BOM_UTF8) if encoding == ENCODING_UTF8_SIG else 0
        start += len(text[:offset].encode("utf-8"))
        payload: bytes | memoryview = memoryview(data)[start:]
    else:
        payload = text[offset:].encode("utf-8")
    del text
    ends_with_newline = bytes(payload[-1:]) in (b"\n", b"\r")
    if not ends_with_newline:  # pyarrow cannot take a lone header row without a line end
        payload = bytes(payload) + b"\n"

    width = max(1, len(head_rows[skip])) if head_rows else 1
    ragged: list[Ragged] = []

    def on_invalid_row(row: Any) -> str:
        if row.number is None:  # only with threaded parsing, which is not used here
            raise RuntimeError("pyarrow did not number an invalid CSV row")
        ragged.append(
            Ragged(
                source_row=row.number,
                expected=row.expected_columns,
                actual=row.actual_columns,
                blank=_all_fields_empty(row.text, delimiter),
                open_quote=row.text.count('"') % 2 == 1,
                multiline="\n" in row.text or "\r" in row.text,
                total=_starts_with_total(row.text, delimiter),
            )
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(payload)),
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True, use_threads=False, block_size=_BLOCK_SIZE
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
                check_utf8=False,  # already strictly decoded
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FileRejected(CORRUPT, "CSV 文件无法解析：请用表格软件打开检查后重新导出") from exc
    if table.num_columns != width or table.num_rows == 0:
        raise FileRejected(CORRUPT, "CSV 文件的表头无法解析：请用表格软件打开检查后重新导出")

    total_records = table.num_rows + len(ragged)
    check_row_count(total_records - 1, limits)
    swallowing = _swallowing(ragged)
    if swallowing is not None:
        # Loading the rows before it would replace the partition with a fraction of the delivery:
        # the file is refused whole and the partition keeps its previous version.
        raise FileRejected(
            UNBALANCED_QUOTE,
            f"第 {swallowing.source_row} 行有未闭合的引号，其后的换行和各行被并入这一行"
            f"（表头有 {swallowing.expected} 列，该行读出 {swallowing.actual} 个字段），"
            '文件无法按行拆分：整个文件不予入库，原有数据保留。请检查该行的引号（"）后重新导出报送',
        )
    if not ends_with_newline and ragged:
        last = ragged[-1]
        if last.source_row == total_records and last.actual < last.expected and not last.blank:
            raise FileRejected(
                TRUNCATED,
                f"文件不完整：最后一行（第 {last.source_row} 行）只有 {last.actual} 个字段而表头有 "
                f"{last.expected} 列，且文件不以换行结束，可能上传或复制时被截断，请重新提交完整文件",
            )
    is_ragged = np.zeros(total_records + 1, dtype=bool)
    is_ragged[[r.source_row for r in ragged]] = True
    source_rows = np.flatnonzero(~is_ragged[2:]).astype(np.int64) + 2
    if len(source_rows) != table.num_rows - 1:
        raise RuntimeError("CSV record numbering does not add up")
    for r in ragged:  # numbered from the header record: as rows of the file
        r.source_row += skip
    return Parsed(
        header=[clean_header(v) for v in table.slice(0, 1).to_pylist()[0].values()],
        data=table.slice(1),
        source_rows=source_rows + skip,
        ragged=ragged,
        encoding=encoding,
        file_format="csv",
        head_rows=head_rows,
        header_row=skip + 1,
    )
