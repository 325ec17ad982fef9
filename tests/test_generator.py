"""The synthetic data generator (``publicdata generate``).

Every generated file is read back the way a department's delivery would be and checked against the
catalog rules with the shared identifier validators and plain pandas; the violations found must be
exactly the manifest's defects — no defect missing, none breaking more than its kind, no stray error.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, Frequency, load_catalog
from assets.common.city import County, load_city
from assets.common.identifiers import (
    USCC_PATTERN,
    id_number_valid,
    luhn_valid,
    mobile_valid,
    phone_valid,
    uscc_valid,
)
from assets.common.reference import ENUM_REFERENCES
from assets.landing.generator import (
    DEFECT_KINDS,
    MANIFEST_PATH,
    MIN_ROWS_PER_FILE,
    Manifest,
    ManifestFile,
    allocate_rows,
    generate,
    period_containing,
    recent_periods,
)
from assets.landing.generator.context import FileContext
from assets.landing.generator.rows import RowBuilder

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


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("landing_zone")
    calls: list[tuple[str, int]] = []
    manifest = generate(
        data_dir,
        rows=4_000,
        seed=SEED,
        city=CITY,
        catalog=CATALOG,
        as_of=AS_OF,
        defect_rate=0.15,
        periods=2,
        progress=lambda label, n: calls.append((label, n)),
    )
    return data_dir, manifest, calls


# --- rules and defects --------------------------------------------------------------------------


def test_every_file_breaks_exactly_the_manifest_defects(generated) -> None:
    data_dir, manifest, _ = generated
    for record in manifest.files:
        found = violations_of(data_dir, record, CATALOG[record.dataset_id])
        expected = manifest_defects(manifest, record.path)
        assert expected, f"{record.path}: no defects injected at defect_rate 0.15"
        assert found == expected, (
            f"{record.path}: found but not in manifest {sorted(found - expected)[:10]}; "
            f"in manifest but not found {sorted(expected - found)[:10]}"
        )


def test_every_defect_kind_appears_once_per_row(generated) -> None:
    _, manifest, _ = generated
    assert set(manifest.defect_counts()) == set(DEFECT_KINDS)
    rows = [(d.file, d.source_row) for d in manifest.defects]
    assert len(rows) == len(set(rows)), "a row carries more than one defect"
    # the share of defective rows follows defect_rate
    total = sum(f.rows for f in manifest.files)
    assert 0.10 < len(manifest.defects) / total < 0.20


def test_a_new_catalog_entry_gets_rule_valid_data(tmp_path: Path) -> None:
    manifest = generate(
        tmp_path,
        rows=900,
        seed=5,
        city=CITY,
        catalog={NEW_ENTRY.dataset_id: NEW_ENTRY},
        as_of=AS_OF,
        defect_rate=0.2,
        periods=2,
    )
    assert [f.period for f in manifest.files[:2]] == ["2023", "2024"]
    for record in manifest.files:
        found = violations_of(tmp_path, record, NEW_ENTRY)
        assert found == manifest_defects(manifest, record.path), record.path
    kinds = set(manifest.defect_counts())
    assert {
        "date_order",
        "id_birth_mismatch",
        "id_gender_mismatch",
        "township_outside_county",
        "out_of_range",
        "duplicate_key",
        "future_date",
    } <= kinds
    frame = read_delivery(tmp_path, manifest.files[0]).rename(columns=NEW_ENTRY.header_map)
    names = frame["student_name"].dropna()
    assert names.str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert (
        frame["home_township"]
        .dropna()
        .isin(CITY.county(manifest.files[0].county_code).townships)
        .mean()
        > 0.8
    )
    assert manifest.pii_columns == {
        "student_enrollment": {
            "student_name": "person_name",
            "student_id_number": "cn_id_number",
            "home_address": "address",
            "guardian_mobile": "cn_mobile_phone",
            "email": "email",
        }
    }


def test_id_prefixes_follow_the_division_code_history(generated) -> None:
    data_dir, manifest, _ = generated
    prefixes: dict[str, set[str]] = {}
    for record in manifest.files:
        if record.dataset_id != "household_registration":
            continue
        ids = read_delivery(data_dir, record).rename(
            columns=CATALOG["household_registration"].header_map
        )["id_number"]
        prefixes.setdefault(record.county_code, set()).update(ids.dropna().str.slice(0, 6))
    for county in CITY.counties:
        for code in county.all_codes:
            assert code in prefixes[county.code], f"{county.name}: no ID with prefix {code}"


# --- layout, periods, volume --------------------------------------------------------------------


def test_files_rows_periods_and_progress(generated) -> None:
    data_dir, manifest, calls = generated
    assert sum(f.rows for f in manifest.files) == 4_000
    assert all(f.rows >= MIN_ROWS_PER_FILE for f in manifest.files)
    assert len(manifest.files) == len(CATALOG) * len(CITY.counties) * 2
    assert calls == [(f.path, f.rows) for f in manifest.files]
    for record in manifest.files:
        entry = CATALOG[record.dataset_id]
        expected_periods = [p.key for p in recent_periods(entry.frequency, AS_OF, 2)]
        assert record.period in expected_periods
        assert re.fullmatch(entry.frequency.period_pattern, record.period)
        assert record.path == (
            f"landing/{record.county_code}/{record.dataset_id}/{record.period}.{record.format}"
        )
        path = data_dir / record.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record.sha256
        frame = read_delivery(data_dir, record)
        assert len(frame) == record.rows
        assert list(frame.columns) == record.header
        assert sorted(record.header) == sorted(item.name for item in entry.items)
        assert record.columns == [entry.header_map[h] for h in record.header]
    catalog_order = {d: [i.name for i in e.items] for d, e in CATALOG.items()}
    shuffled = [f for f in manifest.files if f.header != catalog_order[f.dataset_id]]
    assert 0 < len(shuffled) < len(manifest.files)
    # leftover temporary files never remain
    assert not list(data_dir.rglob("*.part"))


@pytest.mark.parametrize(
    ("frequency", "as_of", "expected"),
    [
        (Frequency.DAILY, date(2025, 3, 1), ["2025-02-27", "2025-02-28"]),
        (Frequency.MONTHLY, date(2025, 3, 15), ["2025-01", "2025-02"]),
        (Frequency.MONTHLY, date(2025, 1, 1), ["2024-11", "2024-12"]),
        (Frequency.QUARTERLY, date(2025, 4, 1), ["2024-Q4", "2025-Q1"]),
        (Frequency.QUARTERLY, date(2025, 3, 31), ["2024-Q3", "2024-Q4"]),
        (Frequency.YEARLY, date(2025, 1, 1), ["2023", "2024"]),
    ],
)
def test_recent_periods_are_complete_before_as_of(frequency, as_of, expected) -> None:
    periods = recent_periods(frequency, as_of, 2)
    assert [p.key for p in periods] == expected
    assert all(p.end < as_of and p.start <= p.end for p in periods)


def test_rows_are_allocated_exactly_with_a_floor() -> None:
    counts = allocate_rows(1_000, [6, 1, 0.3, 3])
    assert sum(counts) == 1_000 and min(counts) >= MIN_ROWS_PER_FILE
    assert counts[0] > counts[3] > counts[1] > counts[2]
    with pytest.raises(ValueError, match="太少"):
        allocate_rows(3 * MIN_ROWS_PER_FILE, [1, 1, 1, 1])


# --- formats and encodings ----------------------------------------------------------------------


def test_encodings_and_formats(generated) -> None:
    data_dir, manifest, _ = generated
    kinds = [(f.format, f.encoding) for f in manifest.files]
    gb = kinds.count(("csv", "gb18030"))
    assert 0.25 <= gb / len(kinds) <= 0.4
    assert ("xlsx", None) in kinds and ("csv", "utf-8") in kinds and ("csv", "utf-8-sig") in kinds
    for record in manifest.files:
        raw = (data_dir / record.path).read_bytes()
        if record.format == "xlsx":
            assert raw[:2] == b"PK"
            continue
        first_line = ",".join(record.header)
        if record.encoding == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            assert raw.decode("gb18030").splitlines()[0] == first_line
        elif record.encoding == "utf-8-sig":
            assert raw.startswith(b"\xef\xbb\xbf")
            assert raw.decode("utf-8-sig").splitlines()[0] == first_line
        else:
            assert not raw.startswith(b"\xef\xbb\xbf")
            assert raw.decode("utf-8").splitlines()[0] == first_line


def test_xlsx_cells_are_text_and_ids_keep_their_digits(generated) -> None:
    data_dir, manifest, _ = generated
    books = [f for f in manifest.files if f.format == "xlsx"]
    id_books = [
        f
        for f in books
        if any(CATALOG[f.dataset_id].item(c).format == "cn_id_number" for c in f.columns)
    ]
    assert id_books, "no xlsx file with an ID column in this draw"
    for record in id_books:
        workbook = openpyxl.load_workbook(data_dir / record.path)
        sheet = workbook.worksheets[0]
        assert sheet.title == CATALOG[record.dataset_id].title[:31]
        entry = CATALOG[record.dataset_id]
        id_cols = [
            i + 1 for i, c in enumerate(record.columns) if entry.item(c).format == "cn_id_number"
        ]
        lengths = []
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert cell.value is None or cell.data_type == "s", (cell.coordinate, cell.value)
            for col in id_cols:
                value = row[col - 1].value
                if value is not None and re.fullmatch(r"\d{17}[\dX]", value):
                    lengths.append(len(value))
        assert lengths and set(lengths) == {18}
        workbook.close()


# --- determinism, manifest, where files go ------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    kwargs = dict(rows=800, city=CITY, catalog=CATALOG, as_of=AS_OF, defect_rate=0.1)
    generate(tmp_path / "a", seed=11, **kwargs)
    generate(tmp_path / "b", seed=11, **kwargs)
    generate(tmp_path / "c", seed=12, **kwargs)
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b
    assert any(name.endswith(".xlsx") for name in a)
    assert a[MANIFEST_PATH.as_posix()] != c[MANIFEST_PATH.as_posix()]
    common = set(a) & set(c)
    assert sum(a[name] != c[name] for name in common) == len(common)


def test_manifest_round_trip(generated) -> None:
    data_dir, manifest, _ = generated
    assert Manifest.load(data_dir) == manifest
    assert Manifest.load(data_dir / MANIFEST_PATH) == manifest
    assert manifest.as_of == AS_OF and manifest.seed == SEED
    for dataset_id, entry in CATALOG.items():
        assert manifest.pii_columns[dataset_id] == {i.column: i.pii for i in entry.items if i.pii}
    for defect in manifest.defects:
        assert defect.kind in DEFECT_KINDS
        record = manifest.file(defect.file)
        assert 2 <= defect.source_row <= record.rows + 1
        assert defect.column in record.columns


def test_regenerating_replaces_a_period_delivered_in_another_format(tmp_path: Path) -> None:
    kwargs = dict(rows=800, city=CITY, catalog=CATALOG, as_of=AS_OF)
    first = generate(tmp_path, seed=1, **kwargs)
    second = generate(tmp_path, seed=2, **kwargs)
    landing = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "landing").rglob("*.*")}
    assert landing == {f.path for f in second.files}
    assert {f.path for f in first.files} != landing  # some period changed format


def test_nothing_is_written_inside_the_repository(generated) -> None:
    data_dir, manifest, _ = generated
    assert not data_dir.resolve().is_relative_to(REPO)
    assert (data_dir / MANIFEST_PATH).is_file()
    assert not (REPO / MANIFEST_PATH).exists()
    for record in manifest.files:
        assert (data_dir / record.path).is_file()
        assert not (REPO / record.path).exists()


def test_colliding_keys_are_redrawn_and_impossible_keys_refused() -> None:
    entry = TOWNSHIP_LEVELS
    county = CITY.county("640521")  # 11 townships × 3 levels = 33 distinct keys
    period = recent_periods(entry.frequency, AS_OF, 1)[0]
    ctx = FileContext(entry, county, CITY, period, AS_OF)
    frame = RowBuilder(ctx, np.random.default_rng(3)).build_unique(30)
    keys = list(zip(frame["township"], frame["level"], strict=True))
    assert len(set(keys)) == 30
    assert set(frame["township"]) <= set(county.townships)
    with pytest.raises(ValueError, match="业务主键"):
        RowBuilder(ctx, np.random.default_rng(3)).build_unique(40)


def test_defects_never_create_unplanned_duplicates(tmp_path: Path) -> None:
    """With a key of few distinct values, a changed value easily equals another row's key."""
    catalog = {TOWNSHIP_LEVELS.dataset_id: TOWNSHIP_LEVELS}
    manifest = generate(
        tmp_path, rows=75, seed=8, city=CITY, catalog=catalog, as_of=AS_OF, defect_rate=0.5
    )
    assert {"duplicate_key", "unknown_enum", "township_outside_county"} <= set(
        manifest.defect_counts()
    )
    for record in manifest.files:
        found = violations_of(tmp_path, record, TOWNSHIP_LEVELS)
        assert found == manifest_defects(manifest, record.path), record.path


def test_invalid_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="defect_rate"):
        generate(tmp_path, rows=1000, seed=1, city=CITY, catalog=CATALOG, defect_rate=0.9)
    with pytest.raises(ValueError, match="太少"):
        generate(tmp_path, rows=10, seed=1, city=CITY, catalog=CATALOG, as_of=AS_OF)
    assert not (tmp_path / MANIFEST_PATH).exists()
