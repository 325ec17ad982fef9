"""The landing reader on XLSX workbooks written by the usual tools, cells rendered as text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from assets.common.catalog import CatalogEntry
from assets.landing.reader import read_table
from assets.landing.rejections import (
    BLANK_ROW,
    EXCEL_NUMERIC,
)
from tests.reader_files import (
    RARE_NAMES,
    header_of,
    person,
    read,
)


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


# ---- xlsx ---------------------------------------------------------------------------------------------


def test_xlsx_written_by_xlsxwriter(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("户籍")
    workbook.add_worksheet("说明").write(0, 0, "不是数据")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    columns = ["id_number", "name", "birth_date", "registered_on", "phone", "gender"]
    columns += ["ethnicity", "address", "region_code"]
    sheet.write_row(0, 0, [*header_of(entry, columns), "核验", "系数"])
    a, b = person(1), person(2)
    # row 2: the ID as text, dates as real Excel dates
    sheet.write_string(1, 0, a["id_number"])
    sheet.write_string(1, 1, " 张伟 ")
    sheet.write_datetime(1, 2, dt.datetime(1990, 1, 1), date_format)
    sheet.write_datetime(1, 3, dt.datetime(2020, 3, 15, 9, 30), stamp_format)
    sheet.write_number(1, 4, 13900000001)
    sheet.write_string(1, 5, "男")
    sheet.write_string(1, 6, "汉族")
    sheet.write_string(1, 7, a["address"])
    sheet.write_number(1, 8, 640521)
    sheet.write_boolean(1, 9, True)
    sheet.write_number(1, 10, 0.1 + 0.2)
    # row 3 is left empty; row 4: the ID typed as a number (Excel keeps 15 digits)
    sheet.write_number(3, 0, float(b["id_number"]))
    sheet.write_string(3, 1, "李四")
    sheet.write_datetime(3, 2, dt.datetime(1985, 6, 30), date_format)
    # formatted but empty cells below the data, as Excel leaves them
    sheet.write_blank(9, 0, None, date_format)
    sheet.set_row(12, 30)
    workbook.close()

    result = read(path, entry)

    assert (result.encoding, result.file_format) == ("xlsx", "xlsx")
    assert result.rows_read == 3
    # the ID Excel made a number lost its last digits (6.40521E+17): the row is rejected
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [
        (3, BLANK_ROW),
        (4, EXCEL_NUMERIC),
    ]
    assert result.unknown_headers == ["核验", "系数"]
    [first] = result.frame.to_dict("records")
    assert first == {
        "name": " 张伟 ",
        "id_number": a["id_number"],
        "gender": "男",
        "ethnicity": "汉族",
        "birth_date": "1990-01-01",
        "address": a["address"],
        "phone": "13900000001",
        "region_code": "640521",
        "registered_on": "2020-03-15 09:30:00",
        "source_row": 2,
    }


def test_xlsx_written_by_openpyxl(tmp_path: Path, entry: CatalogEntry) -> None:
    path = tmp_path / "2025-01.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    columns = list(reversed(entry.columns))
    sheet.append(header_of(entry, columns))
    people = [person(i, name) for i, name in enumerate(RARE_NAMES[:3])]
    for i, p in enumerate(people):
        values: list[object] = [p[c] for c in columns]
        if i == 1:  # the ID typed as a number: Excel keeps 15 digits
            values[columns.index("id_number")] = int(p["id_number"])
        if i == 2:
            values[columns.index("birth_date")] = dt.date.fromisoformat(p["birth_date"])
            values[columns.index("registered_on")] = dt.datetime(2021, 5, 6)
        sheet.append(values)
    sheet.append([None] * len(columns))
    sheet.append([""] * len(columns))
    sheet.cell(row=20, column=1).number_format = "@"
    error = sheet.cell(row=22, column=2, value="#N/A")  # in the sheet's range, read as empty
    error.data_type = "e"
    workbook.save(path)

    result = read(path, entry)

    assert result.rows_read == 3
    # damaged by Excel (6.40521E+17): rejected, not loaded
    assert [(r.source_row, r.reason_code) for r in result.rejections] == [(3, EXCEL_NUMERIC)]
    records = result.frame.drop(columns="source_row").to_dict("records")
    assert records[0] == people[0]
    assert records[1]["name"] == people[2]["name"]
    assert records[1]["birth_date"] == people[2]["birth_date"]
    assert records[1]["registered_on"] == "2021-05-06"


def test_xlsx_cells_rendered_as_text(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    cells: list[tuple[object, str | None]] = [
        (12.0, "12"),
        (-7, "-7"),
        (13912345678, "13912345678"),
        (999999999999999, "999999999999999"),
        (640521199001011234, "6.40521E+17"),
        (-640521199001011234, "-6.4052E+17"),
        (1e20, "1E+20"),
        (3.14, "3.14"),
        (0.1 + 0.2, "0.3"),
        (1.5e-7, "1.5E-07"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 0, 0), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 23, 59, 59), "2024-02-29 23:59:59"),
        (dt.time(8, 30), "08:30:00"),
        ("0012", "0012"),
        ("  ", "  "),
    ]
    sheet.append(["值"])
    for value, _ in cells:
        sheet.append([value])
    workbook.save(path)

    frame, encoding = read_table(path)

    assert encoding == "xlsx"
    assert frame["值"].tolist() == [text for _, text in cells]
