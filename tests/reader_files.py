"""Builders and invariants shared by the landing reader tests (real files, synthetic people)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest
import xlsxwriter

from assets.common.catalog import CatalogEntry
from assets.common.check_chars import id_check_char
from assets.landing.reader import LandingRead, read_landing_file
from assets.landing.rejections import (
    FileRejected,
)

COUNTIES = ("640502", "640521", "640522")
# Rare name characters: 䶮 and 㛃 (CJK Ext A) and 𠀀 (Ext B) are four-byte sequences in GB18030, outside
# GBK; 堃 and 龘 are in GBK's less common range.
RARE_NAMES = ["刘䶮", "王㛃", "𠀀明", "张堃", "李龘"]


def synthetic_id(seq: int, birth: str = "19900101") -> str:
    first17 = f"640521{birth}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def person(seq: int, name: str | None = None) -> dict[str, str]:
    """One household row keyed by catalog column, all synthetic."""
    birth = f"19{60 + seq % 40:02d}0{1 + seq % 9}1{seq % 10}"
    return {
        "name": name or f"张{'伟芳娜秀英'[seq % 5]}",
        "id_number": synthetic_id(seq, birth),
        "gender": "男女"[seq % 2],
        "ethnicity": "汉族" if seq % 3 else "回族",
        "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
        "address": f"宁夏中卫市中宁县宁安镇{seq}号",
        "phone": f"139{seq:08d}",
        "region_code": "640521",
        "registered_on": "2020-03-15",
    }


def header_of(entry: CatalogEntry, columns: Sequence[str]) -> list[str]:
    return [entry.item(column).name for column in columns]


def csv_bytes(
    rows: Sequence[Sequence[str]],
    encoding: str = "utf-8",
    *,
    delimiter: str = ",",
    line_end: str = "\r\n",
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode(encoding)


def checked(read: LandingRead, entry: CatalogEntry) -> LandingRead:
    """The invariants every read must keep, asserted on every read in this module."""
    assert read.rows_read == len(read.frame) + len(read.rejections) + len(read.skipped)
    assert list(read.frame.columns) == [*entry.columns, "source_row"]
    assert str(read.frame["source_row"].dtype) == "int64"
    loaded = read.frame["source_row"].tolist()
    rejected = [r.source_row for r in read.rejections]
    skipped = [r.source_row for r in read.skipped]
    assert loaded == sorted(loaded)
    # every row but the header, from 1 to the last, is loaded, rejected or skipped, exactly once
    titles = [r.source_row for r in read.skipped if r.reason_code == "title_row"]
    header_row = max(titles, default=0) + 1
    accounted = sorted(loaded + rejected + skipped + [header_row])
    assert accounted == list(range(1, read.rows_read + 2))
    for column in entry.columns:
        assert all(v is None or type(v) is str for v in read.frame[column]), column
    return read


def read(path: Path, entry: CatalogEntry) -> LandingRead:
    return checked(read_landing_file(path, entry), entry)


def rejected(path: Path, entry: CatalogEntry) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_landing_file(path, entry)
    assert info.value.reason and info.value.reason == str(info.value)
    return info.value


def household_csv(entry: CatalogEntry, n: int = 3, encoding: str = "utf-8") -> bytes:
    return csv_bytes(
        [header_of(entry, entry.columns), *(list(person(i).values()) for i in range(n))], encoding
    )


def xlsx_bytes(entry: CatalogEntry, tmp_path: Path) -> bytes:
    path = tmp_path / "source.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header_of(entry, entry.columns))
    for i in range(50):
        sheet.write_row(i + 1, 0, list(person(i).values()))
    workbook.close()
    return path.read_bytes()
