"""The GE suites stay exact while planned leanly (assets/quality/lean_metrics.py), and their counts
equal an independent pandas evaluation of the same rules on generated partitions with defects."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from great_expectations.core.id_dict import IDDict
from great_expectations.core.result_format import ResultFormat
from great_expectations.expectations.core.expect_column_values_to_be_in_set import (
    ExpectColumnValuesToBeInSet,
)
from great_expectations.expectations.core.expect_column_values_to_be_unique import (
    ExpectColumnValuesToBeUnique,
)
from great_expectations.expectations.core.expect_compound_columns_to_be_unique import (
    ExpectCompoundColumnsToBeUnique,
)
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.registry import get_expectation_impl
from great_expectations.util import convert_to_json_serializable

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.quality.lean_metrics import LEAN_BUILT_INS, LeanDependencies, json_ready
from assets.quality.suites import load_suite
from assets.quality.validation import RESULT_FORMAT, QualityValidator
from bench.quality import plain_failures

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
AS_OF = date(2026, 11, 20)

RESULT_FORMATS = [
    "BOOLEAN_ONLY",
    "BASIC",
    "SUMMARY",
    "COMPLETE",
    {**RESULT_FORMAT, "result_format": "SUMMARY"},
    {"result_format": "BASIC", "return_unexpected_index_query": True},
    {"result_format": "SUMMARY", "include_unexpected_rows": True},
    {"result_format": "COMPLETE", "exclude_unexpected_values": True},
]


def _lean_expectations() -> list[Expectation]:
    """Every lean expectation of the shipped suites (custom and built-in), bound to a batch as GE
    binds them."""
    out = []
    for dataset_id in CATALOG:
        for expectation in load_suite(dataset_id).expectations:
            if isinstance(expectation, LeanDependencies):
                configuration = expectation.configuration
                configuration.kwargs["batch_id"] = f"exchange-{dataset_id}"
                out.append(configuration.to_domain_obj())
    return out


CUSTOM = _lean_expectations()


def test_the_suites_use_every_kind_of_lean_expectation() -> None:
    kinds = {type(e).__name__ for e in CUSTOM}
    assert len(kinds) == 11, kinds
    assert {type(e) for e in CUSTOM} >= set(LEAN_BUILT_INS)


def test_a_suite_builds_the_lean_built_ins_as_ges_own_types() -> None:
    """The built-ins are GE's classes (validation, rendering inherited) under GE's type names."""
    for lean, ge in zip(
        LEAN_BUILT_INS,
        (
            ExpectColumnValuesToBeInSet,
            ExpectColumnValuesToBeUnique,
            ExpectCompoundColumnsToBeUnique,
        ),
        strict=True,
    ):
        assert issubclass(lean, ge) and lean.expectation_type == ge.expectation_type
        assert get_expectation_impl(ge.expectation_type) is lean


def _kwargs_of_plans() -> list[dict]:
    """The domain and value kwargs of every metric GE plans for the shipped suites."""
    out = []
    runtime = {"result_format": RESULT_FORMAT}
    for expectation in CUSTOM:
        plan = expectation.get_validation_dependencies(runtime_configuration=runtime)
        for configuration in plan.metric_configurations.values():
            out += [configuration.metric_domain_kwargs, configuration.metric_value_kwargs]
    return out


@pytest.mark.parametrize(
    "value",
    [
        None,
        "县",
        0,
        True,
        1.5,
        float("nan"),
        {"a": None, 1: [1, (2.0, None)], "b": {"c": "d"}},
        IDDict({"column": "x", "row_condition": None}),
        {"format": ResultFormat.SUMMARY, "n": np.int64(3), "f": np.float64(0.25), "s": {"x"}},
        [date(2026, 11, 20), np.bool_(True), np.nan],
    ],
    ids=repr,
)
def test_json_ready_is_ges_serialization(value: object) -> None:
    assert json.dumps(json_ready(value), sort_keys=True) == json.dumps(
        convert_to_json_serializable(copy.deepcopy(value)), sort_keys=True
    )


def test_metric_ids_are_ges_own() -> None:
    kwargs = _kwargs_of_plans()
    assert len(kwargs) > 500
    for value in kwargs:
        ge = hashlib.md5(
            json.dumps(convert_to_json_serializable(dict(value)), sort_keys=True).encode(),
            usedforsecurity=False,
        ).hexdigest()
        assert json_ready(dict(value)) == convert_to_json_serializable(dict(value))
        if len(value) > 1:
            assert value.to_id() == ge


@pytest.mark.parametrize("result_format", RESULT_FORMATS, ids=str)
def test_runtime_kwargs_are_ges(result_format: object) -> None:
    runtime = {"result_format": result_format, "catch_exceptions": True}
    for expectation in CUSTOM:
        lean = expectation._get_runtime_kwargs(runtime)
        ge = Expectation._get_runtime_kwargs(expectation, runtime)
        assert lean == ge, type(expectation).__name__


@pytest.mark.parametrize("result_format", RESULT_FORMATS, ids=str)
def test_metric_plan_is_ges_without_the_unused_metrics(result_format: object) -> None:
    runtime = {"result_format": result_format}
    for expectation in CUSTOM:
        lean = expectation.get_validation_dependencies(runtime_configuration=runtime)
        ge = super(LeanDependencies, expectation).get_validation_dependencies(  # type: ignore[misc]
            runtime_configuration=runtime
        )
        assert lean.result_format == ge.result_format
        planned = {n: c.id for n, c in lean.metric_configurations.items()}
        expected = {n: c.id for n, c in ge.metric_configurations.items()}
        unused = set()
        if ge.result_format.get("exclude_unexpected_values"):
            unused |= {n for n in expected if n.endswith(".unexpected_values")}
        if not ge.result_format.get("return_unexpected_index_query"):
            unused |= {n for n in expected if n.endswith(".unexpected_index_query")}
        assert planned == {n: i for n, i in expected.items() if n not in unused}, type(
            expectation
        ).__name__


@pytest.fixture(scope="module")
def partitions(tmp_path_factory: pytest.TempPathFactory) -> list:
    """Every dataset's generated partitions (defects injected), as the exchange hands them over."""
    data_dir: Path = tmp_path_factory.mktemp("landing")
    generate(data_dir, rows=3_000, seed=7, city=CITY, catalog=CATALOG, as_of=AS_OF, defect_rate=0.2)
    files, _ = scan_landing(data_dir, CATALOG, CITY.county_codes)
    now = datetime.now(UTC)
    out = []
    for landing in files:
        entry = CATALOG[landing.dataset_id]
        outcome = ingest_landing_file(
            landing,
            entry,
            department_id=entry.provider,
            staging_dir=data_dir / "aggregation",
            batch_id=str(uuid.uuid4()),
            ingested_at=now,
        )
        if outcome.loaded:
            frame = read_stage(outcome.staged_path)
            items = frame[entry.columns].astype(object)
            frame[entry.columns] = items.where(items.notna(), None)
            out.append((landing.dataset_id, landing.county_code, frame))
    return out


def test_ge_counts_equal_an_independent_pandas_evaluation(partitions: list) -> None:
    validator = QualityValidator()
    compared = failing = 0
    for dataset_id, county, frame in partitions:
        townships = list(CITY.county(county).townships)
        outcome = validator.validate(
            frame, dataset_id, county_code=county, as_of=AS_OF, townships=townships
        )
        plain = plain_failures(
            frame,
            load_suite(dataset_id),
            county_code=county,
            townships=townships,
            as_of=AS_OF,
        )
        assert {e.rule_id: e.failed_count for e in outcome.expectations} == plain, dataset_id
        compared += len(plain)
        failing += sum(1 for count in plain.values() if count)
    assert {d for d, _, _ in partitions} == set(CATALOG)
    assert failing > compared / 3  # the defects reach most rules: the equality is not vacuous
