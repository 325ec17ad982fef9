"""Deliveries as departments really make them, written at test time as real files: GB18030 CSV,
xlsx (openpyxl, cells as Excel types) and xls (BIFF, xlwt)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
import xlwt

from tests.reader_files import csv_bytes

FORMATS = ("csv", "xlsx", "xls")

Cell = str | float | int | None


def write_delivery(path: Path, rows: Sequence[Sequence[Cell]]) -> Path:
    """``rows`` as the file its suffix names; a float or int cell is a number cell in a workbook
    (as Excel stores a column it has turned into numbers) and Python's text of it in a CSV."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        text_rows = [["" if v is None else str(v) for v in row] for row in rows]
        path.write_bytes(csv_bytes(text_rows, "gb18030"))
    elif suffix == ".xlsx":
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(list(row))
        workbook.save(path)
    elif suffix == ".xls":
        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("Sheet1")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
        book.save(str(path))
    else:
        raise ValueError(suffix)
    return path
