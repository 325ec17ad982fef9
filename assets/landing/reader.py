"""Landing files (落地文件): where a county's delivery lands, and reading it faithfully as text.

The landing contract: ``<data dir>/landing/<county_code>/<dataset_id>/<period>.csv|.xlsx``, the period
shaped by the dataset's update frequency (``Frequency.period_pattern``). A file carries a header row of the
catalog items' Chinese names (``item.name``) in any order; CSV arrives as UTF-8 (with or without BOM),
GB18030/GBK or UTF-16 with BOM (Excel's "Unicode text", tab-separated) and the encoding is detected.

Reading keeps every value as delivered text (empty cell → None, whitespace kept) and accounts for every
record: each data row is loaded or rejected with a reason, so ``rows_read == len(frame) + len(rejections)``.
A file that cannot be trusted as a whole raises :class:`FileRejected` with a reason a department official
can act on. Reasons never quote cell values (they may be personal data).

``source_row`` is the spreadsheet row number in the delivered file: the header is row 1. For CSV it counts
records, not physical lines, so a quoted value spanning lines is still one row, as in a spreadsheet.
Trailing all-empty rows (which spreadsheet tools leave behind) are not data rows and are not counted; an
all-empty row before the last data row is a ``blank_row`` rejection.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from assets.common.catalog import CatalogEntry, Frequency

LANDING_DIR = "landing"
SUFFIX_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}

# Whole-file rejection reasons (FileRejected.reason_code).
EMPTY_FILE = "empty_file"
ENCODING = "encoding"
TRUNCATED = "truncated"
CORRUPT = "corrupt"
HEADER = "header"
MISSING_COLUMN = "missing_column"
DUPLICATE_COLUMN = "duplicate_column"
# Row rejection reasons (RowRejection.reason_code).
FIELD_COUNT = "field_count"
BLANK_ROW = "blank_row"

ENCODING_UTF8 = "utf-8"
ENCODING_UTF8_SIG = "utf-8-sig"
ENCODING_GB18030 = "gb18030"
ENCODING_UTF16 = "utf-16"
ENCODING_XLSX = "xlsx"

_HEADER_SEARCH_ROWS = 10  # rows looked at to tell "title row above the header" from "wrong file"
_HEAD_CHARS = 1 << 16
_BLOCK_SIZE = 16 << 20
_EXCEL_EXACT_LIMIT = 1e15  # Excel keeps 15 significant digits; beyond that integers are damaged
_EXCEL_GENERAL_WIDTH = 11  # characters Excel's General format shows in a standard-width cell

_PERIOD_EXAMPLES = {
    Frequency.DAILY: "YYYY-MM-DD，如 2025-01-31",
    Frequency.MONTHLY: "YYYY-MM，如 2025-01",
    Frequency.QUARTERLY: "YYYY-Qn，如 2025-Q1",
    Frequency.YEARLY: "YYYY，如 2025",
}
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "内容是 ZIP 压缩包或 Excel 工作簿（.xlsx），与扩展名 .csv 不符"),
    (b"\xd0\xcf\x11\xe0", "内容是 Excel 97-2003 工作簿（.xls）或加密的工作簿，与扩展名 .csv 不符"),
    (b"%PDF", "内容是 PDF 文档"),
    (b"\x1f\x8b", "内容是 gzip 压缩包"),
    (b"Rar!", "内容是 RAR 压缩包"),
    (b"7z\xbc\xaf", "内容是 7z 压缩包"),
    (b"\x89PNG", "内容是 PNG 图片"),
    (b"\xff\xd8\xff", "内容是 JPEG 图片"),
)


# --------------------------------------------------------------------------------------------------
# Landing paths


class LandingPathError(ValueError):
    """A file in landing/ that breaks the path contract; ``reason`` says why, in Chinese."""

    def __init__(self, relative_path: str, reason: str) -> None:
        super().__init__(f"{relative_path}: {reason}")
        self.relative_path = relative_path
        self.reason = reason


@dataclass(frozen=True)
class LandingPath:
    """A landing file that satisfies the path contract. ``relative_path`` is relative to the data dir."""

    county_code: str
    dataset_id: str
    period: str
    path: Path
    relative_path: str

    @property
    def file_format(self) -> str:
        return SUFFIX_FORMATS[self.path.suffix.lower()]


def is_ignored_name(name: str) -> bool:
    """Hidden files, office lock files (``~$x.xlsx``) and files still being written (``*.tmp``)."""
    lowered = name.lower()
    return name.startswith((".", "~")) or lowered.endswith((".tmp", ".part", ".partial"))


def _period_problem(period: str, entry: CatalogEntry) -> str | None:
    frequency = entry.frequency
    expected = (
        f"期次“{period}”不符合数据集“{entry.title}”（更新频率{frequency.value}）的期次格式 "
        f"{_PERIOD_EXAMPLES[frequency]}"
    )
    if not re.fullmatch(frequency.period_pattern, period):
        return expected
    try:
        if frequency is Frequency.DAILY:
            dt.date.fromisoformat(period)
        elif frequency is Frequency.MONTHLY:
            dt.date(int(period[:4]), int(period[5:7]), 1)
    except ValueError:
        return f"期次“{period}”不是有效的日期或月份"
    return None


def parse_landing_path(
    data_dir: Path,
    path: Path,
    catalog: Mapping[str, CatalogEntry],
    county_codes: Collection[str],
) -> LandingPath:
    """The landing file at ``path``, or :class:`LandingPathError` saying which part of the contract it
    breaks (location, county, dataset, period for the dataset's frequency, file type)."""
    try:
        relative = Path(path).absolute().relative_to(Path(data_dir).absolute())
    except ValueError:
        raise LandingPathError(str(path), "文件不在数据目录下") from None
    relative_path = relative.as_posix()
    parts = relative.parts
    if not parts or parts[0] != LANDING_DIR:
        raise LandingPathError(relative_path, f"文件不在落地目录 {LANDING_DIR}/ 下")
    if any(is_ignored_name(part) for part in parts[1:]):
        raise LandingPathError(relative_path, "隐藏文件或临时文件，不作为落地文件读取")
    if len(parts) != 4:
        raise LandingPathError(
            relative_path,
            f"路径层级不符：应为 {LANDING_DIR}/<县（区）代码>/<数据集标识>/<期次>.csv 或 .xlsx",
        )
    _, county_code, dataset_id, filename = parts
    if county_code not in county_codes:
        known = "、".join(sorted(county_codes))
        raise LandingPathError(
            relative_path, f"未知的县（区）代码“{county_code}”，应为 {known} 之一"
        )
    entry = catalog.get(dataset_id)
    if entry is None:
        raise LandingPathError(relative_path, f"资源目录中没有数据集“{dataset_id}”")
    suffix = Path(filename).suffix
    if suffix.lower() not in SUFFIX_FORMATS:
        hint = "（Excel 97-2003 格式，请另存为 .xlsx）" if suffix.lower() == ".xls" else ""
        shown = suffix or "（无扩展名）"
        raise LandingPathError(
            relative_path, f"不支持的文件类型“{shown}”{hint}：只接收 .csv 或 .xlsx 文件"
        )
    period = filename[: -len(suffix)]
    problem = _period_problem(period, entry)
    if problem:
        raise LandingPathError(relative_path, problem)
    return LandingPath(
        county_code=county_code,
        dataset_id=dataset_id,
        period=period,
        path=Path(path),
        relative_path=relative_path,
    )


def scan_landing(
    data_dir: Path,
    catalog: Mapping[str, CatalogEntry],
    county_codes: Collection[str],
) -> tuple[list[LandingPath], list[tuple[str, str]]]:
    """Valid landing files (sorted by county, dataset, period) and ``(relative path, reason)`` for each
    file in landing/ that breaks the contract. Hidden and temporary files are skipped. Two files for the
    same county, dataset and period (a .csv and an .xlsx) are both reported and neither is returned."""
    landing_dir = Path(data_dir) / LANDING_DIR
    if not landing_dir.is_dir():
        return [], []
    found: list[LandingPath] = []
    problems: list[tuple[str, str]] = []
    for path in sorted(landing_dir.rglob("*")):
        inner = path.relative_to(landing_dir).parts
        if any(is_ignored_name(part) for part in inner) or not path.is_file():
            continue
        try:
            found.append(parse_landing_path(data_dir, path, catalog, county_codes))
        except LandingPathError as exc:
            problems.append((exc.relative_path, exc.reason))

    by_key: dict[tuple[str, str, str], list[LandingPath]] = {}
    for landing in found:
        by_key.setdefault((landing.county_code, landing.dataset_id, landing.period), []).append(
            landing
        )
    valid: list[LandingPath] = []
    for key in sorted(by_key):
        group = by_key[key]
        if len(group) == 1:
            valid.append(group[0])
            continue
        names = "、".join(sorted(Path(g.relative_path).name for g in group))
        for landing in group:
            problems.append(
                (
                    landing.relative_path,
                    f"同一期有多个文件（{names}），无法确定以哪个为准：请只保留一个",
                )
            )
    problems.sort()
    return valid, problems


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, hex, read in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class RowRejection:
    source_row: int
    reason_code: str
    reason: str


@dataclass
class LandingRead:
    """A landing file read against its catalog entry.

    ``frame`` has the catalog columns (``item.column``) in catalog order with values ``str`` or None, and
    ``source_row`` (int64). ``unknown_headers`` are delivered headers that name no catalog item;
    ``missing_optional`` are the Chinese names of optional items the file lacks (their column is None).
    """

    frame: pd.DataFrame
    encoding: str
    file_format: str
    rows_read: int
    rejections: list[RowRejection] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)


class FileRejected(Exception):
    """The whole file is refused; ``reason`` (Chinese) tells the department what to fix."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


@dataclass
class _Ragged:
    """A CSV record whose field count differs from the header's."""

    source_row: int
    expected: int
    actual: int
    blank: bool  # every field empty: a blank line, or separators only
    open_quote: bool  # an odd number of quotes: a quote left open swallowed the following lines


@dataclass
class _Parsed:
    """A delivered table before catalog mapping: the header cells, every data record of the header's
    width as string columns with its ``source_row``, and the records of another width."""

    header: list[str]
    data: pa.Table
    source_rows: np.ndarray
    ragged: list[_Ragged]
    encoding: str
    file_format: str
    head_rows: list[list[str]]  # the first rows' cells, to tell a title row from a wrong file


@dataclass
class _HeaderMap:
    positions: dict[str, int]  # catalog column → index of the file column
    unknown: list[str]  # delivered header names that name no catalog item
    unnamed: list[int]  # indices of file columns whose header cell is empty
    missing_optional: list[str]  # Chinese names of optional items the file lacks


def _clean_header(cell: str | None) -> str:
    return (cell or "").strip().strip("\ufeff").strip()


def _map_header(
    header: Sequence[str], entry: CatalogEntry, head_rows: Sequence[Sequence[str]], file_format: str
) -> _HeaderMap:
    by_name = {item.name: item for item in entry.items}
    found: dict[str, list[int]] = {}
    unknown: list[str] = []
    unnamed: list[int] = []
    for index, name in enumerate(header):
        if not name:
            unnamed.append(index)
        elif name in by_name:
            found.setdefault(by_name[name].column, []).append(index)
        elif name not in unknown:
            unknown.append(name)

    matched = sum(len(indices) for indices in found.values())
    if not found:
        raise FileRejected(HEADER, _header_reason(entry, head_rows, file_format, matched, 0))
    duplicated = [
        f"“{entry.item(column).name}”出现 {len(indices)} 次（第 {'、'.join(str(i + 1) for i in indices)} 列）"
        for column, indices in found.items()
        if len(indices) > 1
    ]
    if duplicated:
        raise FileRejected(
            DUPLICATE_COLUMN,
            f"表头有重复的列：{'；'.join(duplicated)}。无法确定以哪一列为准，请删除多余的列",
        )
    missing = [item.name for item in entry.items if item.required and item.column not in found]
    named = len(header) - len(unnamed)
    if missing and matched * 2 < named:
        # Mostly foreign names and required items absent: another dataset's file, not a typo.
        raise FileRejected(HEADER, _header_reason(entry, head_rows, file_format, matched, named))
    if missing:
        reason = f"缺少必填信息项的列：{'、'.join(missing)}。请按目录「{entry.title}」的信息项名称填写表头"
        if unknown:
            reason += f"（文件中有未识别的表头：{'、'.join(name[:20] for name in unknown[:10])}）"
        raise FileRejected(MISSING_COLUMN, reason)
    return _HeaderMap(
        positions={column: indices[0] for column, indices in found.items()},
        unknown=unknown,
        unnamed=unnamed,
        missing_optional=[
            item.name for item in entry.items if not item.required and item.column not in found
        ],
    )


def _header_reason(
    entry: CatalogEntry,
    head_rows: Sequence[Sequence[str]],
    file_format: str,
    matched: int,
    named: int,
) -> str:
    names = {item.name for item in entry.items}
    if matched:
        reason = (
            f"第 1 行不是目录「{entry.title}」的表头：{named} 列中只有 {matched} 列的名称"
            "与信息项名称相符，且缺少必填信息项。"
        )
    else:
        reason = f"第 1 行不是目录「{entry.title}」的表头：没有一列的名称与信息项名称相符。"
    title_rows = next(
        (n for n, row in enumerate(head_rows[1:], start=2) if any(c in names for c in row)), None
    )
    if title_rows is not None:
        reason += f"第 {title_rows} 行像是表头：表头必须位于第 1 行，请删除其上方的标题行或空行。"
    elif file_format == "csv":
        reason += "可能提交了其他数据集的文件，或文件编码有误（应为 UTF-8 或 GB18030）。"
    else:
        reason += "可能提交了其他数据集的文件，或数据不在第一个工作表。"
    return reason + f"应有的表头：{'、'.join(item.name for item in entry.items)}"


def _empty_file(detail: str = "没有表头，也没有数据") -> FileRejected:
    return FileRejected(EMPTY_FILE, f"文件为空：{detail}")


def _truncated_text() -> FileRejected:
    return FileRejected(
        TRUNCATED,
        "文件不完整：结尾断在一个字符的中间，可能上传或复制时被截断，请重新提交完整文件",
    )


# ---- CSV --------------------------------------------------------------------------------------------


def _looks_binary(head: bytes) -> str | None:
    for signature, description in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return description
    if b"\x00" in head:
        return "含有二进制内容（空字节），不是文本表格"
    controls = sum(1 for b in head if b < 0x09 or 0x0E <= b < 0x20 or b == 0x7F)
    if head and controls / len(head) > 0.05:
        return "含有大量控制字符，不是文本表格"
    return None


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
    return sum(1 for cell in records[0] if _clean_header(cell) in names) if records else 0


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
                raise _truncated_text() from None
            raise FileRejected(
                ENCODING, "文件以 UTF-16 标记开头，但内容不是有效的 UTF-16 文本"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return ENCODING_UTF8_SIG, body.decode("utf-8")
        except UnicodeDecodeError as exc:
            if _cut_at_end(exc, len(body)):
                raise _truncated_text() from None
            raise FileRejected(
                ENCODING,
                f"文件以 UTF-8 标记开头，但约第 {_line_of(body, exc.start)} 行起含有不是 UTF-8 的字节："
                "请以 UTF-8 或 GB18030 编码重新导出",
            ) from None

    binary = _looks_binary(data[:8192])
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
        raise _truncated_text()
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
        raise _truncated_text()
    furthest = max(offset for _, _, offset in invalid)
    raise FileRejected(
        ENCODING,
        "文件编码无法识别：既不是 UTF-8 也不是 GB18030（GBK）编码"
        f"（约第 {_line_of(data, furthest)} 行起无法解码）。"
        "请以 UTF-8 或 GB18030 编码另存为 CSV 后重新提交",
    )


def _strip_bom_and_space(data: bytes) -> bytes:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return data.strip(b" \t\r\n\x0b\x0c")


def _all_fields_empty(text: str, delimiter: str) -> bool:
    return all(cell == "" for row in _first_records(text, delimiter, 2) for cell in row)


def _parse_csv(path: Path, entry: CatalogEntry | None) -> _Parsed:
    data = Path(path).read_bytes()
    if not _strip_bom_and_space(data):
        raise _empty_file()
    encoding, text = _decode_csv(data, entry)
    if not text.strip().strip("\ufeff").strip():
        raise _empty_file()
    text_head = text[:_HEAD_CHARS]
    delimiter = _sniff_delimiter(text_head)
    head_rows = [
        [_clean_header(c) for c in row]
        for row in _first_records(text_head, delimiter, _HEADER_SEARCH_ROWS)
    ]
    if entry is not None:  # refuse a wrong file before parsing all of it
        _map_header(head_rows[0] if head_rows else [], entry, head_rows, "csv")

    if encoding in (ENCODING_UTF8, ENCODING_UTF8_SIG):
        start = len(codecs.BOM_UTF8) if encoding == ENCODING_UTF8_SIG else 0
        payload: bytes | memoryview = memoryview(data)[start:]
    else:
        payload = text.encode("utf-8")
    del text
    ends_with_newline = bytes(payload[-1:]) in (b"\n", b"\r")
    if not ends_with_newline:  # pyarrow cannot take a lone header row without a line end
        payload = bytes(payload) + b"\n"

    width = max(1, len(head_rows[0])) if head_rows else 1
    ragged: list[_Ragged] = []

    def on_invalid_row(row: Any) -> str:
        if row.number is None:  # only with threaded parsing, which is not used here
            raise RuntimeError("pyarrow did not number an invalid CSV row")
        ragged.append(
            _Ragged(
                source_row=row.number,
                expected=row.expected_columns,
                actual=row.actual_columns,
                blank=_all_fields_empty(row.text, delimiter),
                open_quote=row.text.count('"') % 2 == 1,
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
    return _Parsed(
        header=[_clean_header(v) for v in table.slice(0, 1).to_pylist()[0].values()],
        data=table.slice(1),
        source_rows=source_rows,
        ragged=ragged,
        encoding=encoding,
        file_format="csv",
        head_rows=head_rows,
    )


# ---- XLSX -------------------------------------------------------------------------------------------


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


def _parse_xlsx(path: Path, entry: CatalogEntry | None) -> _Parsed:
    size = Path(path).stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8192)
        handle.seek(max(0, size - 65_557))  # the zip end record sits in the last 64 KiB + 22 bytes
        tail = handle.read()
    if not _strip_bom_and_space(head) and size <= len(head):
        raise _empty_file()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            CORRUPT,
            "不是 .xlsx 工作簿：是 Excel 97-2003（.xls）格式或设置了打开密码的工作簿，"
            "请取消密码并另存为 .xlsx 后重新提交",
        )
    if not head.startswith(b"PK\x03\x04"):
        hint = (
            "内容像是文本（CSV），请另存为 .xlsx 或改用 .csv 扩展名"
            if _looks_binary(head) is None
            else "请用 Excel 打开检查后另存为 .xlsx"
        )
        raise FileRejected(CORRUPT, f"不是有效的 Excel 工作簿（.xlsx）：{hint}")
    if b"PK\x05\x06" not in tail:
        raise FileRejected(
            TRUNCATED,
            "Excel 工作簿不完整（压缩包的结尾缺失），可能上传或复制时被截断，请重新提交完整文件",
        )
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            if not workbook.sheet_names:
                raise _empty_file("工作簿中没有工作表")
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except PasswordError:
        raise FileRejected(
            CORRUPT, "工作簿设置了打开密码，无法读取：请取消密码后重新提交"
        ) from None
    except (CalamineError, ValueError, RuntimeError) as exc:
        raise FileRejected(
            CORRUPT, "Excel 工作簿已损坏，无法读取：请用 Excel 打开检查后另存为 .xlsx 重新提交"
        ) from exc

    last = len(rows) - 1
    while last >= 0 and all(v == "" or v is None for v in rows[last]):
        last -= 1  # trailing all-empty rows are not data rows
    if last < 0:
        raise _empty_file("第一个工作表没有内容")
    head_rows = [[_clean_header(_cell_text(v)) for v in row] for row in rows[:_HEADER_SEARCH_ROWS]]
    header = head_rows[0]
    if entry is not None:
        _map_header(header, entry, head_rows, "xlsx")
    width = len(rows[0])
    data_rows = rows[1 : last + 1]
    columns = list(zip(*data_rows, strict=True)) if data_rows else [()] * width
    data = pa.table(
        [pa.array(_cells_text(column), type=pa.string()) for column in columns],
        names=[f"f{i}" for i in range(width)],
    )
    return _Parsed(
        header=header,
        data=data,
        source_rows=np.arange(2, len(data_rows) + 2, dtype=np.int64),
        ragged=[],
        encoding=ENCODING_XLSX,
        file_format="xlsx",
        head_rows=head_rows,
    )


# ---- assembling -------------------------------------------------------------------------------------


def _parse(path: Path, entry: CatalogEntry | None) -> _Parsed:
    file_format = SUFFIX_FORMATS.get(Path(path).suffix.lower())
    if file_format is None:
        raise ValueError(f"{Path(path).name}: only .csv and .xlsx files are read")
    return _parse_csv(path, entry) if file_format == "csv" else _parse_xlsx(path, entry)


def _blank_mask(data: pa.Table) -> np.ndarray:
    """True where every field of the row is empty."""
    if data.num_rows == 0:
        return np.zeros(0, dtype=bool)
    mask = pc.is_null(data.column(0))
    for column in data.columns[1:]:
        mask = pc.and_(mask, pc.is_null(column))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _object_column(data: pa.Table, index: int | None, length: int) -> pd.Series:
    if index is None:
        return pd.Series(np.full(length, None, dtype=object), dtype=object)
    return pd.Series(data.column(index).to_numpy(zero_copy_only=False), dtype=object)


def _assemble(parsed: _Parsed, entry: CatalogEntry) -> LandingRead:
    header = _map_header(parsed.header, entry, parsed.head_rows, parsed.file_format)
    blank = _blank_mask(parsed.data)
    rows = parsed.source_rows
    last_data = max(
        int(rows[~blank].max()) if (~blank).any() else 1,
        max((r.source_row for r in parsed.ragged if not r.blank), default=1),
    )
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
        reason = f"字段数与表头不符：表头有 {r.expected} 列，该行有 {r.actual} 个字段"
        if r.open_quote:
            reason += "（该行有未闭合的引号，其后的换行被当作字段内容）"
        rejections.append(RowRejection(r.source_row, FIELD_COUNT, reason))
    rejections.sort(key=lambda r: r.source_row)

    kept = parsed.data.filter(pa.array(~blank)) if blank.any() else parsed.data
    frame = pd.DataFrame(
        {
            item.column: _object_column(kept, header.positions.get(item.column), kept.num_rows)
            for item in entry.items
        }
    )
    frame["source_row"] = rows[~blank].astype(np.int64)
    unknown = header.unknown + [
        f"第{index + 1}列（无表头）"
        for index in header.unnamed
        if kept.column(index).null_count < kept.num_rows
    ]
    read = LandingRead(
        frame=frame,
        encoding=parsed.encoding,
        file_format=parsed.file_format,
        rows_read=last_data - 1,
        rejections=rejections,
        unknown_headers=unknown,
        missing_optional=header.missing_optional,
    )
    if read.rows_read != len(frame) + len(rejections):
        raise RuntimeError("landing read does not account for every row")
    return read


def read_landing_file(path: Path, entry: CatalogEntry) -> LandingRead:
    """Read a landing file (.csv or .xlsx) against its catalog entry; see the module docstring.

    Raises :class:`FileRejected` when the file as a whole cannot be taken.
    """
    return _assemble(_parse(path, entry), entry)


def read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """Any CSV or XLSX (first sheet) as a frame of text columns named by its header row, and the
    detected encoding. Empty cells are None; all-empty rows are skipped; a record of the wrong width,
    a duplicated header or an undecodable file raises :class:`FileRejected`."""
    parsed = _parse(path, None)
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
