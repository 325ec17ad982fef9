"""The run summaries of ``publicdata run --json``: what the CLI's runs did, read back from the Dagster
instance's event log (public API only: ``get_records_for_run`` with ``dg.DagsterEventType``) and from
the platform records.

- ``catalog``: the current catalog version, whether these runs made it, the late counties;
- ``quality``: quality tickets by change, as the checks, the ingest and the follow-up recorded them;
- ``operation``: per dataset governed, quarantined, duplicate, published and suppressed rows with k;
- ``operation_applications``: the operator authorization, merchants, applications, live grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from assets.catalog_sync.versions import latest_version
from assets.common.catalog import load_catalog
from assets.common.workdays import use_calendar_dir
from assets.operation.summary import operation_summary
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import store as ticket_store
from assets.tickets.changes import TICKET_METADATA_KEYS
from orchestration.settings import Settings

if TYPE_CHECKING:
    import dagster as dg


def _event_types():  # Dagster is imported only where runs are read: not by an unchanged rerun
    import dagster as dg

    return dg.DagsterEventType


def _ticket_events() -> set:
    """The events whose metadata may carry ticket ids: checks, ingest materializations, ingest
    failures and the follow-up op's output."""
    kind = _event_types()
    return {
        kind.ASSET_CHECK_EVALUATION,
        kind.ASSET_MATERIALIZATION,
        kind.STEP_FAILURE,
        kind.STEP_OUTPUT,
    }


def _records(
    instance: dg.DagsterInstance, run_id: str, of_type: dg.DagsterEventType | set
) -> list[dg.EventLogRecord]:
    return list(instance.get_records_for_run(run_id, of_type=of_type).records)


def catalog_summary(
    settings: Settings, instance: dg.DagsterInstance, run_ids: list[str]
) -> dict | None:
    """The ``catalog`` part of ``publicdata run --json``: the current version, what it publishes and
    its diff, whether these runs made it, and the freshness checks' late counties."""
    version = latest_version(get_engine(settings.platform_url))
    if version is None:
        return None
    catalog = version.catalog
    made_here = False
    late: dict[str, list[str]] = {}
    if run_ids:  # the catalog's keys are Dagster's: imported only where runs are read back
        from assets.catalog_sync.keys import CITY_CATALOG_KEY, FRESHNESS_CHECK_NAME
    for run_id in run_ids:
        for record in _records(instance, run_id, _event_types().ASSET_MATERIALIZATION):
            materialization = record.event_log_entry.asset_materialization
            if materialization and materialization.asset_key == CITY_CATALOG_KEY:
                new = materialization.metadata.get("new_version")
                made_here = made_here or bool(new and new.value)
        for record in _records(instance, run_id, _event_types().ASSET_CHECK_EVALUATION):
            event = record.event_log_entry.dagster_event
            evaluation = event.asset_check_evaluation_data if event else None
            if evaluation is None or evaluation.check_name != FRESHNESS_CHECK_NAME:
                continue
            if evaluation.passed:
                continue
            counties = evaluation.metadata.get("late_counties")
            late[evaluation.asset_key.path[-1]] = list(counties.value) if counties else []
    return {
        "version": version.version,
        "created_at": version.created_at.isoformat(),
        "new_version": made_here,
        "entries": version.entries,
        "published_entries": len(catalog.published),
        "withheld_entries": len(catalog.withheld),
        "diff": version.counts,
        "late_counties": late,
    }


def _event_metadata(event: dg.DagsterEvent) -> Mapping[str, dg.MetadataValue]:
    EventType = _event_types()  # noqa: N806  (the enum, as Dagster names it)
    if event.event_type is EventType.ASSET_CHECK_EVALUATION:
        return event.asset_check_evaluation_data.metadata
    if event.event_type is EventType.ASSET_MATERIALIZATION:
        return event.materialization.metadata
    if event.event_type is EventType.STEP_FAILURE:
        user_failure = event.step_failure_data.user_failure_data
        return user_failure.metadata if user_failure else {}
    if event.event_type is EventType.STEP_OUTPUT:
        return event.step_output_data.metadata
    return {}


def _ids(value: object) -> list[str]:
    """Ticket ids of a metadata value (other stages record counts under similar keys: skipped)."""
    ids = getattr(value, "value", None)
    if not isinstance(ids, list):
        return []
    return [i for i in ids if isinstance(i, str)]


def quality_summary(
    settings: Settings, instance: dg.DagsterInstance, run_ids: Iterable[str]
) -> dict:
    """What the given runs did to quality tickets (ids by change, as the checks, the ingest and the
    follow-up recorded them in the event log), and how many tickets are open now."""
    changes: dict[str, list[str]] = {
        key: [] for key in (*TICKET_METADATA_KEYS, "tickets_escalated")
    }
    notified: set[str] = set()
    for run_id in run_ids:
        for record in _records(instance, run_id, _ticket_events()):
            event = record.event_log_entry.dagster_event
            metadata = _event_metadata(event) if event else {}
            for key, ids in changes.items():
                ids.extend(_ids(metadata.get(key)))
            notified.update(_ids(metadata.get("departments_notified")))
    ensure_platform_schema(settings.platform_url)
    still_open = ticket_store.list_tickets(get_engine(settings.platform_url), status="open")
    summary = {
        key.removeprefix("tickets_"): sorted(dict.fromkeys(ids)) for key, ids in changes.items()
    }
    return {**summary, "departments_notified": sorted(notified), "open": len(still_open)}


def operation_report(settings: Settings) -> dict[str, object]:
    """The ``operation`` section of ``publicdata run --json``: per dataset governed, quarantined,
    duplicate, published and suppressed rows with k, and the operation zone's URL."""
    ensure_platform_schema(settings.platform_url)
    return operation_summary(
        get_engine(settings.platform_url),
        settings.operation_url,
        load_catalog(settings.catalog_dir),
    )


def applications_report(settings: Settings) -> dict[str, object]:
    """The ``operation_applications`` section (as of ``PUBLICDATA_TODAY``): the active operator
    authorization, merchants by status, every application with its status and current due date, and
    the grants live today."""
    from assets.authorization.summary import applications_summary

    ensure_platform_schema(settings.platform_url)
    return applications_summary(
        get_engine(settings.platform_url),
        settings.today_date(),
        use_calendar_dir(settings.calendar_dir),  # what the platform resource's calendar is
    )
