"""Quality suites: generated from the catalog, stable on disk, loadable by GE with complete meta."""

from __future__ import annotations

import json
import re
from pathlib import Path

import great_expectations as gx
import pytest

from assets.common.quality import Dimension, Severity
from assets.quality.suites import (
    SUITES_DIR,
    load_suite,
    stale_suites,
    suite_path,
    suite_text,
    write_suites,
)
from tests.quality_frames import (
    CATALOG,
    CITY,
    COUNTY,
)

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
