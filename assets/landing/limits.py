"""How big a landing file may be, checked before it is read.

A workbook is a zip of XML parts; what it costs to read is what it expands to and how large a sheet it
declares, not its size on disk. A 9 KB workbook whose one cell sits at XFD1048576 asks the spreadsheet
reader for a 16 384 × 1 048 576 grid (half a terabyte), and a 24 MB one can expand to gigabytes. So
before a workbook is opened:

- the parts' declared uncompressed sizes must add up to at most ``max_bytes``, and every part is
  decompressed once as a stream (Python's zip reader stops at the declared size and verifies the CRC, so
  a part whose real content is larger than it declares is caught too);
- the first sheet's declared dimension (``<dimension ref=…>``) and the extent of its cells (every
  ``<row>`` and ``<c>`` position, explicit or implied) must fit ``max_rows`` data rows below the header,
  :data:`MAX_COLUMNS` columns and :data:`MAX_CELLS` cells counted from A1.

A CSV file may be at most ``max_bytes`` on disk and ``max_rows`` records. A file past a limit is rejected
whole with its reason (``FileRejected`` with code ``too_large``); the run goes on with the other files.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from assets.landing.rejections import CORRUPT, TOO_LARGE, FileRejected

DEFAULT_MAX_ROWS = 1_048_575  # Excel's sheet height minus the header row
DEFAULT_MAX_FILE_MB = 512
MAX_COLUMNS = 1024
MAX_CELLS = 50_000_000  # about 1.6 GB in the spreadsheet reader's grid
MAX_PARTS = 10_000
_CHUNK = 1 << 20
_SMALL_PART = 4 << 20  # workbook.xml and its relationships: read whole, up to this size

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)\b([^>]*)>")
_R_ATTR = re.compile(rb"""\br\s*=\s*["']([^"']*)["']""")
_REF_ATTR = re.compile(rb"""\bref\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _too_large(reason: str) -> FileRejected:
    return FileRejected(TOO_LARGE, reason)


@dataclass(frozen=True)
class ReadLimits:
    """``max_rows``: data rows below the header; ``max_bytes``: a CSV's size, or an XLSX's
    uncompressed content."""

    max_rows: int = DEFAULT_MAX_ROWS
    max_bytes: int = DEFAULT_MAX_FILE_MB << 20

    @classmethod
    def of(cls, max_rows: int | None = None, max_file_mb: int | None = None) -> ReadLimits:
        return cls(
            max_rows=max_rows or DEFAULT_MAX_ROWS,
            max_bytes=(max_file_mb or DEFAULT_MAX_FILE_MB) << 20,
        )


@dataclass(frozen=True)
class SheetExtent:
    """The first sheet's grid counted from A1: the last row and column holding a cell."""

    rows: int
    columns: int


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MB" if size >= 1 << 20 else f"{size:,} 字节"


def check_csv_size(path: Path, limits: ReadLimits) -> None:
    size = Path(path).stat().st_size
    if size > limits.max_bytes:
        raise _too_large(
            f"文件大小 {_mb(size)} 超过上限 {_mb(limits.max_bytes)}：请按县（区）或期次拆分后分别报送"
        )


def check_row_count(rows: int, limits: ReadLimits) -> None:
    """``rows`` data rows (below the header) within the limit."""
    if rows > limits.max_rows:
        raise _too_large(f"数据行数 {rows:,} 超过上限 {limits.max_rows:,} 行：请拆分后分别报送")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _ref_corner(ref: str) -> tuple[int, int] | None:
    """The bottom-right (row, column) of an A1 reference or range, or None if it does not parse."""
    corners = [_CELL_REF.fullmatch(part.strip()) for part in ref.split(":")]
    if not corners or any(c is None for c in corners):
        return None
    return (
        max(int(c.group(2)) for c in corners if c),
        max(_column_number(c.group(1)) for c in corners if c),
    )


def check_grid(rows: int, columns: int, limits: ReadLimits, what: str) -> None:
    """A first sheet of ``rows`` × ``columns`` counted from A1 within the limits."""
    _check_grid(rows, columns, limits, what)


def _check_grid(rows: int, columns: int, limits: ReadLimits, what: str) -> None:
    if columns > MAX_COLUMNS:
        raise _too_large(
            f"第一个工作表{what}有 {columns:,} 列，超过上限 {MAX_COLUMNS:,} 列"
            "（常见原因：表格远处的单元格有内容或格式）：请删除多余的列后另存为 .xlsx 重新报送"
        )
    if rows - 1 > limits.max_rows:
        raise _too_large(
            f"第一个工作表{what}有 {rows:,} 行，超过上限 {limits.max_rows + 1:,} 行（含表头）"
            "：请删除多余的行或拆分后重新报送"
        )
    if rows * columns > MAX_CELLS:
        raise _too_large(
            f"第一个工作表{what}共 {rows:,} 行 × {columns:,} 列，超过 {MAX_CELLS:,} 个单元格的上限"
            "：请删除多余的行列或拆分后重新报送"
        )


def _read_small(book: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = book.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _SMALL_PART:
        raise _too_large(f"工作簿的 {name} 部分有 {_mb(info.file_size)}，不是正常的工作簿")
    return book.read(name)


def first_sheet_part(book: zipfile.ZipFile) -> str | None:
    """The zip name of the workbook's first sheet (the one the reader takes)."""
    names = set(book.namelist())
    try:
        workbook = _read_small(book, "xl/workbook.xml")
        relations = _read_small(book, "xl/_rels/workbook.xml.rels")
        if workbook and relations:
            sheets = ElementTree.fromstring(workbook).find(f"{_NS_MAIN}sheets")
            first = sheets[0] if sheets is not None and len(sheets) else None
            rel_id = first.get(f"{_NS_REL}id") if first is not None else None
            for relation in ElementTree.fromstring(relations):
                if relation.tag == f"{_NS_PKG_REL}Relationship" and relation.get("Id") == rel_id:
                    target = relation.get("Target") or ""
                    path = (
                        target.lstrip("/")
                        if target.startswith("/")
                        else str(PurePosixPath("xl") / target)
                    )
                    parts = []
                    for part in PurePosixPath(path).parts:  # resolve "../"
                        if part == "..":
                            parts = parts[:-1]
                        elif part != ".":
                            parts.append(part)
                    resolved = "/".join(parts)
                    if resolved in names:
                        return resolved
    except ElementTree.ParseError:
        pass  # the reader reports the broken workbook
    fallback = "xl/worksheets/sheet1.xml"
    return fallback if fallback in names else None


def _scan_sheet(book: zipfile.ZipFile, name: str, limits: ReadLimits) -> SheetExtent:
    """Stream the sheet XML once: its declared dimension and the extent of its cells."""
    max_row = max_column = 0
    row = column = 0
    pending = b""
    with book.open(name) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            data = pending + chunk
            cut = data.rfind(b">") + 1
            pending = data[cut:]
            if len(pending) > 64 * _CHUNK:
                raise _too_large("工作表中有超长的内容，不是正常的工作簿")
            for match in _TAG.finditer(data, 0, cut):
                tag, attributes = match.group(1), match.group(2)
                found = _R_ATTR.search(attributes)
                if tag == b"c":
                    corner = (
                        _ref_corner(found.group(1).decode("ascii", "replace")) if found else None
                    )
                    column = corner[1] if corner else column + 1
                    max_column = max(max_column, column)
                    max_row = max(max_row, row)
                elif tag == b"row":
                    number = found.group(1) if found else b""
                    row = int(number) if number.isdigit() else row + 1
                    column = 0
                    _check_grid(row, max(max_column, 1), limits, "")
                else:
                    ref = _REF_ATTR.search(attributes)
                    corner = _ref_corner(ref.group(1).decode("ascii", "replace")) if ref else None
                    if corner:
                        _check_grid(*corner, limits, "声明的范围")
            _check_grid(max_row, max_column, limits, "")
    return SheetExtent(rows=max_row, columns=max_column)


def check_xlsx(path: Path, limits: ReadLimits) -> SheetExtent | None:
    """Check a workbook against ``limits`` before any spreadsheet reader opens it; raises
    ``FileRejected`` (``too_large``). Returns the first sheet's extent, or None when the file is not a zip the
    reader could open anyway (it reports that itself)."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    with book:
        parts = book.infolist()
        if len(parts) > MAX_PARTS:
            raise _too_large(f"工作簿含有 {len(parts):,} 个部件，不是正常的工作簿")
        declared = sum(part.file_size for part in parts)
        if declared > limits.max_bytes:
            raise _too_large(
                f"工作簿解压后共 {_mb(declared)}，超过上限 {_mb(limits.max_bytes)}"
                "：请删除多余的工作表、图片和格式，或拆分后分别报送"
            )
        try:
            sheet = first_sheet_part(book)
            extent = _scan_sheet(book, sheet, limits) if sheet else None
            for part in parts:  # each once, to its declared size, CRC checked
                if part.filename == sheet or part.is_dir():
                    continue
                with book.open(part) as stream:
                    while stream.read(_CHUNK):
                        pass
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            raise FileRejected(
                CORRUPT,
                "Excel 工作簿已损坏（压缩内容与其声明不符），无法读取："
                "请用 Excel 打开检查后另存为 .xlsx 重新提交",
            ) from None
        return extent
