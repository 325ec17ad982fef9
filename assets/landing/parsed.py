"""A delivered table before catalog mapping, shared by the CSV and the XLSX reader: the parsed
records, the header mapped onto the catalog entry's items, and the sniffing of a file's first bytes."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from assets.common.catalog import CatalogEntry
from assets.landing.rejections import DUPLICATE_COLUMN, HEADER, MISSING_COLUMN, FileRejected

ENCODING_UTF8 = "utf-8"
ENCODING_UTF8_SIG = "utf-8-sig"
ENCODING_GB18030 = "gb18030"
ENCODING_UTF16 = "utf-16"
ENCODING_XLSX = "xlsx"

HEADER_SEARCH_ROWS = 10  # rows looked at for the header below title rows, or to tell a wrong file

# A 合计 / 总计 / 小计 row: its first non-empty cell is such a label (spaces and a colon allowed).
_TOTAL_LABEL = re.compile(r"(全县|全区|全市|本页|本表|全部)?(合计|总计|小计)")
_LABEL_NOISE = re.compile(r"[\s\u3000:：]+")

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0"  # a compound file: an .xls workbook, or an encrypted .xlsx

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


@dataclass
class Ragged:
    """A CSV record whose field count differs from the header's."""

    source_row: int
    expected: int
    actual: int
    blank: bool  # every field empty: a blank line, or separators only
    open_quote: bool  # an odd number of quotes: a quote left open swallowed the following lines
    multiline: bool = False  # the record spans lines: a quote swallowed line breaks and rows
    total: bool = False  # a 合计 / 总计 / 小计 row: skipped, not a defect


@dataclass
class Parsed:
    """A delivered table before catalog mapping: the header cells, every data record of the header's
    width as string columns with its ``source_row``, and the records of another width."""

    header: list[str]
    data: pa.Table
    source_rows: np.ndarray
    ragged: list[Ragged]
    encoding: str
    file_format: str
    head_rows: list[list[str]]  # the first rows' cells, to tell a title row from a wrong file
    header_row: int = 1  # the header's row in the file: rows above it are title rows, skipped
    head_start: int = 1  # the row of head_rows[0] (a sheet's empty top rows are not read)


@dataclass
class HeaderMap:
    positions: dict[str, int]  # catalog column → index of the file column
    unknown: list[str]  # delivered header names that name no catalog item
    unnamed: list[int]  # indices of file columns whose header cell is empty
    missing_optional: list[str]  # Chinese names of optional items the file lacks


def clean_header(cell: str | None) -> str:
    return (cell or "").strip().strip("\ufeff").strip()


def is_total_label(cell: str | None) -> bool:
    """A 合计 / 总计 / 小计 label (“合 计”, “总计：”, “全县合计” too)."""
    return bool(cell) and _TOTAL_LABEL.fullmatch(_LABEL_NOISE.sub("", cell or "")) is not None


def header_index(head_rows: Sequence[Sequence[str]], entry: CatalogEntry | None) -> int:
    """Which of the first rows is the header (0-based): the first row if it names a catalog item,
    else the row among the first :data:`HEADER_SEARCH_ROWS` naming the most items (the first of
    equals) — title rows such as “2026年10月海原县户籍人口信息” sit above it. With no row naming an
    item, the first row, which the header check then refuses."""
    if entry is None or not head_rows:
        return 0
    names = {item.name for item in entry.items}
    matches = [sum(1 for cell in row if cell in names) for row in head_rows[:HEADER_SEARCH_ROWS]]
    if matches[0] or not any(matches):
        return 0
    return matches.index(max(matches))


def map_header(
    header: Sequence[str],
    entry: CatalogEntry,
    head_rows: Sequence[Sequence[str]],
    file_format: str,
    *,
    header_row: int = 1,
) -> HeaderMap:
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
        raise FileRejected(
            HEADER, header_reason(entry, head_rows, file_format, matched, 0, header_row)
        )
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
        raise FileRejected(
            HEADER, header_reason(entry, head_rows, file_format, matched, named, header_row)
        )
    if missing:
        reason = f"缺少必填信息项的列：{'、'.join(missing)}。请按目录「{entry.title}」的信息项名称填写表头"
        if unknown:
            reason += f"（文件中有未识别的表头：{'、'.join(name[:20] for name in unknown[:10])}）"
        raise FileRejected(MISSING_COLUMN, reason)
    return HeaderMap(
        positions={column: indices[0] for column, indices in found.items()},
        unknown=unknown,
        unnamed=unnamed,
        missing_optional=[
            item.name for item in entry.items if not item.required and item.column not in found
        ],
    )


def header_reason(
    entry: CatalogEntry,
    head_rows: Sequence[Sequence[str]],
    file_format: str,
    matched: int,
    named: int,
    header_row: int = 1,
) -> str:
    if matched:
        reason = (
            f"第 {header_row} 行不是目录「{entry.title}」的表头：{named} 列中只有 {matched} 列的名称"
            "与信息项名称相符，且缺少必填信息项。"
        )
    else:
        reason = (
            f"前 {min(len(head_rows), HEADER_SEARCH_ROWS) or 1} 行中没有目录「{entry.title}」的表头："
            "没有一列的名称与信息项名称相符。"
        )
    if file_format == "csv":
        reason += "可能提交了其他数据集的文件，或文件编码有误（应为 UTF-8 或 GB18030）。"
    else:
        reason += "可能提交了其他数据集的文件，或数据不在第一个工作表。"
    return reason + f"应有的表头：{'、'.join(item.name for item in entry.items)}"


def looks_binary(head: bytes) -> str | None:
    for signature, description in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return description
    if b"\x00" in head:
        return "含有二进制内容（空字节），不是文本表格"
    controls = sum(1 for b in head if b < 0x09 or 0x0E <= b < 0x20 or b == 0x7F)
    if head and controls / len(head) > 0.05:
        return "含有大量控制字符，不是文本表格"
    return None


def strip_bom_and_space(data: bytes) -> bytes:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return data.strip(b" \t\r\n\x0b\x0c")
