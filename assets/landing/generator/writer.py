"""Writing one landing file as CSV (UTF-8, UTF-8 with BOM, GB18030) or xlsx, reproducibly and
atomically: the file appears under its final name only when complete, so a landing sensor never
reads half a file."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

LINE_ENDINGS = {"utf-8": "\n", "utf-8-sig": "\r\n", "gb18030": "\r\n"}
XLSX_MAX_ROWS = 1_048_575  # data rows under the header
# Above this many cells, stream rows to disk (inline strings) instead of holding a shared-strings
# table in memory; below it the shared table is faster and is what Excel itself writes.
XLSX_IN_MEMORY_CELLS = 2_000_000
_SHEET_NAME_MAX = 31


def write_csv(path: Path, header: list[str], columns: list[np.ndarray], encoding: str) -> str:
    """Write the rows; ``None`` is an empty cell. Returns the file's SHA-256."""
    frame = pd.DataFrame(dict(zip(range(len(header)), columns, strict=True)))
    frame.columns = header
    partial = _partial(path)
    frame.to_csv(partial, index=False, encoding=encoding, lineterminator=LINE_ENDINGS[encoding])
    return _finish(partial, path)


def write_xlsx(
    path: Path,
    header: list[str],
    columns: list[np.ndarray],
    *,
    sheet: str,
    created: datetime,
    author: str,
) -> str:
    """Write the rows as text cells (IDs keep every digit). ``created`` is fixed by the caller so
    the same rows give the same bytes. Returns the file's SHA-256."""
    partial = _partial(path)
    n_cells = len(header) * (len(columns[0]) if columns else 0)
    options = {
        "constant_memory": n_cells > XLSX_IN_MEMORY_CELLS,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    workbook = xlsxwriter.Workbook(str(partial), options)
    workbook.set_properties({"created": created, "author": author, "company": author})
    text = workbook.add_format({"num_format": "@"})
    worksheet = workbook.add_worksheet(sheet[:_SHEET_NAME_MAX])
    worksheet.set_column(0, len(header) - 1, 20, text)
    write = worksheet.write_string
    for c, name in enumerate(header):
        write(0, c, name, text)
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for c, value in enumerate(row):
            if value is not None:
                write(r, c, value, text)
    workbook.close()
    return _finish(partial, path)


def _partial(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.part")


def _finish(partial: Path, path: Path) -> str:
    digest = hashlib.sha256()
    with partial.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    os.replace(partial, path)
    return digest.hexdigest()
