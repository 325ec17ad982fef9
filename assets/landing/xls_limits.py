"""How large an .xls (BIFF8 in a compound file) sheet is, found before the spreadsheet reader builds it.

The reader allocates the first sheet's whole grid from A1 to its farthest cell: a 6 KB workbook with
one cell at IV65536 costs about 1.1 GB. So, as for an .xlsx (:mod:`assets.landing.limits`), the
first sheet's extent is read from the file first — the compound file's ``Workbook`` stream, the
first sheet's ``BOUNDSHEET`` offset, then every cell record's row and column (and the ``DIMENSIONS``
record) in that sheet's substream — and checked against the same grid limits. A file whose structure
cannot be followed is left to the reader, which refuses it as corrupt.
"""

from __future__ import annotations

import struct
from pathlib import Path

from assets.landing.limits import ReadLimits, check_grid

_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_BOUNDSHEET, _BOF, _EOF, _DIMENSIONS = 0x0085, 0x0809, 0x000A, 0x0200
# records that start with (row, column) of one cell
_CELL_RECORDS = frozenset({0x0203, 0x0204, 0x00FD, 0x027E, 0x0201, 0x0205, 0x0006, 0x00D6})
_MULTI_CELL_RECORDS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first col … last col


class _Unreadable(Exception):
    pass


def _stream(data: bytes, name: str) -> bytes:
    """A stream of the compound file by its directory name (regular or mini stream)."""
    if len(data) < 512:
        raise _Unreadable
    sector = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    mini = 1 << struct.unpack_from("<H", data, 0x20)[0]
    first_dir, cutoff, first_minifat = struct.unpack_from("<I4xII", data, 0x30)
    first_difat, difat_count = struct.unpack_from("<II", data, 0x44)
    if sector not in (512, 4096) or mini != 64:
        raise _Unreadable

    def read_sector(sid: int) -> bytes:
        start = (sid + 1) * sector
        if start + sector > len(data) + sector:  # the last sector may be short
            raise _Unreadable
        return data[start : start + sector]

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s != _FREE]
    sid, seen = first_difat, 0
    while sid not in (_END_OF_CHAIN, _FREE) and seen <= difat_count:
        words = struct.unpack(f"<{sector // 4}I", read_sector(sid))
        fat_sectors += [s for s in words[:-1] if s != _FREE]
        sid, seen = words[-1], seen + 1
    fat: list[int] = []
    for s in fat_sectors:
        fat += struct.unpack(f"<{sector // 4}I", read_sector(s))

    def chain(start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while start not in (_END_OF_CHAIN, _FREE):
            if start >= len(table) or len(out) > len(table):
                raise _Unreadable
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(read_sector(s) for s in chain(first_dir, fat))
    entries = []
    for offset in range(0, len(directory) - 127, 128):
        length = struct.unpack_from("<H", directory, offset + 64)[0]
        entry_name = directory[offset : offset + max(0, length - 2)].decode("utf-16-le", "replace")
        kind = directory[offset + 66]
        start, size = struct.unpack_from("<II", directory, offset + 116)
        entries.append((entry_name, kind, start, size))
    if not entries:
        raise _Unreadable
    root = entries[0]
    found = next((e for e in entries if e[0] == name and e[1] == 2), None)
    if found is None:
        raise _Unreadable
    _, _, start, size = found
    if size >= cutoff:
        return b"".join(read_sector(s) for s in chain(start, fat))[:size]
    minifat: list[int] = []
    for s in chain(first_minifat, fat):
        minifat += struct.unpack(f"<{sector // 4}I", read_sector(s))
    ministream = b"".join(read_sector(s) for s in chain(root[2], fat))
    return b"".join(ministream[m * mini : (m + 1) * mini] for m in chain(start, minifat))[:size]


def _first_sheet_extent(book: bytes) -> tuple[int, int]:
    """(rows, columns) from A1 to the first sheet's farthest cell or declared dimension."""
    position, first_sheet = 0, None
    while position + 4 <= len(book):
        kind, length = struct.unpack_from("<HH", book, position)
        if kind == _BOUNDSHEET and first_sheet is None:
            first_sheet = struct.unpack_from("<I", book, position + 4)[0]
        if kind == _EOF:
            break
        position += 4 + length
    if first_sheet is None or first_sheet + 4 > len(book):
        raise _Unreadable
    rows = columns = 0
    position = first_sheet
    while position + 4 <= len(book):
        kind, length = struct.unpack_from("<HH", book, position)
        body = book[position + 4 : position + 4 + length]
        if kind == _EOF:
            break
        if kind in _CELL_RECORDS and len(body) >= 4:
            row, column = struct.unpack_from("<HH", body)
            rows, columns = max(rows, row + 1), max(columns, column + 1)
        elif kind in _MULTI_CELL_RECORDS and len(body) >= 6:
            row = struct.unpack_from("<H", body)[0]
            last = struct.unpack_from("<H", body, len(body) - 2)[0]
            rows, columns = max(rows, row + 1), max(columns, last + 1)
        elif kind == _DIMENSIONS and len(body) >= 12:
            _, last_row, _, last_column = struct.unpack_from("<IIHH", body)
            rows, columns = max(rows, last_row), max(columns, last_column)
        position += 4 + length
    return rows, columns


def check_xls(path: Path, limits: ReadLimits) -> None:
    """Refuse an .xls whose first sheet is past the grid limits, before it is read."""
    data = Path(path).read_bytes()
    try:
        try:
            book = _stream(data, "Workbook")
        except _Unreadable:
            book = _stream(data, "Book")  # BIFF5
        rows, columns = _first_sheet_extent(book)
    except (_Unreadable, struct.error, IndexError, UnicodeDecodeError):
        return  # the reader refuses what cannot be followed
    check_grid(rows, columns, limits, "（.xls）")
