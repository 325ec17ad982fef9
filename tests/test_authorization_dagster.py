"""The daily deadline schedule, evaluated and run for real: a review is deemed approved by the run of
the day after its due date, not by the run on the due date, and the schedule skips non-working days."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import pytest

from assets.authorization.applications import get_application
from assets.authorization.schedules import DEEM_JOB, application_deadlines_schedule
from assets.common.workdays import CHINA_TZ
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from tests.authorization_helpers import setup_world
from tests.test_authorization_applications import _passed


@pytest.fixture
def settings(tmp_path):
    return Settings.load(tmp_path / "data")


def _tick(settings: Settings, day: date):
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(day.year, day.month, day.day, 8, 30, tzinfo=CHINA_TZ),
        resources={"platform": settings.platform_resource()},
    )
    return application_deadlines_schedule(context)


def _run(settings: Settings, instance: dg.DagsterInstance, day: date) -> dg.RunRequest:
    request = _tick(settings, day)
    assert isinstance(request, dg.RunRequest)
    job = build_definitions(settings).get_job_def(DEEM_JOB)
    result = job.execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags
    )
    assert result.success
    return result


def _metadata(result) -> dict:
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return output.event_specific_data.metadata


def test_the_schedule_deems_approved_the_day_after_the_due_date(settings, catalog):
    engine = settings.platform_resource().platform_engine()
    setup_world(engine, catalog)
    app_id = _passed(engine, catalog, date(2026, 2, 13)).application_id  # reviews due 2026-03-05
    instance = dg.DagsterInstance.ephemeral()

    on_due = _metadata(_run(settings, instance, date(2026, 3, 5)))
    assert get_application(engine, app_id).status == "compliance_passed"
    assert on_due["today"].value == "2026-03-05" and on_due["reviews_deemed"].value == []

    after = _metadata(_run(settings, instance, date(2026, 3, 6)))
    assert get_application(engine, app_id).status == "deemed_approved"
    assert after["applications_decided"].value == {app_id: "deemed_approved"}
    assert len(after["reviews_deemed"].value) == 2
    runs = instance.get_runs()
    assert len(runs) == 2 and all(r.job_name == DEEM_JOB for r in runs)


@pytest.mark.parametrize(
    ("day", "runs"),
    [
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 28), True),  # the 调休 Saturday is a working day
        (date(2026, 3, 9), True),
    ],
)
def test_the_schedule_runs_on_official_working_days_only(settings, day, runs):
    result = _tick(settings, day)
    assert isinstance(result, dg.RunRequest) is runs
    if runs:
        config = result.run_config["ops"]["apply_deemed_approvals"]["config"]
        assert config == {"today": day.isoformat()}
