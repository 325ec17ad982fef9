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


# The common shape of a sheet (every writer we see): `<row r="N" ...><c r="B7" ...>`, each row opening
# with a cell and every cell carrying its own reference. A chunk of that shape is measured by a few
# regex passes in C instead of a Python step per cell; anything else takes the tag-by-tag walk.
# a row or cell tag of another shape: with a namespace prefix, or not opening with its reference
_OTHER_TAG = re.compile(rb'<(?:[A-Za-z_][\w.-]*:(?:row|c)\b|(?:row|c)\b(?! r="))')
_PLAIN_ROW = re.compile(rb'<row r="(\d+)"[^>]*>')
_PLAIN_ROW_WITH_CELL = re.compile(rb'<row r="\d+"[^>]*>(?=<c r=")')
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3})\d{1,7}"[^>]*>')
_LETTERS = re.compile(rb"[A-Z]{1,3}")


@dataclass
class _ScanState:
    max_row: int = 0
    max_column: int = 0
    row: int = 0
    column: int = 0


def _scan_tags(state: _ScanState, data: bytes, start: int, cut: int, limits: ReadLimits) -> None:
    """Every ``<row>``, ``<c>`` and ``<dimension>`` tag of ``data[start:cut]`` in order, one at a time."""
    for match in _TAG.finditer(data, start, cut):
        tag, attributes = match.group(1), match.group(2)
        found = _R_ATTR.search(attributes)
        if tag == b"c":
            corner = _ref_corner(found.group(1).decode("ascii", "replace")) if found else None
            state.column = corner[1] if corner else state.column + 1
            state.max_column = max(state.max_column, state.column)
            state.max_row = max(state.max_row, state.row)
        elif tag == b"row":
            number = found.group(1) if found else b""
            state.row = int(number) if number.isdigit() else state.row + 1
            state.column = 0
            _check_grid(state.row, max(state.max_column, 1), limits, "")
        else:
            ref = _REF_ATTR.search(attributes)
            corner = _ref_corner(ref.group(1).decode("ascii", "replace")) if ref else None
            if corner:
                _check_grid(*corner, limits, "声明的范围")


def _column_of(letters: bytes) -> int:
    return _column_number(letters.decode("ascii"))


def _scan_plain(state: _ScanState, data: bytes, start: int, cut: int, limits: ReadLimits) -> bool:
    """The same as :func:`_scan_tags` for a chunk of the common shape, which it recognises (else it
    changes nothing and returns False). Where the walk would refuse the sheet it also returns False,
    so the walk raises its own reason."""
    if data.find(b"dimension", start, cut) >= 0:
        return False
    if _OTHER_TAG.search(data, start, cut):
        return False
    rows = _PLAIN_ROW.findall(data, start, cut)
    if len(rows) != data.count(b'<row r="', start, cut):
        return False
    plain_cells = _PLAIN_CELL.findall(data, start, cut)
    cells = len(plain_cells)
    if cells != data.count(b'<c r="', start, cut):
        return False
    last_row, last_cell = data.rfind(b"<row ", start, cut), data.rfind(b'<c r="', start, cut)
    # a row without a cell does not count toward the extent: only the chunk's last row may lack
    # one (its cells are in the next chunk)
    open_last = 1 if rows and last_row > last_cell else 0
    if len(_PLAIN_ROW_WITH_CELL.findall(data, start, cut)) != len(rows) - open_last:
        return False
    numbers = [int(number) for number in rows]
    max_column = max(state.max_column, max((_column_of(x) for x in set(plain_cells)), default=0))
    max_row = state.max_row
    if cells:
        first_row = data.find(b"<row ", start, cut)
        if first_row < 0 or data.find(b'<c r="', start, cut) < first_row:
            max_row = max(max_row, state.row)  # cells of the row the last chunk opened
    if len(numbers) > open_last:
        max_row = max(max_row, max(numbers[: len(numbers) - open_last]))
    top = max([state.row, *numbers])
    if (
        top - 1 > limits.max_rows
        or max_column > MAX_COLUMNS
        or top * max(max_column, 1) > MAX_CELLS
    ):
        return False  # past a limit: the walk says where
    if last_cell > last_row:
        state.column = _column_of(_LETTERS.match(data, last_cell + 6).group(0))
    elif numbers:
        state.column = 0
    if numbers:
        state.row = numbers[-1]
    state.max_row, state.max_column = max_row, max_column
    return True


def _scan_sheet(book: zipfile.ZipFile, name: str, limits: ReadLimits) -> SheetExtent:
    """Stream the sheet XML once: its declared dimension and the extent of its cells."""
    state = _ScanState()
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
            start = 0
            declared = data.find(b"dimension", 0, cut)
            if declared >= 0:  # the declared range, near the top: walked tag by tag
                start = data.find(b">", declared, cut) + 1 or cut
                _scan_tags(state, data, 0, start, limits)
            if not _scan_plain(state, data, start, cut, limits):
                _scan_tags(state, data, start, cut, limits)
            _check_grid(state.max_row, state.max_column, limits, "")
    return SheetExtent(rows=state.max_row, columns=state.max_column)


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
