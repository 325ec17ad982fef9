"""Quality outputs hold no raw personal data (outcomes, GE results, Data Docs); Data Docs show the latest validations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from assets.common.identifiers import (
    id_number_valid,
    luhn_valid,
    mobile_valid,
)
from assets.common.masking import mask_id_number
from assets.quality.data_docs import build_data_docs, validation_page
from assets.quality.validation import QualityValidator
from tests.quality_frames import (
    CATALOG,
    bank_card,
    clean_frame,
    person_id,
    run,
)


@pytest.fixture(scope="module")
def validator() -> QualityValidator:
    return QualityValidator()


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
