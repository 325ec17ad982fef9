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

tests/test_quality_metric_plan.py checks the plan against GE's own for every custom expectation
of the shipped suites, so a GE upgrade that changes its planning fails there, not silently.
"""

from __future__ import annotations

from typing import Any

from great_expectations.core.id_dict import IDDict
from great_expectations.core.metric_function_types import SummarizationMetricNameSuffixes
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import ExecutionEngine
from great_expectations.expectations import registry
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.validator.metric_configuration import MetricConfiguration
from great_expectations.validator.validator import ValidationDependencies

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
        result_format = parse_result_format(runtime_kwargs["result_format"])
        return ValidationDependencies(
            metric_configurations={
                name: _metric(name, runtime_kwargs) for name in self.planned_metrics(result_format)
            },
            result_format=result_format,
        )
