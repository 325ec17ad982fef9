"""Writing the reports: XLSX with neutralized cells, HTML through autoescaping Jinja2 templates.

Every value written is neutralized: numbers stay numbers, text is written as a string cell (never a
formula: ``strings_to_formulas`` off) and text starting with ``=`` ``+`` ``-`` ``@`` or a control
character gets a leading ``'`` so no spreadsheet evaluates it; HTML is escaped by the template engine.
Files are replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from assets.common.documents import XLSX_WRITER_OPTIONS, html_environment, neutralize_cell

_TEMPLATES = html_environment(Path(__file__).parent / "templates")


def neutral_text(value: object) -> str:
    """Text for a cell: the one neutralizer of ``assets.common.documents``."""
    return neutralize_cell("" if value is None else str(value))


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_xlsx(
    path: Path, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]
) -> Path:
    """``sheets``: (name, header, rows). Integers and floats are numbers, everything else neutral
    text; None is an empty cell."""
    temporary = _temporary(path)
    book = xlsxwriter.Workbook(str(temporary), XLSX_WRITER_OPTIONS)
    try:
        bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        for name, header, rows in sheets:
            sheet = book.add_worksheet(name)
            for col, title in enumerate(header):
                sheet.write_string(0, col, neutral_text(title), bold)
                sheet.set_column(col, col, max(10, min(60, len(str(title)) * 2 + 4)))
            for r, row in enumerate(rows, start=1):
                for col, value in enumerate(row):
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        sheet.write_string(r, col, "是" if value else "否", wrap)
                    elif isinstance(value, int | float):
                        sheet.write_number(r, col, value)
                    else:
                        sheet.write_string(r, col, neutral_text(value), wrap)
            sheet.freeze_panes(1, 0)
        book.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_html(path: Path, template: str, **context: Any) -> Path:
    html = _TEMPLATES.get_template(template).render(**context)
    temporary = _temporary(path)
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, path)
    return path
