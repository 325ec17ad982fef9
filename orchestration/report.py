"""The report of one ``publicdata run`` and the summary it prints (``--json``): files, totals, what the
incremental rerun skipped, and the catalog, quality, operation and application sections. Dagster is
imported only to read the runs back: an unchanged rerun decided without it prints its summary without
it (``orchestration/unchanged.py``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from assets.aggregation.summary import (
    file_records,
    ingest_records,
    overall,
    records_by_id,
    totals,
)
from assets.storage.engine import get_engine, one_line_error, safe_url
from orchestration.planning import SkippedDelivery
from orchestration.settings import Settings
from orchestration.summaries import (
    applications_report,
    catalog_summary,
    operation_report,
    quality_summary,
)

if TYPE_CHECKING:
    import dagster as dg


def _dagster_errors() -> tuple[type[BaseException], ...]:
    """Dagster's error class when Dagster is loaded (a run read back), else none."""
    dagster = sys.modules.get("dagster")
    return (dagster.DagsterError,) if dagster is not None else ()


@dataclass
class PipelineReport:
    settings: Settings
    batch_ids: list[str] = field(default_factory=list)
    failed_partitions: list[dict[str, str]] = field(default_factory=list)
    unrecognized_files: list[dict[str, str]] = field(default_factory=list)
    post_ingest_runs: list[str] = field(default_factory=list)
    force: bool = False
    # incremental reruns: deliveries already judged (no run), datasets governed again or not
    skipped: list[SkippedDelivery] = field(default_factory=list)
    datasets_recomputed: list[str] = field(default_factory=list)
    datasets_unchanged: list[str] = field(default_factory=list)
    post_ingest_skipped: list[str] = field(default_factory=list)
    nothing_changed: bool = False  # no Dagster run was started at all
    # the run's Dagster instance, for the summary (opening it again checked its three storages'
    # migrations again: about 0.6 s, a sixth of an unchanged rerun)
    instance: dg.DagsterInstance | None = field(default=None, repr=False, compare=False)
    # decided without the Dagster instance (``orchestration/unchanged.py``): no run to read back
    without_instance: bool = False

    def summary(self) -> dict:
        """The run's summary. A section that cannot be built (its database vanished mid-run) is
        left empty and its one-line reason listed under ``errors``; the rest is still reported."""
        errors: list[dict[str, str]] = []

        def section(name: str, build: Callable[[], Any], empty: Any = None) -> Any:
            try:
                return build()
            except (sa.exc.SQLAlchemyError, OSError, *_dagster_errors()) as exc:
                errors.append({"section": name, "error": one_line_error(exc)})
                return empty

        records = section(
            "files",
            lambda: self._file_records(get_engine(self.settings.platform_url)),
            empty=[],
        )
        instance = self.instance
        if instance is None and not self.without_instance:
            from orchestration.runner import dagster_instance

            instance = section("dagster", lambda: dagster_instance(self.settings))
        summary = {
            "data_dir": str(self.settings.data_dir),
            "files": file_records(records),
            "unrecognized_files": self.unrecognized_files,
            "totals": {
                "all": overall(records),
                "by_dataset": totals(records, "dataset_id"),
                "by_county": totals(records, "county_code"),
            },
            "zones": {zone: safe_url(url) for zone, url in self.settings.zone_urls.items()},
            "dagster_home": str(self.settings.dagster_home),
            "runs": {
                "partitions": len(self.batch_ids),
                "post_ingest": len(self.post_ingest_runs),
                "failed": self.failed_partitions,
                # incremental reruns: what needed no work because nothing it depends on changed
                "force": self.force,
                "skipped_unchanged": len(self.skipped),
                "skipped": [item.as_record() for item in self.skipped],
                "datasets_recomputed": self.datasets_recomputed,
                "datasets_unchanged": self.datasets_unchanged,
                "post_ingest_skipped": self.post_ingest_skipped,
                "nothing_changed": self.nothing_changed,
            },
            "catalog": section(
                "catalog",
                lambda: catalog_summary(self.settings, instance, self.post_ingest_runs),
            )
            if instance is not None or self.without_instance
            else None,
            # quality tickets opened / reopened / updated / closed / escalated by this run
            "quality": section(
                "quality",
                lambda: quality_summary(
                    self.settings, instance, [*self.batch_ids, *self.post_ingest_runs]
                ),
            )
            if instance is not None or self.without_instance
            else None,
            # governed / quarantined / duplicates / published / suppressed and k per dataset
            "operation": section("operation", lambda: operation_report(self.settings)),
            # operator authorization, merchants, applications with due dates, live grants
            "operation_applications": section(
                "operation_applications", lambda: applications_report(self.settings)
            ),
        }
        summary["errors"] = errors
        return summary

    def _file_records(self, engine: sa.Engine) -> list[dict[str, object]]:
        """This run's ingest records, and for each delivery skipped as unchanged its latest record
        (a file rejected before is still reported as rejected), marked ``unchanged``; by path."""
        ran = ingest_records(engine, self.batch_ids)
        before = records_by_id(engine, [item.latest.record_id for item in self.skipped])
        both = [{**row, "unchanged": False} for row in ran]
        both += [{**row, "unchanged": True} for row in before]
        return sorted(both, key=lambda row: row["relative_path"])  # stable: this run's first
