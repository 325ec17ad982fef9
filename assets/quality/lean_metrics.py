"""How the custom expectations plan their GE metrics: what GE (1.x) would plan, planned once.

GE's map expectations plan each metric through ``get_metric_kwargs``, which rebuilds the
expectation from its configuration and recomputes its runtime kwargs — each of those a pydantic
dump of every field, once per key looked up — for every metric of every expectation, twice per
validation (planning, then checking the result). :class:`LeanDependencies` computes the runtime
kwargs once per call and builds the same metric configurations from them, as
``ColumnMapExpectation`` / ``MulticolumnMapExpectation.get_validation_dependencies`` do, except
for two metrics whose values never reach the result:

- ``unexpected_values`` when the result format excludes unexpected values;
- ``unexpected_index_query`` when it does not ask for the query (GE then computes ``None``).

The built-in map expectations the suites use (in-set, unique, compound unique) get the same lean
planning: :data:`LEAN_BUILT_INS` are GE's own classes with the mixin in front, registered under the
built-in's expectation type, so a suite's configuration builds them (their validation, results and
Data Docs rendering are GE's, inherited).

Every ``MetricConfiguration`` GE builds hashes its kwargs to an id (``IDDict.to_id``) through
``convert_to_json_serializable``, which tries numpy type checks on every ``None`` before returning
it: half the time spent planning a validation. :func:`json_ready` gives the same JSON for plain
Python values at once and hands everything else to GE's function; it is what ``IDDict.to_id``
uses here, so every id is GE's own.

A map metric's ``unexpected_index_list`` (the failing rows' ``source_row``) is GE's
``_pandas_map_condition_index``, which selects the failing rows of the whole batch — every column
copied — and then reads the named columns a row at a time (``DataFrame.at``, a column-name check per
value). :func:`lean_unexpected_index_list` gives the same list from the named columns alone, for the
result format the validator uses (``exclude_unexpected_values`` with ``unexpected_index_column_names``,
a batch without a named index); any other request goes to GE's function. :func:`use_lean_index_lists`
(called once ``expectations.py`` has registered the custom metrics) puts it in place of GE's for
every map metric on pandas.

tests/test_quality_metric_plan.py checks the plan against GE's own for every lean expectation of
the shipped suites, the ids against GE's serializer and the index lists against GE's function, so a
GE upgrade that changes any of them fails there, not silently.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.core import id_dict
from great_expectations.core.id_dict import IDDict
from great_expectations.core.metric_function_types import (
    MetricFunctionTypes,
    SummarizationMetricNameSuffixes,
)
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import ExecutionEngine, PandasExecutionEngine
from great_expectations.expectations import registry
from great_expectations.expectations.core.expect_column_values_to_be_in_set import (
    ExpectColumnValuesToBeInSet as _GEInSet,
)
from great_expectations.expectations.core.expect_column_values_to_be_unique import (
    ExpectColumnValuesToBeUnique as _GEUnique,
)
from great_expectations.expectations.core.expect_compound_columns_to_be_unique import (
    ExpectCompoundColumnsToBeUnique as _GECompoundUnique,
)
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.map_condition_auxilliary_methods import (  # noqa: E501
    _pandas_map_condition_index,
)
from great_expectations.expectations.metrics.util import (
    get_dbms_compatible_column_names,
    get_dbms_compatible_metric_domain_kwargs,
)
from great_expectations.util import convert_to_json_serializable
from great_expectations.validator.metric_configuration import MetricConfiguration
from great_expectations.validator.validator import ValidationDependencies
from pandas.core.indexing import check_bool_indexer

_S = SummarizationMetricNameSuffixes


def _metric(name: str, runtime_kwargs: dict[str, Any]) -> MetricConfiguration:
    """The configuration ``get_metric_kwargs`` gives ``name`` for these runtime kwargs."""
    keys = registry.get_metric_kwargs(name)  # the metric's domain and value keys, nothing built
    defaults = registry._registered_metrics[name]["default_kwarg_values"]
    domain = IDDict(
        {k: runtime_kwargs.get(k) or defaults.get(k) for k in keys["metric_domain_keys"]}
    )
    value = IDDict(
        {
            k: runtime_kwargs.get(k) if runtime_kwargs.get(k) is not None else defaults.get(k)
            for k in keys["metric_value_keys"]
        }
    )
    return MetricConfiguration(name, metric_domain_kwargs=domain, metric_value_kwargs=value)


class LeanDependencies:
    """Mixin for custom map expectations (before the GE base class); results unchanged."""

    def _get_runtime_kwargs(self, runtime_configuration: dict | None = None) -> dict:
        runtime_configuration = runtime_configuration or {}
        configured = self.configuration.kwargs  # type: ignore[attr-defined]
        default = self._get_default_value  # type: ignore[attr-defined]

        def value(key: str) -> object:
            return configured[key] if key in configured else default(key)

        runtime_kwargs = {
            key: runtime_configuration.get(key, value(key))
            for key in self.runtime_keys  # type: ignore[attr-defined]
        }
        runtime_kwargs.update({key: value(key) for key in self.success_keys})  # type: ignore[attr-defined]
        runtime_kwargs.update({key: value(key) for key in self.domain_keys})  # type: ignore[attr-defined]
        runtime_kwargs["result_format"] = parse_result_format(runtime_kwargs["result_format"])
        return runtime_kwargs

    def planned_metrics(self, result_format: dict[str, Any]) -> list[str]:
        """The metric names GE's map expectation plans for ``result_format``, minus the unused."""
        map_metric = self.map_metric  # type: ignore[attr-defined]
        if isinstance(self, MulticolumnMapExpectation):
            names = [f"{map_metric}.{_S.UNEXPECTED_COUNT.value}", "table.row_count"]
            names.append(f"{map_metric}.{_S.FILTERED_ROW_COUNT.value}")
        else:
            names = [
                f"column_values.nonnull.{_S.UNEXPECTED_COUNT.value}",
                f"{map_metric}.{_S.UNEXPECTED_COUNT.value}",
                "table.row_count",
            ]
        kind = result_format.get("result_format")
        query = bool(result_format.get("return_unexpected_index_query", False))
        if query:
            names.append(f"{map_metric}.{_S.UNEXPECTED_INDEX_QUERY.value}")
        if kind == ResultFormat.BOOLEAN_ONLY:
            return names
        if not result_format.get("exclude_unexpected_values"):
            names.append(f"{map_metric}.{_S.UNEXPECTED_VALUES.value}")
        if result_format.get("include_unexpected_rows"):
            names.append(f"{map_metric}.{_S.UNEXPECTED_ROWS.value}")
        if kind == ResultFormat.BASIC:
            return names
        names.append(f"{map_metric}.{_S.UNEXPECTED_INDEX_LIST.value}")
        return names

    def get_validation_dependencies(
        self,
        execution_engine: ExecutionEngine | None = None,
        runtime_configuration: dict | None = None,
        **kwargs: object,
    ) -> ValidationDependencies:
        runtime_kwargs = self._get_runtime_kwargs(runtime_configuration)
        if runtime_kwargs.get("batch_id") is None:
            # as GE's get_metric_kwargs: a built-in whose domain keys omit the batch still names
            # it, or the engine computes the metric on the batch it loaded last
            runtime_kwargs["batch_id"] = self.configuration.kwargs.get("batch_id")  # type: ignore[attr-defined]
        result_format = parse_result_format(runtime_kwargs["result_format"])
        return ValidationDependencies(
            metric_configurations={
                name: _metric(name, runtime_kwargs) for name in self.planned_metrics(result_format)
            },
            result_format=result_format,
        )


# GE's own in-set and unique metrics filter the empty values out first (``filter_column_isnull``):
# a copy of the whole batch, every column of it, for each such expectation — a tenth of a suite's
# time. These give the same verdicts with the empty values passing in the condition itself (GE leaves
# empty values to the required rule either way), so nothing is copied.
class ColumnValuesInSetKeepingEmpty(ColumnMapMetricProvider):
    condition_metric_name = "column_values.in_set_keeping_empty"
    condition_value_keys = ("value_set",)
    filter_column_isnull = False

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, value_set: object = None, **kwargs: object) -> object:
        if value_set is None:  # vacuously true, as GE's
            return np.ones(len(column), dtype=np.bool_)
        return column.isin(value_set) | column.isna()


class ColumnValuesUniqueKeepingEmpty(ColumnMapMetricProvider):
    condition_metric_name = "column_values.unique_keeping_empty"
    filter_column_isnull = False

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> object:
        present = column.notna()
        duplicated = column.duplicated(keep=False) & present
        return ~duplicated


# GE logs a warning when a type is registered again: here it is meant, once per process
_registry_log = logging.getLogger(registry.__name__)
_level = _registry_log.level
_registry_log.setLevel(logging.ERROR)
try:

    class ExpectColumnValuesToBeInSet(LeanDependencies, _GEInSet):
        """GE's ``expect_column_values_to_be_in_set``, planned leanly, on a metric that keeps the
        empty values (``ColumnValuesInSetKeepingEmpty``)."""

        map_metric: ClassVar[str] = "column_values.in_set_keeping_empty"

    class ExpectColumnValuesToBeUnique(LeanDependencies, _GEUnique):
        """GE's ``expect_column_values_to_be_unique``, planned leanly, on a metric that keeps the
        empty values (``ColumnValuesUniqueKeepingEmpty``)."""

        map_metric: ClassVar[str] = "column_values.unique_keeping_empty"

    class ExpectCompoundColumnsToBeUnique(LeanDependencies, _GECompoundUnique):
        """GE's ``expect_compound_columns_to_be_unique``, planned leanly."""

finally:
    _registry_log.setLevel(_level)

LEAN_BUILT_INS = (
    ExpectColumnValuesToBeInSet,
    ExpectColumnValuesToBeUnique,
    ExpectCompoundColumnsToBeUnique,
)


def json_ready(data: object) -> object:
    """``convert_to_json_serializable(data)``: the same value, built at once for ``None``, exact
    ``str``/``int``/``bool``/``float`` and plain dicts, lists and tuples of them; anything else
    (subclasses included: enums, numpy scalars, GE's own dicts) goes to GE's function."""
    kind = type(data)
    if data is None or kind is str or kind is int or kind is bool:
        return data
    if kind is float:
        return None if data != data else data  # GE: NaN becomes None
    if kind is dict or kind is IDDict:
        return {str(key): json_ready(value) for key, value in data.items()}  # type: ignore[attr-defined]
    if kind is list or kind is tuple:
        return [json_ready(value) for value in data]  # type: ignore[attr-defined]
    return convert_to_json_serializable(data)  # type: ignore[arg-type]


id_dict.convert_to_json_serializable = json_ready  # what IDDict.to_id serializes with


_MISSING_INDEX_COLUMN = (
    'Error: The unexpected_index_column "{column_name:s}" does not exist in Dataframe. '
    "Please check your configuration and try again."
)


def lean_unexpected_index_list(
    cls: Any,
    execution_engine: PandasExecutionEngine,
    metric_domain_kwargs: dict,
    metric_value_kwargs: dict,
    metrics: dict[str, Any],
    **kwargs: Any,
) -> list:
    """``_pandas_map_condition_index``'s value without copying the batch: with excluded values and
    named index columns GE returns ``[{column: [value of each failing row, in batch order]}]`` (or
    ``[]`` when no row fails), here read from those columns only; every other case is GE's."""
    result_format = metric_value_kwargs["result_format"]
    names = result_format.get("unexpected_index_column_names")
    if not (names and result_format.get("exclude_unexpected_values", False)):
        return _pandas_map_condition_index(
            cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kwargs
        )
    mask, compute_domain_kwargs, accessor_domain_kwargs = metrics["unexpected_condition"]
    accessor_domain_kwargs = get_dbms_compatible_metric_domain_kwargs(
        metric_domain_kwargs=accessor_domain_kwargs, batch_columns_list=metrics["table.columns"]
    )
    records = execution_engine.get_domain_records(
        domain_kwargs=dict(**compute_domain_kwargs, **accessor_domain_kwargs)
    )
    if records.index.names[0] is not None:  # GE reads a named index its own way
        return _pandas_map_condition_index(
            cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kwargs
        )
    positions = np.arange(len(records))
    filter_isnull = kwargs.get("filter_column_isnull", getattr(cls, "filter_column_isnull", False))
    if "column" in accessor_domain_kwargs and filter_isnull:  # GE: the rows with a value
        positions = positions[records[accessor_domain_kwargs["column"]].notna().to_numpy()]
    index = records.index[positions]
    # GE: ``records[mask]`` — a Series aligned on the index, anything else of the same length
    if not isinstance(mask, pd.Series) and len(mask) != len(index):
        raise ValueError(f"Item wrong length {len(mask)} instead of {len(index)}.")
    positions = positions[check_bool_indexer(index, mask)]
    found: list = []
    if len(positions):
        values: dict[str, list] = {name: [] for name in names}
        for name in names:
            column = get_dbms_compatible_column_names(
                column_names=name,
                batch_columns_list=metrics["table.columns"],
                error_message_template=_MISSING_INDEX_COLUMN,
            )
            # what ``records.at[label, column]`` gives for each row: the column's own scalar
            values[column] = list(records[column]._values[positions])
        found.append(values)
    if result_format["result_format"] == "COMPLETE":
        return found
    return found[: result_format["partial_unexpected_count"]]


lean_unexpected_index_list.metric_fn_type = MetricFunctionTypes.VALUE  # type: ignore[attr-defined]


def use_lean_index_lists() -> int:
    """Register :func:`lean_unexpected_index_list` for every pandas map metric GE gave its own
    function (those registered so far); returns how many."""
    replaced = 0
    for definition in registry._registered_metrics.values():
        providers = definition.get("providers", {})
        for engine, (metric_class, function) in list(providers.items()):
            if function is _pandas_map_condition_index:
                providers[engine] = (metric_class, lean_unexpected_index_list)
                replaced += 1
    return replaced
