"""Freshness per 更新频率 and county, and the 时效性 tickets it sends, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assets.catalog_sync.aggregate import aggregate
from assets.catalog_sync.freshness import (
    china_today,
    evaluate_freshness,
    expected_counties,
    freshness_rule_id,
    sync_freshness_tickets,
)
from assets.catalog_sync.mounting import STATUS_LATE, STATUS_NO_DATA, STATUS_NO_TABLE, STATUS_OK
from assets.catalog_sync.versions import record_version
from assets.common.quality import Dimension
from assets.exchange.load import load_exchange_slice
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets.rules import Status
from assets.tickets.store import list_tickets
from tests.helpers import slice_frame

TODAY = date(2026, 11, 27)  # a monthly entry owes 2026-10 (due 10 days after the month ends)
AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def _deliver(engine, entry, county: str, period: str, rows: int = 2) -> None:
    frame = slice_frame(entry, county, period, rows, marker=f"{county}{period}")
    load_exchange_slice(engine, entry, frame, county_code=county, period=period)


def test_china_today_is_the_date_in_china():
    assert china_today(datetime(2026, 11, 26, 17, 0, tzinfo=UTC)) == date(2026, 11, 27)
    assert china_today(datetime(2026, 11, 26, 15, 59, tzinfo=UTC)) == date(2026, 11, 26)


def test_a_county_behind_its_frequency_is_late_and_named(engine, catalog, city):
    entry = catalog["petition_records"]
    _deliver(engine, entry, "640502", "2026-09")
    _deliver(engine, entry, "640502", "2026-10")
    _deliver(engine, entry, "640521", "2026-07")

    result = evaluate_freshness(engine, entry, city, TODAY, city.county_codes)

    assert result.expected_period == "2026-10"
    assert not result.passed
    assert result.fresh_codes == ["640502"]
    assert result.late_codes == ["640521", "640522"]
    by_county = result.counties.set_index("county_code")
    assert by_county.loc["640502", "latest_period"] == "2026-10"
    assert by_county.loc["640502", "rows"] == 4
    assert by_county.loc["640521", "status"] == STATUS_LATE
    assert by_county.loc["640522", "status"] == STATUS_NO_DATA
    assert by_county.loc["640522", "latest_period"] is None
    text = result.description()
    assert "中宁县（640521）最新报送期 2026-07" in text
    assert "海原县（640522）尚未报送任何一期" in text
    assert "沙坡头区" not in text
    assert "| 中宁县 | 640521 | 2 | 2026-07 | 2026-10 | 数据滞后 |" in result.table_markdown()

    # on 10 November 2026-10 was not yet due: 2026-09 was owed, and 640521 is still late
    earlier = evaluate_freshness(engine, entry, city, date(2026, 11, 10), city.county_codes)
    assert earlier.expected_period == "2026-09"
    assert earlier.late_codes == ["640521", "640522"]


def test_only_the_expected_counties_are_judged(engine, catalog, city):
    entry = catalog["petition_records"]
    _deliver(engine, entry, "640502", "2026-10")
    result = evaluate_freshness(engine, entry, city, TODAY, ["640502"])
    assert result.passed
    assert result.counties["county_code"].tolist() == ["640502"]
    assert result.counties["status"].tolist() == [STATUS_OK]
    assert "1 个县（区）均按时报送" in result.description()


def test_no_exchange_table_means_every_county_is_late(engine, catalog, city):
    entry = catalog["medical_institutions"]
    result = evaluate_freshness(engine, entry, city, TODAY, city.county_codes)
    assert result.expected_period == "2026-Q3"
    assert result.late_codes == list(city.county_codes)
    assert set(result.counties["status"]) == {STATUS_NO_TABLE}
    assert "交换表未建立" in result.description()


def test_expected_counties_follow_the_latest_catalog_version(engine, catalog, city):
    petition, medical = catalog["petition_records"], catalog["medical_institutions"]
    assert expected_counties(engine, petition, city) == tuple(city.county_codes)
    record_version(engine, aggregate([("640521", petition), ("640502", petition)], city), now=AT)
    assert expected_counties(engine, petition, city) == ("640502", "640521")
    # an entry the registry does not hold is owed by every county of the city
    assert expected_counties(engine, medical, city) == tuple(city.county_codes)


def test_late_counties_get_a_timeliness_ticket_that_on_time_data_closes(engine, catalog, city):
    entry = catalog["petition_records"]
    _deliver(engine, entry, "640502", "2026-10")
    _deliver(engine, entry, "640521", "2026-07")
    late = evaluate_freshness(engine, entry, city, TODAY, city.county_codes)

    # a partition run for 沙坡头区 speaks only for 沙坡头区, which is on time: no ticket
    scoped = sync_freshness_tickets(engine, late, at=AT, only_counties={"640502"})
    assert scoped is not None and scoped.total_changed == 0
    assert list_tickets(engine, dataset_id=entry.dataset_id) == []

    outcome = sync_freshness_tickets(engine, late, at=AT)
    assert len(outcome.opened) == 2
    tickets = {t.county_code: t for t in list_tickets(engine, dataset_id=entry.dataset_id)}
    assert set(tickets) == {"640521", "640522"}
    assert outcome.open_by_county == {c: t.id for c, t in tickets.items()}
    for ticket in tickets.values():
        assert ticket.department_id == entry.provider == "petition_bureau"
        assert ticket.dimension is Dimension.TIMELINESS
        assert ticket.rule_id == freshness_rule_id(entry.dataset_id) == "freshness.petition_records"
        assert ticket.period == "2026-10"
        assert ticket.status is Status.NEW
    assert "2026-07" in tickets["640521"].examples[0]["value"]
    assert "landing/640521/petition_records/" in tickets["640521"].fix

    # evaluating again changes nothing (no second ticket, no history noise)
    again = sync_freshness_tickets(engine, late, at=AT)
    assert again.opened == again.updated == again.reopened == ()
    assert len(list_tickets(engine, dataset_id=entry.dataset_id)) == 2

    # 中宁县 delivers 2026-10: its ticket closes as verified; 海原县's stays open
    _deliver(engine, entry, "640521", "2026-10")
    later = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    fixed = evaluate_freshness(engine, entry, city, TODAY, city.county_codes)
    closed = sync_freshness_tickets(engine, fixed, at=later, only_counties={"640521"})
    assert closed.closed == (tickets["640521"].id,)
    status = {t.county_code: t.status for t in list_tickets(engine, dataset_id=entry.dataset_id)}
    assert status == {"640521": Status.CLOSED, "640522": Status.NEW}


@pytest.mark.parametrize("today, passed", [(date(2026, 5, 20), True), (None, False)])
def test_the_freshness_check_judges_as_of_publicdata_today(tmp_path, catalog, city, today, passed):
    """The check's day is ``PUBLICDATA_TODAY`` when set (every deadline's "today"), else today in
    China: 2026-Q1 delivered by every county is on time on 2026-05-20, late a year and more on."""
    import dagster as dg

    from assets.catalog_sync.checks import FRESHNESS_JOB_NAME, freshness_check_key
    from orchestration.assembly import build_definitions
    from tests.helpers import settings_for

    settings = settings_for(tmp_path / "data", today=today)
    ensure_platform_schema(settings.platform_url)
    entry = catalog["medical_institutions"]
    for county in city.county_codes:
        _deliver(get_engine(settings.exchange_url), entry, county, "2026-Q1")
    job = build_definitions(settings).resolve_job_def(FRESHNESS_JOB_NAME)
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        [evaluation] = [
            e.event_specific_data
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            and e.event_specific_data.asset_check_key == freshness_check_key(entry.dataset_id)
        ]
    assert evaluation.passed is passed
    expected = "2026-Q1" if today else "2026-Q3"
    assert evaluation.metadata["expected_period"].value >= expected
    if today:
        assert evaluation.metadata["as_of"].value == "2026-05-20"
