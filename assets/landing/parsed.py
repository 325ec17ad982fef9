"""A delivered table before catalog mapping, shared by the CSV and the XLSX reader: the parsed
records, the header mapped onto the catalog entry's items, and the sniffing of a file's first bytes."""

from __future__ import annotations

import codecs
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

HEADER_SEARCH_ROWS = 10  # rows looked at to tell "title row above the header" from "wrong file"

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


@dataclass
class HeaderMap:
    positions: dict[str, int]  # catalog column → index of the file column
    unknown: list[str]  # delivered header names that name no catalog item
    unnamed: list[int]  # indices of file columns whose header cell is empty
    missing_optional: list[str]  # Chinese names of optional items the file lacks


def clean_header(cell: str | None) -> str:
    return (cell or "").strip().strip("\ufeff").strip()


def map_header(
    header: Sequence[str], entry: CatalogEntry, head_rows: Sequence[Sequence[str]], file_format: str
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
        raise FileRejected(HEADER, header_reason(entry, head_rows, file_format, matched, 0))
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
        raise FileRejected(HEADER, header_reason(entry, head_rows, file_format, matched, named))
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
