"""Quality suites: generated from the catalog, loadable by GE, and each rule kind catching its defect
with the right rule id, dimension, count and row, without raw personal data in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.city import load_city
from assets.common.identifiers import (
    id_check_char,
    id_number_valid,
    luhn_check_digit,
    luhn_valid,
    mobile_valid,
    uscc_check_char,
)
from assets.common.masking import mask_id_number, mask_phone
from assets.common.quality import Dimension, Severity
from assets.common.reference import ENUM_REFERENCES
from assets.quality.suites import (
    SUITES_DIR,
    load_suite,
    stale_suites,
    suite_path,
    suite_text,
    write_suites,
)
from assets.quality.validation import (
    QualityValidator,
    ValidationOutcome,
    build_data_docs,
    validation_page,
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


@pytest.fixture(scope="module")
def validator() -> QualityValidator:
    return QualityValidator()


def run(
    validator: QualityValidator, frame: pd.DataFrame, dataset_id: str, **kw
) -> ValidationOutcome:
    params = {"county_code": COUNTY, "as_of": AS_OF} | kw
    return validator.validate(frame, dataset_id, **params)


def failing(outcome: ValidationOutcome) -> dict[str, object]:
    return {e.rule_id: e for e in outcome.failures}


# --- suite files --------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset_id", sorted(CATALOG))
def test_suite_file_matches_what_the_catalog_generates(dataset_id: str) -> None:
    path = suite_path(dataset_id)
    assert path.exists(), f"{path} missing: run python -m assets.quality.suites --write"
    assert path.read_text(encoding="utf-8") == suite_text(CATALOG[dataset_id])


def test_no_suite_file_without_a_catalog_entry() -> None:
    assert {p.stem for p in SUITES_DIR.glob("*.json")} == set(CATALOG)
    assert stale_suites(CATALOG) == []


def test_write_suites_detects_and_repairs_drift(tmp_path: Path) -> None:
    write_suites(CATALOG, tmp_path)
    (tmp_path / "orphan.json").write_text("{}", encoding="utf-8")
    target = suite_path("market_entities", tmp_path)
    target.write_text(target.read_text(encoding="utf-8").replace("高", "低"), encoding="utf-8")
    assert stale_suites(CATALOG, tmp_path) == ["market_entities"]
    write_suites(CATALOG, tmp_path)
    assert stale_suites(CATALOG, tmp_path) == []
    assert not (tmp_path / "orphan.json").exists()


@pytest.mark.parametrize("dataset_id", sorted(CATALOG))
def test_suite_loads_in_ge_with_complete_meta(dataset_id: str) -> None:
    entry = CATALOG[dataset_id]
    suite = load_suite(dataset_id)
    context = gx.get_context(mode="ephemeral")
    stored = context.suites.add(suite)
    assert stored.name == dataset_id
    rule_ids = [e.meta["rule_id"] for e in stored.expectations]
    assert len(rule_ids) == len(set(rule_ids))
    dimensions = {d.value for d in Dimension}
    severities = {s.value for s in Severity}
    for expectation in stored.expectations:
        meta = expectation.meta
        assert meta["rule_id"].startswith(f"{dataset_id}.")
        assert meta["dimension"] in dimensions
        assert meta["severity"] in severities
        assert expectation.severity.value == Severity(meta["severity"]).ge_severity
        assert set(meta["columns"]) <= set(entry.columns)
        assert re.search(r"[\u4e00-\u9fff]", meta["fix"])
        assert expectation.description
    # every catalog rule is represented
    kinds = {m.meta["kind"] for m in stored.expectations}
    assert "columns_present" in kinds
    for item in entry.items:
        rules = {e.meta["kind"] for e in stored.expectations if e.meta["columns"] == [item.column]}
        assert ("required" in rules) == item.required
        assert ("enum" in rules) == bool(item.enum or item.enum_ref)
        assert ("not_future" in rules) == item.not_future
        assert ("unique" in rules) == item.unique
        assert ("range" in rules) == (item.min is not None or item.max is not None)
        assert ("format" in rules) == (item.format is not None or item.type != "string")
    for rule in entry.rules:
        assert f"{dataset_id}.{rule.check}.{'+'.join(rule.columns)}" in rule_ids


def test_partition_values_are_suite_parameters() -> None:
    text = suite_path("agricultural_subsidies").read_text(encoding="utf-8")
    raw = json.loads(text)
    kwargs = [e["kwargs"] for e in raw["expectations"]]
    assert {"$PARAMETER": "townships"} in [k.get("value_set") for k in kwargs]
    assert {"$PARAMETER": "as_of"} in [k.get("as_of") for k in kwargs]
    assert not any(t in text for t in CITY.county(COUNTY).townships)
    assert COUNTY not in text


# --- clean data ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset_id", sorted(CATALOG))
def test_clean_partition_passes_every_expectation(
    validator: QualityValidator, dataset_id: str
) -> None:
    outcome = run(validator, clean_frame(dataset_id), dataset_id)
    assert [e.rule_id for e in outcome.failures] == []
    assert outcome.success
    assert len(outcome.expectations) == len(load_suite(dataset_id).expectations)
    assert all(e.error is None for e in outcome.expectations)
    assert outcome.period == "2025-05" and outcome.row_count == ROWS


def test_other_county_passes_with_its_own_parameters(validator: QualityValidator) -> None:
    frame = clean_frame("agricultural_subsidies", county=OTHER_COUNTY)
    assert run(validator, frame, "agricultural_subsidies", county_code=OTHER_COUNTY).success
    wrong = failing(run(validator, frame, "agricultural_subsidies", county_code=COUNTY))
    assert wrong["agricultural_subsidies.township_in_county.township"].failed_count == ROWS


# --- each rule kind catches its defect ----------------------------------------------------------

# (dataset, {row index: {column: value}}, expected failing rule ids, dimension of the first one)
CASES = [
    ("household_registration", {2: {"name": None}}, ["required.name"], "完整性"),
    ("household_registration", {5: {"address": "   "}}, ["required.address"], "完整性"),
    ("household_registration", {0: {"id_number": " "}}, ["required.id_number"], "完整性"),
    (
        "household_registration",
        {1: {"id_number": person_id(1)[:-1] + ("0" if person_id(1)[-1] != "0" else "1")}},
        ["format.id_number"],
        "规范性",
    ),
    (
        "market_entities",
        {3: {"uscc": uscc(3)[:-1] + ("A" if uscc(3)[-1] != "A" else "B")}},
        ["format.uscc"],
        "规范性",
    ),
    (
        "agricultural_subsidies",
        {4: {"bank_card": bank_card(4)[:-1] + str((int(bank_card(4)[-1]) + 1) % 10)}},
        ["format.bank_card"],
        "规范性",
    ),
    ("agricultural_subsidies", {0: {"phone": "12900000000"}}, ["format.phone"], "规范性"),
    ("medical_institutions", {6: {"phone": "7012345"}}, ["format.phone"], "规范性"),
    (
        "market_entities",
        {2: {"region_code": "64052A"}},
        ["format.region_code", "region_is_county.region_code"],
        "规范性",
    ),
    ("market_entities", {7: {"industry_code": "c1511"}}, ["format.industry_code"], "规范性"),
    (
        "real_estate_registration",
        {1: {"certificate_no": "宁2025中宁县不动产权第1号"}},
        ["format.certificate_no"],
        "规范性",
    ),
    (
        "real_estate_registration",
        {3: {"owner_id_number": person_id(3)[:-1] + ("0" if person_id(3)[-1] != "0" else "1")}},
        ["format.owner_id_number"],
        "规范性",
    ),
    ("household_registration", {4: {"birth_date": "1954/3/15"}}, ["format.birth_date"], "规范性"),
    ("petition_records", {0: {"accepted_on": "20200115"}}, ["format.accepted_on"], "规范性"),
    ("agricultural_subsidies", {5: {"amount": "120元"}}, ["format.amount"], "规范性"),
    ("medical_institutions", {2: {"beds": "1.5"}}, ["format.beds"], "规范性"),
    ("household_registration", {3: {"gender": "男性"}}, ["enum.gender"], "规范性"),
    ("household_registration", {6: {"ethnicity": "汉"}}, ["enum.ethnicity"], "规范性"),
    ("agricultural_subsidies", {1: {"amount": "0"}}, ["range.amount"], "准确性"),
    ("medical_institutions", {0: {"longitude": "120.5"}}, ["range.longitude"], "准确性"),
    (
        "market_entities",
        {4: {"registered_capital": "-1"}},
        ["range.registered_capital"],
        "准确性",
    ),
    ("agricultural_subsidies", {2: {"paid_on": "2099-01-01"}}, ["not_future.paid_on"], "时效性"),
    (
        "household_registration",
        {1: {"birth_date": "1951-03-16"}},
        ["id_birth_date.id_number+birth_date"],
        "一致性",
    ),
    ("household_registration", {2: {"gender": "男"}}, ["id_gender.id_number+gender"], "一致性"),
    (
        "household_registration",
        {5: {"registered_on": "1950-01-01"}},
        ["date_order.birth_date+registered_on"],
        "时效性",
    ),
    (
        "real_estate_registration",
        {6: {"region_code": OTHER_COUNTY}},
        ["region_is_county.region_code"],
        "一致性",
    ),
    (
        "agricultural_subsidies",
        {3: {"township": "海城镇"}},
        ["township_in_county.township"],
        "一致性",
    ),
    (
        "social_insurance_enrollment",
        {1: {"employer_uscc": uscc(1)}, 0: {"employer_uscc": None}},
        ["empty_iff.employer_uscc+insurance_type"],
        "一致性",
    ),
]


@pytest.mark.parametrize(
    ("dataset_id", "edits", "rules", "dimension"),
    CASES,
    ids=[f"{c[0]}:{c[2][0]}" for c in CASES],
)
def test_each_rule_kind_fails_on_its_violation(
    validator: QualityValidator,
    dataset_id: str,
    edits: dict[int, dict[str, str | None]],
    rules: list[str],
    dimension: str,
) -> None:
    frame = clean_frame(dataset_id)
    if dataset_id == "social_insurance_enrollment":  # row 0 employee type, row 1 resident type
        frame.loc[0, "insurance_type"] = "企业职工基本养老保险"
        frame.loc[1, "insurance_type"] = "城乡居民基本医疗保险"
    for index, changes in edits.items():
        for column, value in changes.items():
            frame.loc[index, column] = value
    outcome = run(validator, frame, dataset_id)
    failed = failing(outcome)
    expected = {f"{dataset_id}.{r}" for r in rules}
    assert set(failed) == expected
    first = failed[f"{dataset_id}.{rules[0]}"]
    assert first.dimension == dimension
    assert first.failed_count == len(edits)
    assert first.total == ROWS
    assert first.percent == pytest.approx(len(edits) / ROWS * 100, abs=1e-3)
    assert [e.source_row for e in first.examples] == sorted(FIRST_ROW + i for i in edits)
    assert first.fix and first.severity in {"高", "中", "低"}


def test_blank_optional_value_is_empty_not_malformed(validator: QualityValidator) -> None:
    frame = clean_frame("household_registration")
    frame.loc[[1, 2], "phone"] = [None, "  "]
    assert run(validator, frame, "household_registration").success


def test_not_future_uses_the_as_of_parameter(validator: QualityValidator) -> None:
    frame = clean_frame("agricultural_subsidies")
    frame.loc[2, "paid_on"] = "2025-07-01"
    assert not run(validator, frame, "agricultural_subsidies", as_of="2025-06-30").success
    assert run(validator, frame, "agricultural_subsidies", as_of="2025-07-01").success


def test_range_bounds_follow_min_exclusive(validator: QualityValidator) -> None:
    capital = clean_frame("market_entities")
    capital.loc[0, "registered_capital"] = "0"  # min 0 inclusive
    assert run(validator, capital, "market_entities").success
    base = clean_frame("social_insurance_enrollment")
    base.loc[0, "contribution_base"] = "0"  # min 0 exclusive
    assert "social_insurance_enrollment.range.contribution_base" in failing(
        run(validator, base, "social_insurance_enrollment")
    )


def test_duplicates_flag_every_copy(validator: QualityValidator) -> None:
    frame = clean_frame("household_registration")
    catalog_columns = CATALOG["household_registration"].columns
    frame.loc[5, catalog_columns] = frame.loc[1, catalog_columns].to_numpy()
    failed = failing(run(validator, frame, "household_registration"))
    assert set(failed) == {"household_registration.unique.id_number"}
    unique = failed["household_registration.unique.id_number"]
    assert (unique.failed_count, unique.dimension, unique.severity) == (2, "准确性", "高")
    assert [e.source_row for e in unique.examples] == [3, 7]
    assert {e.value for e in unique.examples} == {mask_id_number(pd.Series([person_id(1)]))[0]}


def test_business_key_duplicates(validator: QualityValidator) -> None:
    frame = clean_frame("agricultural_subsidies")
    columns = CATALOG["agricultural_subsidies"].columns
    frame.loc[6, columns] = frame.loc[0, columns].to_numpy()
    failed = failing(run(validator, frame, "agricultural_subsidies"))
    rule = "agricultural_subsidies.business_key.id_number+subsidy_type+paid_on"
    assert set(failed) == {rule}
    assert failed[rule].failed_count == 2
    assert [e.source_row for e in failed[rule].examples] == [2, 8]


def test_missing_column_fails_columns_present_at_the_header_row(
    validator: QualityValidator,
) -> None:
    frame = clean_frame("petition_records").drop(columns=["phone"])
    outcome = run(validator, frame, "petition_records")
    failed = failing(outcome)
    present = failed["petition_records.columns_present.table"]
    assert (present.failed_count, present.dimension) == (1, "完整性")
    assert present.examples[0].source_row == 1 and "联系电话" in present.examples[0].value
    phone = failed["petition_records.format.phone"]
    assert phone.error and "Traceback" not in phone.error
    [ge] = [
        r
        for r in outcome.ge_result["results"]
        if r["expectation_config"]["meta"]["rule_id"] == "petition_records.format.phone"
    ]
    assert ge["exception_info"]["exception_traceback"] is None


def test_examples_are_capped_and_masked(validator: QualityValidator) -> None:
    frame = clean_frame("petition_records", rows=12)
    raw = [f"12{i:09d}" for i in range(12)]
    frame["phone"] = raw
    outcome = run(validator, frame, "petition_records")
    phone = failing(outcome)["petition_records.format.phone"]
    assert phone.failed_count == 12 and phone.severity == "低"
    assert [e.source_row for e in phone.examples] == list(range(2, 7))
    assert [e.value for e in phone.examples] == list(mask_phone(pd.Series(raw[:5])))


def test_empty_partition_passes(validator: QualityValidator) -> None:
    outcome = run(validator, clean_frame("market_entities").iloc[0:0], "market_entities")
    assert outcome.success and outcome.row_count == 0
    assert all(e.failed_count == 0 and e.percent == 0.0 for e in outcome.expectations)


def test_frame_without_source_row_is_refused(validator: QualityValidator) -> None:
    with pytest.raises(ValueError, match="source_row"):
        run(
            validator,
            clean_frame("petition_records").drop(columns=["source_row"]),
            "petition_records",
        )


# --- no raw personal data anywhere ----------------------------------------------------------------


def _defective_partitions() -> list[tuple[str, pd.DataFrame, set[str]]]:
    """Partitions where rows holding ID numbers, phones and bank cards fail several rules."""
    out = []
    for dataset_id in sorted(CATALOG):
        entry = CATALOG[dataset_id]
        frame = clean_frame(dataset_id, rows=10)
        for column in entry.columns:
            item = entry.item(column)
            if item.enum:
                frame.loc[[0, 3], column] = "错误值"
            if item.type == "date":
                frame.loc[[1], column] = "2099-01-01"
        if "id_number" in frame.columns:  # duplicates and a broken check digit
            frame.loc[4, "id_number"] = frame.loc[5, "id_number"]
        for column in ("phone", "bank_card"):
            if column in frame.columns:
                frame.loc[[2, 6], column] = frame.loc[[2, 6], column].str.slice(0, -1) + "9"
        raw = set()
        for column in entry.columns:
            if entry.item(column).pii in ("cn_id_number", "cn_mobile_phone", "bank_card"):
                raw |= {v for v in frame[column].dropna()}
        frame.loc[7, "matter" if "matter" in frame.columns else entry.columns[0]] = (
            f"来电{person_id(9)}"
        )
        raw.add(person_id(9))
        out.append((dataset_id, frame, raw))
    return out


def _leaked(text: str, raw: set[str]) -> list[str]:
    runs = pd.Series(re.findall(r"\d+X?", text), dtype=object)
    if runs.empty:
        return []
    valid = id_number_valid(runs) | mobile_valid(runs) | luhn_valid(runs)
    return sorted({r for r in runs[valid] if r in raw} | {r for r in raw if r in text})


def test_leak_scan_detects_raw_values() -> None:
    raw_id, raw_card = person_id(3), bank_card(3)
    assert _leaked(f"第3行 {raw_id} 与 {raw_card}", {raw_id, raw_card}) == sorted(
        [raw_id, raw_card]
    )
    masked = mask_id_number(pd.Series([raw_id]))[0]
    assert _leaked(f"第3行 {masked}", {raw_id}) == []


def test_no_raw_personal_data_in_outcome_ge_result_or_data_docs(
    validator: QualityValidator, tmp_path: Path
) -> None:
    outcomes = []
    for dataset_id, frame, raw in _defective_partitions():
        outcome = run(validator, frame, dataset_id)
        assert not outcome.success
        outcomes.append((outcome, raw))
        assert _leaked(json.dumps(outcome.to_dict(), ensure_ascii=False), raw) == []
        assert _leaked(json.dumps(outcome.ge_result, ensure_ascii=False, default=str), raw) == []
        assert _leaked(json.dumps(outcome.ge_object.to_json_dict(), default=str), raw) == []
    index = build_data_docs([o for o, _ in outcomes], tmp_path / "docs")
    assert index.exists()
    all_raw = set().union(*(raw for _, raw in outcomes))
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert len(pages) >= 1 + 2 * len(outcomes)
    for page in pages:
        assert _leaked(page.read_text(encoding="utf-8"), all_raw) == [], page


def test_masked_examples_reach_the_ge_result(validator: QualityValidator) -> None:
    frame = clean_frame("household_registration")
    broken = person_id(1)[:-1] + ("0" if person_id(1)[-1] != "0" else "1")
    frame.loc[1, "id_number"] = broken
    outcome = run(validator, frame, "household_registration")
    [result] = [
        r
        for r in outcome.ge_result["results"]
        if r["expectation_config"]["meta"]["rule_id"] == "household_registration.format.id_number"
    ]
    masked = mask_id_number(pd.Series([broken]))[0]
    assert result["result"]["partial_unexpected_index_list"] == [
        {"source_row": 3, "id_number": masked}
    ]
    assert result["result"]["partial_unexpected_list"] == [masked]


# --- Data Docs ------------------------------------------------------------------------------------


def test_data_docs_show_the_latest_validations(validator: QualityValidator, tmp_path: Path) -> None:
    site = tmp_path / "data_docs"
    frame = clean_frame("medical_institutions")
    first = run(validator, frame, "medical_institutions")
    build_data_docs([first], site)
    first_page = validation_page(first, site)
    assert first_page.exists()

    frame.loc[0, "grade"] = "特级"
    second = run(validator, frame, "medical_institutions")
    index = build_data_docs([first, second], site)
    assert index == site / "index.html" and index.exists()
    page = validation_page(second, site)
    assert page.exists() and not first_page.exists()
    html = page.read_text(encoding="utf-8")
    assert "「机构级别」取值为" in html and "特级" in html
    suite_page = site / "expectations" / "medical_institutions.html"
    assert "整改方法" in suite_page.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".data_docs.*"))
