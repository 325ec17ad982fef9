"""Hard rules: the registry describes every rule, each rule catches its violation, none fires on clean data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from assets.common.quality import Dimension
from assets.governance.rules import (
    evaluate_and_type,
    evaluate_rules,
    rule_registry,
    type_frame,
    violation_summary,
)
from assets.governance.standardize import standardize
from tests.governance_frames import (
    AS_OF,
    CATALOG,
    CITY,
    CLEAN,
    MAN,
    WOMAN,
    fired,
    frame_of,
    ident,
    violated,
)
from tests.helpers import staged_deliveries

# --- the registry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", sorted(CATALOG))
def test_registry_describes_every_rule(dataset: str) -> None:
    entry = CATALOG[dataset]
    registry = rule_registry(entry)
    violations = violated(entry, frame_of(entry, [CLEAN[dataset]]))
    assert list(violations.columns) == list(registry)
    for rule_id, spec in registry.items():
        assert spec.rule_id == rule_id
        assert set(spec.columns) <= set(entry.columns)
        assert spec.dimension in set(Dimension)
        assert len(str(spec.reason_code)) <= 32
        assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.description)
    # every catalog declaration became a rule
    for item in entry.items:
        if item.required:
            assert f"required:{item.column}" in registry
        if item.format:
            assert f"format:{item.column}" in registry
    assert len([r for r in registry.values() if r.kind in {r.check for r in entry.rules}]) == len(
        entry.rules
    )


@pytest.mark.parametrize("dataset", sorted(CATALOG))
def test_clean_rows_violate_nothing(dataset: str) -> None:
    entry = CATALOG[dataset]
    violations = violated(entry, frame_of(entry, [CLEAN[dataset]]))
    assert fired(violations) == set()


# --- each rule catches its violation --------------------------------------------------------------

CASES: list[tuple[str, dict[str, str | None], set[str]]] = [
    ("household_registration", {"name": None}, {"required:name"}),
    ("household_registration", {"name": "   "}, {"required:name"}),
    ("household_registration", {"birth_date": "1990-02-30"}, {"type:birth_date"}),
    ("household_registration", {"id_number": "6.40502E+17"}, {"excel_damaged:id_number"}),
    ("household_registration", {"phone": "13812345678.0"}, {"excel_damaged:phone"}),
    ("household_registration", {"id_number": MAN[:-1] + "0"}, {"format:id_number"}),
    ("household_registration", {"id_number": MAN[:15]}, {"format:id_number"}),
    ("household_registration", {"gender": "未知"}, {"enum:gender"}),
    ("household_registration", {"ethnicity": "汉"}, {"enum:ethnicity"}),
    ("household_registration", {"registered_on": "2099-01-01"}, {"not_future:registered_on"}),
    (
        "household_registration",
        {"birth_date": "1990-01-02"},
        {"id_birth_date:id_number+birth_date"},
    ),
    ("household_registration", {"gender": "女"}, {"id_gender:id_number+gender"}),
    (
        "household_registration",
        {"registered_on": "1989-12-31"},
        {"date_order:birth_date+registered_on"},
    ),
    ("household_registration", {"region_code": "640521"}, {"region_is_county:region_code"}),
    ("household_registration", {"region_code": "64050"}, {"format:region_code"}),
    ("household_registration", {"phone": "12345678901"}, {"format:phone"}),
    ("agricultural_subsidies", {"bank_card": "6222020200112233440"}, {"format:bank_card"}),
    ("agricultural_subsidies", {"amount": "0"}, {"min:amount"}),
    ("agricultural_subsidies", {"amount": "-5"}, {"min:amount"}),
    ("agricultural_subsidies", {"amount": "一千"}, {"type:amount"}),
    ("agricultural_subsidies", {"subsidy_type": "其他补贴"}, {"enum:subsidy_type"}),
    ("agricultural_subsidies", {"township": "宁安镇"}, {"township_in_county:township"}),
    ("agricultural_subsidies", {"paid_on": "2024-07-01"}, {"not_future:paid_on"}),
    ("market_entities", {"uscc": "91640502MA76ABCD10"}, {"format:uscc"}),
    ("market_entities", {"industry_code": "Z99"}, {"format:industry_code"}),
    ("market_entities", {"status": "存活"}, {"enum:status"}),
    ("market_entities", {"registered_capital": "-1"}, {"min:registered_capital"}),
    ("medical_institutions", {"longitude": "110.5"}, {"max:longitude"}),
    ("medical_institutions", {"latitude": "30"}, {"min:latitude"}),
    ("medical_institutions", {"beds": "3.5"}, {"type:beds"}),
    ("medical_institutions", {"beds": "-1"}, {"min:beds"}),
    ("medical_institutions", {"phone": "7012345"}, {"format:phone"}),
    ("real_estate_registration", {"certificate_no": "不动产权第1号"}, {"format:certificate_no"}),
    ("real_estate_registration", {"owner_id_number": "A1234"}, {"format:owner_id_number"}),
    ("real_estate_registration", {"area_sqm": "0"}, {"min:area_sqm"}),
    (
        "social_insurance_enrollment",
        {"insurance_type": "城乡居民基本养老保险"},
        {"empty_iff:employer_uscc+insurance_type"},
    ),
    (
        "social_insurance_enrollment",
        {"employer_uscc": None},
        {"empty_iff:employer_uscc+insurance_type"},
    ),
    ("petition_records", {"status": "已撤回"}, {"enum:status"}),
]


@pytest.mark.parametrize(("dataset", "change", "expected"), CASES)
def test_each_rule_catches_its_violation(
    dataset: str, change: dict[str, str | None], expected: set[str]
) -> None:
    entry = CATALOG[dataset]
    violations = violated(entry, frame_of(entry, [CLEAN[dataset] | change]))
    # exactly the expected rules: no rule fires twice for one problem, none is silent
    assert fired(violations) == expected


def test_every_rule_kind_is_exercised() -> None:
    kinds = {rule_id.split(":")[0] for _, _, expected in CASES for rule_id in expected}
    all_kinds = {spec.kind for e in CATALOG.values() for spec in rule_registry(e).values()}
    assert all_kinds - kinds == {"unique"}  # unique has its own tests below


def test_city_residents_pass_empty_iff() -> None:
    entry = CATALOG["social_insurance_enrollment"]
    row = CLEAN["social_insurance_enrollment"] | {
        "insurance_type": "城乡居民基本医疗保险",
        "employer_uscc": None,
    }
    assert fired(violated(entry, frame_of(entry, [row]))) == set()


def test_unique_within_county_and_period_only() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(
        entry, [row, row, row, row], period=["2024-05", "2024-05", "2024-04", "2024-04"]
    )
    frame.loc[3, "county_code"] = "640521"
    frame.loc[3, "region_code"] = "640521"
    violations = violated(entry, frame)
    assert violations["unique:id_number"].tolist() == [True, True, False, False]


def test_not_future_is_relative_to_as_of() -> None:
    entry = CATALOG["agricultural_subsidies"]
    frame = standardize(frame_of(entry, [CLEAN["agricultural_subsidies"]]), entry).frame
    early = evaluate_rules(frame, entry, city=CITY, as_of=date(2024, 3, 14))
    on_day = evaluate_rules(frame, entry, city=CITY, as_of=date(2024, 3, 15))
    assert early["not_future:paid_on"].iloc[0] and not on_day["not_future:paid_on"].iloc[0]


def test_id_with_historical_prefix_is_still_valid_and_consistent() -> None:
    entry = CATALOG["household_registration"]
    old = ident("642123", "19600315", 35)
    row = CLEAN["household_registration"] | {
        "id_number": old,
        "birth_date": "1960-03-15",
        "gender": "男",
    }
    assert fired(violated(entry, frame_of(entry, [row]))) == set()


def test_delivered_text_is_judged_as_delivered() -> None:
    # without standardization a non-ISO date is not a date: the quality stage can measure that
    entry = CATALOG["household_registration"]
    frame = frame_of(entry, [CLEAN["household_registration"] | {"birth_date": "1990/1/1"}])
    raw = evaluate_rules(frame, entry, city=CITY, as_of=AS_OF)
    assert fired(raw) == {"type:birth_date"}
    assert fired(violated(entry, frame)) == set()


def test_rules_accept_a_typed_frame() -> None:
    entry = CATALOG["household_registration"]
    frame = standardize(frame_of(entry, [CLEAN["household_registration"]]), entry).frame
    typed = type_frame(frame, entry)
    assert str(typed["birth_date"].dtype).startswith("datetime64")
    assert fired(evaluate_rules(typed, entry, city=CITY, as_of=AS_OF)) == set()


def test_region_rule_needs_county_code() -> None:
    entry = CATALOG["household_registration"]
    frame = frame_of(entry, [CLEAN["household_registration"]]).drop(columns=["county_code"])
    with pytest.raises(ValueError, match="county_code"):
        evaluate_rules(frame, entry, city=CITY, as_of=AS_OF)


def test_typing() -> None:
    entry = CATALOG["medical_institutions"]
    frame = frame_of(entry, [CLEAN["medical_institutions"], CLEAN["medical_institutions"]])
    frame.loc[1, "beds"] = "12.0"
    frame.loc[1, "longitude"] = "1.052E2"
    typed = type_frame(standardize(frame, entry).frame, entry)
    assert typed["beds"].dtype == "Int64" and typed["beds"].tolist() == [30, 12]
    assert typed["longitude"].dtype == "Float64" and typed["longitude"].tolist() == [105.19, 105.2]


def test_violation_summary_counts() -> None:
    entry = CATALOG["household_registration"]
    rows = [CLEAN["household_registration"] | {"gender": "x"}] * 2 + [
        CLEAN["household_registration"]
    ]
    frame = frame_of(entry, rows)
    frame.loc[1, "id_number"] = WOMAN  # keep ids distinct
    frame.loc[1, "birth_date"] = "1985-12-31"
    summary = violation_summary(violated(entry, frame), rule_registry(entry)).set_index("rule_id")
    assert summary.loc["enum:gender", "violations"] == 2
    assert summary.loc["enum:gender", "dimension"] == "规范性"
    assert summary.loc["required:name", "violations"] == 0


def test_the_typed_rows_the_rules_read_are_the_governed_rows(tmp_path) -> None:
    """``govern`` keeps the rows the rules typed (``evaluate_and_type``) instead of typing the kept
    rows again: typing goes value by value, so both are the same frame, on generated deliveries
    with defects of every dataset."""
    kept = dropped = 0
    deliveries = staged_deliveries(
        tmp_path, rows=2_000, seed=11, defect_rate=0.3, catalog=CATALOG, city=CITY, as_of=AS_OF
    )
    for landing, staged in deliveries:
        entry = CATALOG[landing.dataset_id]
        text = standardize(staged, entry).frame
        violations, typed = evaluate_and_type(text, entry, city=CITY, as_of=AS_OF)
        assert violations.equals(evaluate_rules(text, entry, city=CITY, as_of=AS_OF))
        ok = ~violations.any(axis=1)
        pd.testing.assert_frame_equal(typed.loc[ok], type_frame(text.loc[ok], entry))
        kept, dropped = kept + int(ok.sum()), dropped + int((~ok).sum())
    assert kept > 1_000 and dropped > 50  # rows go both ways: the comparison is not vacuous
