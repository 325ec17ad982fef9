"""Deliveries shaped as departments really export them (``publicdata generate --shapes …``): a title
row above the header, a trailing 合计 row, extra columns, identifiers Excel turned into numbers, and
.xls workbooks. Off by default; each shape asked for is dealt to about half of the files, drawn from
a stream of its own so the rows and defects stay those of the unshaped run.

The manifest records on each file which shapes it has, how many rows the reader should skip, the extra
columns, and the rows whose ID number lost digits (rejected as “Excel 数值化导致精度丢失”).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import xlsxwriter

from assets.landing.generator.context import FileContext

TITLE_ROWS = "title_rows"
TOTAL_ROW = "total_row"
EXTRA_COLUMNS = "extra_columns"
EXCEL_NUMERIC = "excel_numeric"
XLS = "xls"
SHAPES = (TITLE_ROWS, TOTAL_ROW, EXTRA_COLUMNS, EXCEL_NUMERIC, XLS)
XLS_MAX_ROWS = 65_535  # BIFF8 rows below the header
DAMAGED_PER_FILE = 2

Cell = str | float | None


def parse_shapes(text: str) -> tuple[str, ...]:
    """``all`` or a comma-separated list of :data:`SHAPES`."""
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    if wanted == ["all"]:
        return SHAPES
    unknown = [s for s in wanted if s not in SHAPES]
    if unknown:
        raise ValueError(
            f"未知的交付形态：{'、'.join(unknown)}（可选：all 或 {', '.join(SHAPES)}）"
        )
    return tuple(s for s in SHAPES if s in wanted)


def deal_shapes(
    seed: int, relative: str, wanted: Collection[str], rows: int, fmt: str
) -> tuple[str, ...]:
    """The shapes of one file: each wanted shape with probability ½ (its own random stream)."""
    if not wanted:
        return ()
    rng = np.random.default_rng([abs(seed), zlib.crc32(relative.encode("utf-8")), 12])
    dealt = [s for s in SHAPES if s in wanted and rng.random() < 0.5]
    if XLS in dealt and (fmt != "xlsx" or rows > XLS_MAX_ROWS):
        dealt.remove(XLS)
    return tuple(dealt)


@dataclass
class Shaped:
    """A file's cells once shaped: rows above the header, the header, the data rows, rows below."""

    above: list[list[Cell]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    below: list[list[Cell]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    damaged_rows: list[int] = field(default_factory=list)  # indices into rows


def shape_rows(
    ctx: FileContext,
    header: list[str],
    order: list[str],
    columns: Sequence[np.ndarray],
    shapes: Collection[str],
    defect_rows: Collection[int],
    seed: int,
) -> Shaped:
    """The file's cells with ``shapes`` applied; ``defect_rows`` (data row indices) are left clean of
    the Excel damage so each injected defect stays findable."""
    n = len(columns[0]) if columns else 0
    rows: list[list[Cell]] = [list(values) for values in zip(*columns, strict=True)]
    shaped = Shaped(header=list(header), rows=rows)
    entry, county = ctx.entry, ctx.county
    if EXCEL_NUMERIC in shapes:
        # a number cell in a workbook, the text Excel shows for it in a CSV
        rng = np.random.default_rng([abs(seed), zlib.crc32(entry.dataset_id.encode()), 34])
        for index, column in enumerate(order):
            item = entry.item(column)
            if item.format == "cn_id_number" or item.pii == "cn_id_number":
                clean = [
                    r
                    for r in range(n)
                    if r not in defect_rows
                    and isinstance(rows[r][index], str)
                    and str(rows[r][index]).isdigit()
                    and len(str(rows[r][index])) == 18
                ]
                picked = sorted(rng.permutation(clean)[:DAMAGED_PER_FILE].tolist()) if clean else []
                for r in picked:
                    rows[r][index] = float(str(rows[r][index]))
                shaped.damaged_rows = sorted(set(shaped.damaged_rows) | set(picked))
            elif item.format == "cn_mobile" or item.pii == "cn_mobile_phone":
                for r in range(n):  # exact as a float: restored by the reader
                    value = rows[r][index]
                    if r not in defect_rows and isinstance(value, str) and value.isdigit():
                        rows[r][index] = float(value)
    if EXTRA_COLUMNS in shapes:
        shaped.extra_columns = ["序号", "备注"]
        shaped.header = ["序号", *shaped.header, "备注"]
        shaped.rows = [[str(i), *row, None] for i, row in enumerate(rows, start=1)]
    if TITLE_ROWS in shapes:
        office = _office(ctx)
        shaped.above = [
            [f"{_period_label(ctx)}{county.name}{entry.title}"],
            [f"制表单位：{office}"],
        ]
    if TOTAL_ROW in shapes:
        shaped.below = [["合计", f"{n}条"]]
    return shaped


def _office(ctx: FileContext) -> str:
    try:
        return ctx.city.department(ctx.entry.provider).name_in(ctx.county)
    except KeyError:
        return ctx.county.data_bureau


def _period_label(ctx: FileContext) -> str:
    key = ctx.period.key
    if len(key) == 7 and key[4] == "-" and key[5:].isdigit():
        return f"{key[:4]}年{int(key[5:])}月"
    if "-Q" in key:
        return f"{key[:4]}年第{key[-1]}季度"
    if len(key) == 4:
        return f"{key}年"
    return f"{key[:4]}年{int(key[5:7])}月{int(key[8:])}日"


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # what Excel's General format shows for a number
        return f"{value:.5E}" if value >= 1e15 else f"{value:.1f}"
    return value


def write_shaped(
    path: Path,
    shaped: Shaped,
    *,
    fmt: str,
    encoding: str | None,
    sheet: str,
    created: datetime,
    author: str,
) -> str:
    """Write the shaped file (csv, xlsx or xls); returns its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    every = [*shaped.above, shaped.header, *shaped.rows, *shaped.below]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n" if encoding != "utf-8" else "\n")
        writer.writerows([[_csv_text(v) for v in row] for row in every])
        partial.write_bytes(buffer.getvalue().encode(encoding or "utf-8"))
    elif fmt == "xls":
        import xlwt  # a development dependency: `make venv` installs it

        book = xlwt.Workbook(encoding="utf-8")
        worksheet = book.add_sheet(sheet[:31])
        for r, row in enumerate(every):
            for c, value in enumerate(row):
                if value is not None:
                    worksheet.write(r, c, value)
        book.save(str(partial))
    else:
        workbook = xlsxwriter.Workbook(
            str(partial),
            {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        workbook.set_properties({"created": created, "author": author, "company": author})
        worksheet = workbook.add_worksheet(sheet[:31])
        for r, row in enumerate(every):
            for c, value in enumerate(row):
                if isinstance(value, float):
                    worksheet.write_number(r, c, value)
                elif value is not None:
                    worksheet.write_string(r, c, value)
        workbook.close()
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    os.replace(partial, path)
    return digest
