"""Quality suites over data: clean partitions pass, each rule kind catches its defect with the right rule id, dimension, count and row."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.common.masking import mask_id_number, mask_phone
from assets.quality.suites import (
    load_suite,
)
from assets.quality.validation import (
    QualityValidator,
)
from tests.quality_frames import (
    CATALOG,
    COUNTY,
    FIRST_ROW,
    OTHER_COUNTY,
    ROWS,
    bank_card,
    clean_frame,
    failing,
    person_id,
    run,
    uscc,
)


@pytest.fixture(scope="module")
def validator() -> QualityValidator:
    return QualityValidator()


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


def test_in_set_and_unique_leave_empty_values_to_the_required_rule(
    validator: QualityValidator,
) -> None:
    """The in-set and unique metrics keep the empty values in the batch (no copy of it) and pass
    them: two empty ID numbers are no duplicate, an empty gender no value outside the code list."""
    frame = clean_frame("household_registration")
    frame.loc[[1, 2], "id_number"] = [None, None]
    frame.loc[[3, 4], "gender"] = [None, "未知"]
    failed = failing(run(validator, frame, "household_registration"))
    assert "household_registration.unique.id_number" not in failed
    assert failed["household_registration.required.id_number"].failed_count == 2
    assert failed["household_registration.required.gender"].failed_count == 1
    enum = failed["household_registration.enum.gender"]
    assert enum.failed_count == 1
    assert [e.source_row for e in enum.examples] == [6]
    # and a repeated value next to the empties is still every copy's failure
    frame.loc[5, "id_number"] = frame.loc[6, "id_number"]
    unique = failing(run(validator, frame, "household_registration"))[
        "household_registration.unique.id_number"
    ]
    assert (unique.failed_count, [e.source_row for e in unique.examples]) == (2, [7, 8])


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
