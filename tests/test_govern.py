"""Governance: quarantine, deduplication and reconciliation (a hypothesis property: no row lost or counted twice)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.common.identifiers import (
    id_number_valid,
)
from assets.governance.govern import govern
from assets.governance.rules import (
    evaluate_rules,
)
from tests.governance_frames import (
    AS_OF,
    CATALOG,
    CITY,
    CLEAN,
    COUNTY,
    MAN,
    WOMAN,
    frame_of,
    ident,
)

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


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
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
