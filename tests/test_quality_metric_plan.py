"""The GE suites stay exact while planned leanly (assets/quality/lean_metrics.py), and their counts
equal an independent pandas evaluation of the same rules on generated partitions with defects."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from great_expectations.core.id_dict import IDDict
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations import registry
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
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.expectations.metrics.map_metric_provider.map_condition_auxilliary_methods import (  # noqa: E501
    _pandas_map_condition_index,
)
from great_expectations.expectations.registry import get_expectation_impl
from great_expectations.util import convert_to_json_serializable

from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.quality.lean_metrics import (
    LEAN_BUILT_INS,
    LeanDependencies,
    json_ready,
    lean_unexpected_index_list,
)
from assets.quality.suites import load_suite
from assets.quality.validation import RESULT_FORMAT, QualityValidator
from bench.quality import plain_failures
from tests.helpers import staged_deliveries

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
    deliveries = staged_deliveries(
        data_dir, rows=3_000, seed=7, defect_rate=0.2, catalog=CATALOG, city=CITY, as_of=AS_OF
    )
    out = []
    for landing, frame in deliveries:
        entry = CATALOG[landing.dataset_id]
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


def _providers_of_index_lists() -> list[dict]:
    return [
        definition["providers"]
        for name, definition in registry._registered_metrics.items()
        if name.endswith(".unexpected_index_list")
        and "PandasExecutionEngine" in definition.get("providers", {})
    ]


def _with_ges_index_lists(validate):
    """``validate()`` with GE's own ``_pandas_map_condition_index`` registered again."""
    saved = [dict(providers) for providers in _providers_of_index_lists()]
    try:
        for providers in _providers_of_index_lists():
            cls, function = providers["PandasExecutionEngine"]
            if function is lean_unexpected_index_list:
                providers["PandasExecutionEngine"] = (cls, _pandas_map_condition_index)
        return validate()
    finally:
        for providers, before in zip(_providers_of_index_lists(), saved, strict=True):
            providers.update(before)


def _comparable(outcome) -> tuple:
    results = copy.deepcopy(outcome.ge_result["results"])
    return outcome.expectations, results


def test_the_lean_index_lists_replace_ges_for_every_map_metric() -> None:
    QualityValidator()
    functions = {p["PandasExecutionEngine"][1] for p in _providers_of_index_lists()}
    assert functions == {lean_unexpected_index_list}
    assert len(_providers_of_index_lists()) > 20


def test_validations_with_lean_index_lists_are_ges(partitions: list) -> None:
    """Every shipped suite on partitions with defects: the same results, examples included, with
    GE's index lists and with the lean ones."""
    validator = QualityValidator()
    examples = 0
    for dataset_id, county, frame in partitions:
        townships = list(CITY.county(county).townships)

        def validate(frame=frame, dataset_id=dataset_id, county=county, townships=townships):
            return validator.validate(
                frame, dataset_id, county_code=county, as_of=AS_OF, townships=townships
            )

        lean, ge = validate(), _with_ges_index_lists(validate)
        assert _comparable(lean) == _comparable(ge), dataset_id
        examples += sum(len(e.examples) for e in lean.expectations)
    assert examples > 100  # failing rows were listed: the comparison is not vacuous


def _engine_with(frame: pd.DataFrame) -> PandasExecutionEngine:
    engine = PandasExecutionEngine()
    engine.load_batch_data("b", frame)
    return engine


@pytest.mark.parametrize(
    "result_format",
    [
        {**RESULT_FORMAT, "result_format": "SUMMARY"},
        {**RESULT_FORMAT, "result_format": "COMPLETE"},
        {**RESULT_FORMAT, "result_format": "SUMMARY", "partial_unexpected_count": 0},
        {**RESULT_FORMAT, "exclude_unexpected_values": False},
        {**RESULT_FORMAT, "unexpected_index_column_names": []},
    ],
    ids=str,
)
@pytest.mark.parametrize("filter_column_isnull", [False, True])
@pytest.mark.parametrize("failing", ["some", "none", "all"])
@pytest.mark.parametrize("index", ["range", "shuffled", "named"])
def test_lean_index_list_equals_ges_function(
    result_format: dict, filter_column_isnull: bool, failing: str, index: str
) -> None:
    """The metric function itself against GE's, on a column with gaps, an Arrow text column and
    numbers, whatever the rows and their index."""
    frame = pd.DataFrame(
        {
            "source_row": np.arange(2, 12, dtype="int64"),
            "x": pd.array(["a", None, "b", "c", None, "d", "e", "f", "g", "h"], "string[pyarrow]"),
            "code": ["1", "2", None, "4", "5", "6", "7", "8", "9", "10"],
        }
    )
    if index == "shuffled":
        frame.index = pd.Index([9, 3, 7, 1, 0, 8, 2, 6, 4, 5])
    if index == "named":
        frame.index = pd.Index(range(10), name="row")
    engine = _engine_with(frame)
    present = frame["x"].notna() if filter_column_isnull else pd.Series(True, index=frame.index)
    domain = frame[present]
    bad = {"some": [0, 2, 5], "none": [], "all": list(range(len(domain)))}[failing]
    mask = pd.Series(False, index=domain.index)
    mask.iloc[bad] = True
    parsed = parse_result_format(result_format)
    arguments = {
        "cls": type("Metric", (), {"filter_column_isnull": filter_column_isnull}),
        "execution_engine": engine,
        "metric_domain_kwargs": {"column": "x", "batch_id": "b"},
        "metric_value_kwargs": {"result_format": parsed},
        "metrics": {
            "unexpected_condition": (mask, {"batch_id": "b"}, {"column": "x"}),
            "table.columns": list(frame.columns),
        },
    }
    lean = _outcome(lean_unexpected_index_list, arguments)
    ge = _outcome(_pandas_map_condition_index, arguments)
    assert lean == ge
    assert _value_types(lean) == _value_types(ge)


def _outcome(function, arguments: dict) -> list:
    """The function's value, or the error it raised as ``[(type, message)]``."""
    try:
        return function(**copy.deepcopy(arguments))
    except Exception as error:
        return [(type(error), str(error))]


def _value_types(index_list: list) -> list[type]:
    """The type of every value an index list holds (a list per column, one value per row, or the
    row's index)."""
    out: list[type] = []
    for entry in index_list:
        if not isinstance(entry, dict):  # a row's index, or the error raised
            out.append(type(entry))
            continue
        for value in entry.values():
            out += [type(v) for v in value] if isinstance(value, list) else [type(value)]
    return out


def test_lean_index_list_names_a_missing_index_column_as_ge_does() -> None:
    frame = pd.DataFrame({"x": ["a", "b"]})
    arguments = {
        "cls": type("Metric", (), {}),
        "execution_engine": _engine_with(frame),
        "metric_domain_kwargs": {"column": "x", "batch_id": "b"},
        "metric_value_kwargs": {"result_format": parse_result_format(RESULT_FORMAT)},
        "metrics": {
            "unexpected_condition": (pd.Series([True, False]), {"batch_id": "b"}, {"column": "x"}),
            "table.columns": ["x"],
        },
    }
    with pytest.raises(Exception) as ge:
        _pandas_map_condition_index(**arguments)
    with pytest.raises(type(ge.value), match="source_row"):
        lean_unexpected_index_list(**arguments)
