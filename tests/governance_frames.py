"""Clean rows per catalog entry and the frame builders shared by the governance tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.check_chars import id_check_char, luhn_check_digit, uscc_check_char
from assets.common.city import load_city
from assets.governance.rules import (
    evaluate_rules,
)
from assets.governance.standardize import standardize

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
AS_OF = date(2024, 6, 30)
COUNTY = "640502"  # 沙坡头区


def ident(prefix: str, born: str, seq: int) -> str:
    first17 = f"{prefix}{born}{seq:03d}"
    return first17 + id_check_char(first17)


def uscc(body: str) -> str:
    return body + uscc_check_char(body)


def card(partial: str) -> str:
    return partial + luhn_check_digit(partial)


MAN = ident("640502", "19900101", 11)  # odd sequence: 男
WOMAN = ident("640502", "19851231", 22)  # even: 女

CLEAN: dict[str, dict[str, str | None]] = {
    "household_registration": {
        "name": "张三",
        "id_number": MAN,
        "gender": "男",
        "ethnicity": "回族",
        "birth_date": "1990-01-01",
        "address": "沙坡头区滨河镇黄河路1号",
        "phone": "13812345678",
        "region_code": COUNTY,
        "registered_on": "2010-05-01",
    },
    "agricultural_subsidies": {
        "name": "李四",
        "id_number": WOMAN,
        "bank_card": card("622202020011223344"),
        "subsidy_type": "枸杞产业补贴",
        "amount": "1200.50",
        "paid_on": "2024-03-15",
        "township": "滨河镇",
        "phone": None,
    },
    "market_entities": {
        "uscc": uscc("91640502MA76ABCD1"),
        "entity_name": "中卫市某某枸杞有限公司",
        "legal_representative": "王五",
        "legal_rep_id_number": MAN,
        "registered_capital": "100",
        "established_on": "2015-07-01",
        "status": "存续",
        "industry_code": "C1371",
        "address": "沙坡头区文昌镇",
        "region_code": COUNTY,
    },
    "medical_institutions": {
        "institution_name": "滨河镇卫生院",
        "uscc": uscc("12640502MB1234567"),
        "grade": "一级",
        "category": "乡镇卫生院",
        "address": "沙坡头区滨河镇",
        "longitude": "105.19",
        "latitude": "37.51",
        "beds": "30",
        "phone": "0955-7012345",
    },
    "petition_records": {
        "name": "赵六",
        "id_number": WOMAN,
        "phone": "13912345678",
        "matter": "道路维修",
        "accepted_on": "2024-02-01",
        "status": "已受理",
    },
    "real_estate_registration": {
        "certificate_no": "宁(2024)沙坡头区不动产权第0001234号",
        "owner_name": "孙七",
        "owner_id_number": WOMAN,
        "area_sqm": "89.5",
        "usage": "住宅",
        "location": "沙坡头区文昌镇某小区1号楼",
        "registered_on": "2024-01-10",
        "region_code": COUNTY,
    },
    "social_insurance_enrollment": {
        "name": "周八",
        "id_number": MAN,
        "insurance_type": "企业职工基本养老保险",
        "enrolled_on": "2012-01-01",
        "contribution_base": "4500",
        "employer_uscc": uscc("91640502MA76ABCD1"),
        "status": "正常参保",
    },
}


def frame_of(
    entry: CatalogEntry, rows: list[dict[str, str | None]], **provenance: object
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=entry.columns, dtype=object)
    frame = frame.astype(object).where(frame.notna(), None)
    n = len(frame)
    defaults: dict[str, object] = {
        "county_code": COUNTY,
        "period": "2024-05",
        "source_department": entry.provider,
        "source_file": f"landing/{COUNTY}/{entry.dataset_id}/2024-05.csv",
        "file_checksum": "0" * 64,
        "batch_id": "batch-1",
        "ingested_at": pd.Timestamp("2024-06-01T08:00:00Z"),
    }
    defaults["source_row"] = list(range(2, n + 2))
    for column, value in (defaults | provenance).items():
        frame[column] = value
    return frame


def violated(entry: CatalogEntry, frame: pd.DataFrame) -> pd.DataFrame:
    standardized = standardize(frame, entry).frame
    return evaluate_rules(standardized, entry, city=CITY, as_of=AS_OF)


def fired(violations: pd.DataFrame, row: int = 0) -> set[str]:
    flags = violations.iloc[row]
    return set(flags[flags].index)
