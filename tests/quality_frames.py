"""A clean partition for any catalog entry, and running a suite over it, for the quality tests."""

from __future__ import annotations

import pandas as pd

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.check_chars import id_check_char, luhn_check_digit, uscc_check_char
from assets.common.city import load_city
from assets.common.reference import ENUM_REFERENCES
from assets.quality.validation import (
    QualityValidator,
    ValidationOutcome,
)

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
COUNTY = "640521"  # 中宁县
OTHER_COUNTY = "640522"  # 海原县
AS_OF = "2025-06-30"
ROWS = 8
FIRST_ROW = 2  # header is row 1


# --- a clean partition for any catalog entry -------------------------------------------------


def person_id(i: int, prefix: str = COUNTY) -> str:
    first17 = f"{prefix}{1950 + i:04d}0315{i % 1000:03d}"
    return first17 + id_check_char(first17)


def uscc(i: int) -> str:
    first17 = f"91{COUNTY}MA7{i:06d}"
    return first17 + uscc_check_char(first17)


def bank_card(i: int) -> str:
    partial = f"622202{i:012d}"
    return partial + luhn_check_digit(partial)


def _valid_value(entry: CatalogEntry, column: str, i: int, county: str) -> str:
    item = entry.item(column)
    fmt = item.format
    if fmt == "cn_id_number":
        return person_id(i)
    if fmt == "id_or_uscc":
        return person_id(i) if i % 2 else uscc(i)
    if fmt == "uscc":
        return uscc(i)
    if fmt == "bank_card":
        return bank_card(i)
    if fmt == "cn_mobile":
        return f"139{i:08d}"
    if fmt == "phone":
        return f"0955-70{i:05d}" if i % 2 else f"138{i:08d}"
    if fmt == "division_code":
        return county
    if fmt == "industry_code":
        return "C1511"
    if fmt == "certificate_no":
        return f"宁(2025)中宁县不动产权第{i:07d}号"
    if item.enum:
        return item.enum[i % len(item.enum)]
    if item.enum_ref:
        values = ENUM_REFERENCES[item.enum_ref]
        return values[i % len(values)]
    if item.type == "date":
        return f"2020-{1 + i % 12:02d}-15"
    if item.type in ("decimal", "integer"):
        low = item.min if item.min is not None else 0
        high = item.max if item.max is not None else low + 1000
        value = low + (high - low) * (i + 1) / (ROWS + 2)
        return str(int(value)) if item.type == "integer" else f"{value:.2f}"
    if item.pii == "address" or column in ("address", "location"):
        return f"宁夏中卫市中宁县宁安镇{i}号"
    return f"{item.name}{i}"


def clean_frame(dataset_id: str, county: str = COUNTY, rows: int = ROWS) -> pd.DataFrame:
    entry = CATALOG[dataset_id]
    townships = CITY.county(county).townships
    records = []
    for i in range(rows):
        row = {c: _valid_value(entry, c, i, county) for c in entry.columns}
        for rule in entry.rules:
            cols = rule.columns
            if rule.check == "id_birth_date":
                d = row[cols[0]][6:14]
                row[cols[1]] = f"{d[:4]}-{d[4:6]}-{d[6:]}"
            elif rule.check == "id_gender":
                row[cols[1]] = "男" if int(row[cols[0]][16]) % 2 else "女"
            elif rule.check == "region_is_county":
                row[cols[0]] = county
            elif rule.check == "township_in_county":
                row[cols[0]] = townships[i % len(townships)]
            elif rule.check == "empty_iff":
                row[cols[0]] = None if row[cols[1]] in (rule.values or ()) else uscc(100 + i)
        records.append(row)
    frame = pd.DataFrame(records, dtype=object)
    frame["county_code"] = county
    frame["period"] = "2025-05"
    frame["source_department"] = entry.provider
    frame["source_file"] = f"landing/{county}/{dataset_id}/2025-05.csv"
    frame["file_checksum"] = "0" * 64
    frame["batch_id"] = "batch-1"
    frame["ingested_at"] = "2025-06-01T08:00:00+08:00"
    frame["source_row"] = range(FIRST_ROW, FIRST_ROW + rows)
    return frame


def run(
    validator: QualityValidator, frame: pd.DataFrame, dataset_id: str, **kw
) -> ValidationOutcome:
    params = {"county_code": COUNTY, "as_of": AS_OF} | kw
    return validator.validate(frame, dataset_id, **params)


def failing(outcome: ValidationOutcome) -> dict[str, object]:
    return {e.rule_id: e for e in outcome.failures}
