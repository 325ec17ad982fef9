"""An independent rule checker for generated deliveries: each file read back the way a department's delivery would be, checked against the catalog rules with the shared identifier validators and plain pandas, and two catalog entries no code knows about."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, Frequency, load_catalog
from assets.common.check_chars import USCC_PATTERN
from assets.common.city import County, load_city
from assets.common.identifiers import (
    id_number_valid,
    luhn_valid,
    mobile_valid,
    phone_valid,
    uscc_valid,
)
from assets.common.reference import ENUM_REFERENCES
from assets.landing.generator import (
    Manifest,
    ManifestFile,
    period_containing,
)

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 3, 15)
SEED = 20261127
CITY = load_city()
CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
USCC_REGISTRATION_TYPES = {"91", "92", "93", "11", "12", "52"}

# A dataset no code knows about: everything it gets must come from its rules.
NEW_ENTRY = CatalogEntry.model_validate(
    {
        "dataset_id": "student_enrollment",
        "数据目录名称": "学生学籍信息",
        "信息资源提供方": "education",
        "数据摘要": "辖区学生的学籍信息，按年更新。",
        "更新频率": "每年",
        "开放属性": "有条件开放",
        "business_key": ["student_id_number"],
        "信息项": [
            {
                "信息项名称": "学生姓名",
                "column": "student_name",
                "required": True,
                "pii": "person_name",
            },
            {
                "信息项名称": "学生身份证号",
                "column": "student_id_number",
                "required": True,
                "format": "cn_id_number",
                "unique": True,
                "pii": "cn_id_number",
            },
            {"信息项名称": "性别", "column": "sex", "required": True, "enum": ["男", "女"]},
            {
                "信息项名称": "出生日期",
                "column": "date_of_birth",
                "type": "date",
                "required": True,
                "not_future": True,
            },
            {
                "信息项名称": "入学日期",
                "column": "admitted_on",
                "type": "date",
                "required": True,
                "not_future": True,
            },
            {
                "信息项名称": "毕业日期",
                "column": "graduated_on",
                "type": "date",
                "not_future": True,
            },
            {"信息项名称": "学校名称", "column": "school_name", "required": True},
            {"信息项名称": "所在乡镇", "column": "home_township", "required": True},
            {"信息项名称": "家庭住址", "column": "home_address", "pii": "address"},
            {
                "信息项名称": "监护人手机",
                "column": "guardian_mobile",
                "format": "cn_mobile",
                "pii": "cn_mobile_phone",
            },
            {
                "信息项名称": "学费（元）",
                "column": "tuition",
                "type": "decimal",
                "min": 0,
                "max": 20000,
            },
            {
                "信息项名称": "年级",
                "column": "grade_level",
                "type": "integer",
                "required": True,
                "min": 1,
                "max": 12,
            },
            {"信息项名称": "备注", "column": "remark"},
            {"信息项名称": "电子邮箱", "column": "email", "pii": "email"},
        ],
        "rules": [
            {"check": "id_birth_date", "columns": ["student_id_number", "date_of_birth"]},
            {"check": "id_gender", "columns": ["student_id_number", "sex"]},
            {"check": "date_order", "columns": ["date_of_birth", "admitted_on"]},
            {"check": "date_order", "columns": ["admitted_on", "graduated_on"]},
            {"check": "township_in_county", "columns": ["home_township"]},
        ],
    }
)

# A key with few distinct values (11 townships × 3 levels in 中宁县).
TOWNSHIP_LEVELS = CatalogEntry.model_validate(
    {
        "dataset_id": "township_levels",
        "数据目录名称": "乡镇等级",
        "信息资源提供方": "agriculture_rural",
        "数据摘要": "乡镇与等级，组合唯一。",
        "更新频率": "每月",
        "开放属性": "无条件开放",
        "business_key": ["township", "level"],
        "信息项": [
            {"信息项名称": "乡镇", "column": "township", "required": True},
            {
                "信息项名称": "等级",
                "column": "level",
                "required": True,
                "enum": ["甲", "乙", "丙"],
            },
        ],
        "rules": [{"check": "township_in_county", "columns": ["township"]}],
    }
)


# --- reading a delivery back --------------------------------------------------------------------


def read_delivery(data_dir: Path, record: ManifestFile) -> pd.DataFrame:
    """The file's cells as text (None for empty), columns as in the file's header."""
    path = data_dir / record.path
    if record.format == "xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
        workbook.close()
        width = len(rows[0])
        body = [tuple(row) + (None,) * (width - len(row)) for row in rows[1:]]
        for row in body:
            assert all(v is None or isinstance(v, str) for v in row), row
        return pd.DataFrame(body, columns=list(rows[0]), dtype=object)
    frame = pd.read_csv(path, dtype=str, encoding=record.encoding, keep_default_na=False)
    return frame.astype(object).where(frame != "", None)


# --- an independent rule checker ----------------------------------------------------------------

FULLWIDTH = "[\uff10-\uff19\uff21-\uff3a]"
NONSTANDARD_DATE_FORMATS = (
    (r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d"),
    (r"\d{8}", "%Y%m%d"),
    (
        r"\d{4}年\d{1,2}月\d{1,2}日",
        "%Y年%m月%d日",
    ),
)


class Checker:
    """Finds every rule violation in one delivered file as (source_row, column, kind)."""

    def __init__(self, frame: pd.DataFrame, entry: CatalogEntry, county: County, period_end: date):
        self.raw = frame.rename(columns=entry.header_map)
        self.entry, self.county = entry, county
        self.period_end = pd.Timestamp(period_end)
        self.as_of = pd.Timestamp(AS_OF)
        self.found: set[tuple[int, str, str]] = set()
        self.ids: dict[str, pd.Series] = {}  # valid ID numbers (normalized), NA elsewhere
        self.dates: dict[str, pd.Series] = {}  # parsed dates, NaT where unparseable

    def add(self, mask: pd.Series, column: str, kind: str) -> None:
        for i in np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool)):
            self.found.add((int(i) + 2, column, kind))

    def run(self) -> set[tuple[int, str, str]]:
        for item in self.entry.items:
            self.check_item(item)
        self.check_rules()
        self.check_keys()
        return self.found

    def check_item(self, item) -> None:
        col = item.column
        s = self.raw[col].astype("string")
        present = s.notna()
        if item.required:
            self.add(~present, col, "missing_required")
        if item.format in ("cn_id_number", "id_or_uscc", "cn_mobile", "phone"):
            wide = s.str.contains(FULLWIDTH, regex=True)
            self.add(wide, col, "fullwidth_chars")
            s = s.str.normalize("NFKC")
        if item.format in ("cn_id_number", "id_or_uscc"):
            lower = s.str.fullmatch(r"\d{17}x").fillna(False)
            self.add(lower, col, "lowercase_x")
            s = s.where(~lower, s.str.upper())
            self.check_id_or_uscc(col, s, present, allow_uscc=item.format == "id_or_uscc")
        elif item.format in ("cn_mobile", "phone"):
            valid = mobile_valid if item.format == "cn_mobile" else phone_valid
            ok = valid(s)
            bare = s.str.replace(r"^\(?\+86\)?", "", regex=True).str.replace(
                r"[\s\-()]", "", regex=True
            )
            recoverable = present & ~ok & valid(bare)
            self.add(recoverable, col, "decorated_phone")
            self.add(present & ~ok & ~recoverable, col, "bad_format")
        elif item.format == "uscc":
            self.check_uscc(col, s, present)
        elif item.format == "bank_card":
            digits = s.str.fullmatch(r"\d{16,19}").fillna(False)
            self.add(present & ~digits, col, "bad_format")
            self.add(digits & ~luhn_valid(s), col, "bad_check_digit")
            self.add(digits & luhn_valid(s) & ~s.str.startswith("62"), col, "not_unionpay")
        elif item.format == "division_code":
            self.add(present & ~s.str.fullmatch(r"\d{6}").fillna(False), col, "bad_format")
        elif item.format == "industry_code":
            self.add(present & ~s.str.fullmatch(r"[A-T]\d{2,4}").fillna(False), col, "bad_format")
        elif item.format == "certificate_no":
            pattern = rf"宁\(\d{{4}}\){self.county.name}不动产权第\d{{7}}号"
            self.add(present & ~s.str.fullmatch(pattern).fillna(False), col, "bad_format")
        if item.enum or item.enum_ref:
            allowed = item.enum or ENUM_REFERENCES[item.enum_ref]
            self.add(present & ~s.isin(allowed), col, "unknown_enum")
        if item.type in ("integer", "decimal"):
            self.check_number(item, s, present)
        if item.type == "date":
            self.check_date(item, s, present)

    def check_id_or_uscc(self, col: str, s: pd.Series, present: pd.Series, allow_uscc: bool):
        id_like = s.str.fullmatch(r"\d{17}[\dX]").fillna(False)
        uscc_like = ~id_like & s.str.fullmatch(USCC_PATTERN).fillna(False) & allow_uscc
        self.add(present & ~id_like & ~uscc_like, col, "bad_format")
        valid = id_like & id_number_valid(s)
        self.add(id_like & ~valid, col, "bad_check_digit")
        if allow_uscc:
            self.check_uscc(col, s.where(uscc_like), uscc_like)
        # the division prefix must be the county's code for the birth year (GB/T 2260 history)
        years = s[valid].str.slice(6, 10).astype(int)
        expected = years.map(self.county.division_code_for_year)
        wrong_prefix = pd.Series(False, index=s.index)
        wrong_prefix[valid] = s[valid].str.slice(0, 6) != expected
        self.add(wrong_prefix, col, "id_prefix_not_for_birth_year")
        self.ids[col] = s.where(valid)

    def check_uscc(self, col: str, s: pd.Series, present: pd.Series) -> None:
        shaped = s.str.fullmatch(USCC_PATTERN).fillna(False)
        self.add(present & ~shaped, col, "bad_format")
        valid = shaped & uscc_valid(s)
        self.add(shaped & ~valid, col, "bad_check_digit")
        realistic = s.str.slice(0, 2).isin(USCC_REGISTRATION_TYPES) & (
            s.str.slice(2, 8) == self.county.code
        )
        self.add(valid & ~realistic, col, "uscc_not_of_county")

    def check_number(self, item, s: pd.Series, present: pd.Series) -> None:
        col = item.column
        pattern = r"-?\d+" if item.type == "integer" else r"-?\d+(\.\d+)?"
        shaped = s.str.fullmatch(pattern).fillna(False)
        self.add(present & ~shaped, col, "bad_format")
        value = pd.to_numeric(s.where(shaped), errors="coerce")
        out = pd.Series(False, index=s.index)
        if item.min is not None:
            out |= (value <= item.min) if item.min_exclusive else (value < item.min)
        if item.max is not None:
            out |= value > item.max
        self.add(out, col, "out_of_range")

    def check_date(self, item, s: pd.Series, present: pd.Series) -> None:
        col = item.column
        iso = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False)
        parsed = pd.to_datetime(s.where(iso), format="%Y-%m-%d", errors="coerce")
        nonstandard = pd.Series(False, index=s.index)
        for shape, fmt in NONSTANDARD_DATE_FORMATS:
            rows = present & ~iso & s.str.fullmatch(shape).fillna(False)
            alt = pd.to_datetime(s.where(rows), format=fmt, errors="coerce")
            nonstandard |= rows & alt.notna()
            parsed = parsed.fillna(alt)
        self.add(nonstandard, col, "nonstandard_date")
        self.add(present & parsed.isna(), col, "bad_format")
        future = parsed > self.as_of
        if item.not_future:
            self.add(future, col, "future_date")
        # data dates fall inside or before their period
        self.add(~future & (parsed > self.period_end), col, "after_period")
        self.dates[col] = parsed

    def check_rules(self) -> None:
        for rule in self.entry.rules:
            cols = rule.columns
            if rule.check == "id_birth_date":
                ids, born = self.ids[cols[0]], self.dates[cols[1]]
                both = ids.notna() & born.notna()
                digits = born.dt.strftime("%Y%m%d")
                self.add(both & (ids.str.slice(6, 14) != digits), cols[1], "id_birth_mismatch")
            elif rule.check == "id_gender":
                ids, gender = self.ids[cols[0]], self.raw[cols[1]]
                known = ids.notna() & gender.isin(["男", "女"])
                odd = ids.str.slice(16, 17).astype("Float64") % 2 == 1
                self.add(known & (odd != (gender == "男")), cols[1], "id_gender_mismatch")
            elif rule.check == "date_order":
                first, last = self.dates[cols[0]], self.dates[cols[1]]
                self.add(first.notna() & last.notna() & (first > last), cols[1], "date_order")
            elif rule.check == "region_is_county":
                s = self.raw[cols[0]]
                self.add(s.notna() & (s != self.county.code), cols[0], "wrong_region_code")
            elif rule.check == "township_in_county":
                s = self.raw[cols[0]]
                outside = s.notna() & ~s.isin(self.county.townships)
                self.add(outside, cols[0], "township_outside_county")
            elif rule.check == "empty_iff":
                target, condition = self.raw[cols[0]], self.raw[cols[1]]
                should_be_empty = condition.isin(rule.values or ())
                wrong = condition.notna() & (target.isna() != should_be_empty)
                self.add(wrong, cols[0], "employer_uscc_mismatch")

    def check_keys(self) -> None:
        entry = self.entry
        unique = [item.column for item in entry.items if item.unique]
        key_column = entry.business_key[0] if entry.business_key else unique[0]
        for key in [list(entry.business_key)] + [[c] for c in unique]:
            if not key:
                continue
            part = self.raw[key]
            complete = part.notna().all(axis=1)
            repeated = complete & part.duplicated(keep="first")
            self.add(repeated, key_column, "duplicate_key")


def violations_of(data_dir: Path, record: ManifestFile, entry: CatalogEntry):
    county = CITY.county(record.county_code)
    period = period_containing(entry.frequency, _period_start(entry.frequency, record.period))
    frame = read_delivery(data_dir, record)
    return Checker(frame, entry, county, period.end).run()


def _period_start(frequency: Frequency, key: str) -> date:
    if frequency is Frequency.DAILY:
        return date.fromisoformat(key)
    if frequency is Frequency.MONTHLY:
        return date.fromisoformat(f"{key}-01")
    if frequency is Frequency.QUARTERLY:
        return date(int(key[:4]), 3 * int(key[-1]) - 2, 1)
    return date(int(key), 1, 1)


def manifest_defects(manifest: Manifest, path: str) -> set[tuple[int, str, str]]:
    return {(d.source_row, d.column, d.kind) for d in manifest.defects_in(path)}
