"""Hard rules (each catching its violation, none firing on clean data) and governance: quarantine,
deduplication and reconciliation (a hypothesis property: no row lost or counted twice)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.city import load_city
from assets.common.identifiers import (
    id_check_char,
    id_number_valid,
    luhn_check_digit,
    uscc_check_char,
)
from assets.common.quality import Dimension
from assets.governance.govern import govern
from assets.governance.rules import (
    evaluate_rules,
    rule_registry,
    type_frame,
    violation_summary,
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


# --- govern ------------------------------------------------------------------------------------------


def test_quarantine_keeps_provenance_and_reasons() -> None:
    entry = CATALOG["household_registration"]
    bad = CLEAN["household_registration"] | {
        "id_number": WOMAN,
        "gender": "女",
        "birth_date": "1985/12/31",
        "name": None,
        "phone": "1.38E+10",
    }
    frame = frame_of(entry, [CLEAN["household_registration"], bad])
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert len(result.governed) == 1 and len(result.quarantine) == 1
    q = result.quarantine.iloc[0]
    assert q["source_row"] == 3 and q["batch_id"] == "batch-1"
    assert q["rule_ids"].split(";") == ["required:name", "excel_damaged:phone"]
    assert q["reason_codes"].split(";") == ["missing_required", "excel_damaged"]
    assert set(q["dimensions"].split(";")) == {"完整性", "准确性"}
    assert "姓名" in q["reasons"]
    # quarantine holds provenance, not the delivered values
    assert not set(entry.columns) & set(result.quarantine.columns)
    governed = result.governed.iloc[0]
    assert governed["birth_date"] == pd.Timestamp("1990-01-01")
    assert result.violations["required:name"] == 1


def test_exact_duplicates_keep_latest_delivery() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(
        entry,
        [row, row | {"name": " 张三 "}, row],
        ingested_at=[
            pd.Timestamp("2024-06-01T08:00Z"),
            pd.Timestamp("2024-06-03T08:00Z"),
            pd.Timestamp("2024-06-02T08:00Z"),
        ],
        batch_id=["b1", "b3", "b2"],
    )
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert result.governed["batch_id"].tolist() == ["b3"]
    dups = result.duplicates.sort_values("batch_id")
    assert dups["batch_id"].tolist() == ["b1", "b2"]
    assert set(dups["duplicate_kind"]) == {"exact"}
    assert set(dups["kept_batch_id"]) == {"b3"} and set(dups["kept_source_row"]) == {3}


def test_repeated_business_key_keeps_latest_then_highest_row() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(
        entry,
        [
            row | {"address": "旧地址滨河镇"},
            row | {"address": "新地址文昌镇"},
            row | {"phone": None},
        ],
    )  # same ingested_at: the highest source_row wins
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert result.governed["source_row"].tolist() == [4]
    dups = result.duplicates
    assert sorted(dups["source_row"]) == [2, 3]
    assert set(dups["duplicate_kind"]) == {"business_key"}
    assert set(dups["key_columns"]) == {"id_number"}
    assert set(dups["kept_source_row"]) == {4}
    # the repeated key is shown masked, never in the clear
    assert not id_number_valid(dups["key_masked"].str.removeprefix("id_number=")).any()
    assert dups["key_masked"].str.contains(MAN[-4:]).all()


def test_duplicates_are_scoped_to_county_and_period() -> None:
    entry = CATALOG["medical_institutions"]
    row = CLEAN["medical_institutions"]
    frame = frame_of(entry, [row, row, row], period=["2024-Q1", "2024-Q2", "2024-Q2"])
    frame.loc[2, "county_code"] = "640521"
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert len(result.governed) == 3 and result.duplicates.empty


def test_latest_version_breaking_a_rule_is_quarantined_not_replaced_by_older() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(entry, [row, row | {"gender": "未知"}])
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert result.governed.empty
    assert result.quarantine["source_row"].tolist() == [3]
    assert result.duplicates["source_row"].tolist() == [2]


def test_rows_without_a_business_key_are_not_merged() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(entry, [row | {"id_number": None}, row | {"id_number": None, "name": "李四"}])
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    assert result.duplicates.empty and len(result.quarantine) == 2


def test_reconciliation_per_partition() -> None:
    entry = CATALOG["household_registration"]
    row = CLEAN["household_registration"]
    frame = frame_of(
        entry, [row, row, row | {"name": None}, row], period=["2024-05"] * 3 + ["2024-04"]
    )
    result = govern(frame, entry, city=CITY, as_of=AS_OF)
    table = result.reconciliation.by_partition.set_index("period")
    assert table.loc["2024-05", ["rows_in", "governed", "quarantined", "duplicates"]].tolist() == [
        3,
        0,
        1,
        2,
    ]
    assert table.loc["2024-04", ["rows_in", "governed", "quarantined", "duplicates"]].tolist() == [
        1,
        1,
        0,
        0,
    ]
    assert result.reconciliation.balanced


def test_standardization_reaches_governed_values() -> None:
    entry = CATALOG["household_registration"]
    row = (
        CLEAN["household_registration"]
        | {
            "birth_date": "1990年1月1日",
            "registered_on": "40299",  # Excel serial of 2010-05-01
            "phone": "+86 138-1234-5678",
            "id_number": "６４０５０２" + MAN[6:],
        }
    )
    result = govern(frame_of(entry, [row]), entry, city=CITY, as_of=AS_OF)
    governed = result.governed.iloc[0]
    assert governed["registered_on"] == pd.Timestamp("2010-05-01")
    assert governed["phone"] == "13812345678" and governed["id_number"] == MAN
    assert result.standardized_cells["birth_date"] == 1


# --- reconciliation as a property ------------------------------------------------------------------

HOUSEHOLD = CATALOG["household_registration"]
POOL = [
    CLEAN["household_registration"],
    CLEAN["household_registration"]
    | {"id_number": WOMAN, "gender": "女", "birth_date": "1985-12-31", "name": "李四"},
    CLEAN["household_registration"]
    | {
        "id_number": ident("640502", "20010709", 57),
        "birth_date": "2001/7/9",
        "name": "王五",
        "registered_on": "2002-01-01",
    },
]
DAMAGE: list[dict[str, str | None]] = [
    {},
    {},
    {"name": None},
    {"name": "  "},
    {"gender": "女"},
    {"phone": "1.38E+10"},
    {"birth_date": "1990-13-01"},
    {"region_code": "640522"},
    {"id_number": None},
    {"address": " 沙坡头区滨河镇黄河路1号 "},
]

row_strategy = st.fixed_dictionaries(
    {
        "base": st.sampled_from(range(len(POOL))),
        "damage": st.sampled_from(range(len(DAMAGE))),
        "county": st.sampled_from([COUNTY, "640521"]),
        "period": st.sampled_from(["2024-04", "2024-05"]),
        "ingested": st.integers(0, 3),
        "file": st.sampled_from(["a.csv", "b.xlsx"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=0, max_size=40))
def test_reconciliation_property(specs: list[dict]) -> None:
    rows = [POOL[s["base"]] | {"region_code": s["county"]} | DAMAGE[s["damage"]] for s in specs]
    frame = frame_of(
        HOUSEHOLD,
        rows,
        county_code=[s["county"] for s in specs],
        period=[s["period"] for s in specs],
        ingested_at=[
            pd.Timestamp("2024-06-01T00:00Z") + pd.Timedelta(hours=s["ingested"]) for s in specs
        ],
        source_file=[s["file"] for s in specs],
        source_row=list(range(2, len(specs) + 2)),
    )
    result = govern(frame, HOUSEHOLD, city=CITY, as_of=AS_OF)
    rec = result.reconciliation
    assert rec.rows_in == len(specs)
    assert rec.rows_in == rec.governed + rec.quarantined + rec.duplicates
    assert rec.balanced

    def identities(table: pd.DataFrame) -> list[tuple[str, int]]:
        return list(zip(table["source_file"], table["source_row"].astype(int), strict=True))

    out = (
        identities(result.governed) + identities(result.quarantine) + identities(result.duplicates)
    )
    assert len(out) == len(set(out)), "a row was counted twice"
    assert set(out) == set(identities(frame)), "a row was lost"
    by_partition = rec.by_partition
    assert by_partition["rows_in"].sum() == len(specs)
    assert (
        by_partition["rows_in"]
        == by_partition["governed"] + by_partition["quarantined"] + by_partition["duplicates"]
    ).all()
    # governed rows are unique per business key within a partition, and all pass every rule
    governed = result.governed
    assert not governed.duplicated(["county_code", "period", "id_number"]).any()
    assert not evaluate_rules(governed, HOUSEHOLD, city=CITY, as_of=AS_OF).to_numpy().any()
