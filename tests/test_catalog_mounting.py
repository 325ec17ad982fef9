"""Data mounting (数据挂接) and the freshness rule per 更新频率."""

from __future__ import annotations

from datetime import date

import pytest

from assets.catalog_sync.mounting import (
    GRACE_DAYS,
    STATUS_LATE,
    STATUS_NO_DATA,
    STATUS_NO_TABLE,
    STATUS_OK,
    expected_latest_period,
    is_fresh,
    mounting_status,
    mounting_summary,
    period_of,
)
from assets.common.catalog import Frequency
from assets.exchange.load import load_exchange_slice
from assets.storage.engine import get_engine
from tests.helpers import slice_frame


@pytest.mark.parametrize(
    ("frequency", "today", "expected"),
    [
        # a day's data is due by the end of the next day
        (Frequency.DAILY, date(2026, 11, 27), "2026-11-25"),
        (Frequency.DAILY, date(2026, 3, 1), "2026-02-27"),
        (Frequency.DAILY, date(2028, 3, 1), "2028-02-28"),  # leap year
        # a month's by the 10th of the next month
        (Frequency.MONTHLY, date(2026, 11, 10), "2026-09"),
        (Frequency.MONTHLY, date(2026, 11, 11), "2026-10"),
        (Frequency.MONTHLY, date(2027, 1, 10), "2026-11"),
        (Frequency.MONTHLY, date(2027, 1, 11), "2026-12"),
        # a quarter's 15 days after it ends
        (Frequency.QUARTERLY, date(2026, 1, 15), "2025-Q3"),
        (Frequency.QUARTERLY, date(2026, 1, 16), "2025-Q4"),
        (Frequency.QUARTERLY, date(2026, 11, 27), "2026-Q3"),
        # a year's by 31 January
        (Frequency.YEARLY, date(2027, 1, 31), "2025"),
        (Frequency.YEARLY, date(2027, 2, 1), "2026"),
    ],
)
def test_expected_latest_period(frequency, today, expected):
    assert expected_latest_period(frequency, today) == expected
    assert expected_latest_period(frequency.value, today) == expected  # 更新频率 as registered


@pytest.mark.parametrize("frequency", list(Frequency))
def test_without_grace_the_previous_period_is_due(frequency):
    today = date(2026, 7, 1)
    expected = {
        Frequency.DAILY: "2026-06-30",
        Frequency.MONTHLY: "2026-06",
        Frequency.QUARTERLY: "2026-Q2",
        Frequency.YEARLY: "2025",
    }[frequency]
    assert expected_latest_period(frequency, today, grace_days=0) == expected
    assert period_of(frequency, today) > expected
    assert GRACE_DAYS[frequency] >= 1


@pytest.mark.parametrize(
    ("latest", "fresh"),
    [
        ("2026-10", True),
        ("2026-11", True),  # ahead of schedule is fine
        ("2026-09", False),
        ("2025-12", False),
        (None, False),  # nothing delivered
        ("2026-Q4", False),  # a key of another frequency
        ("2026-10-31", False),
    ],
)
def test_is_fresh_for_a_monthly_entry(latest, fresh):
    assert is_fresh(latest, Frequency.MONTHLY, date(2026, 11, 27)) is fresh


def test_mounting_shows_a_late_county_and_a_county_without_data(db_url, city, catalog):
    engine = get_engine(db_url)
    households = catalog["household_registration"]
    for county, period, rows in (
        ("640502", "2026-09", 3),
        ("640502", "2026-10", 4),  # on time
        ("640521", "2026-08", 2),
        ("640521", "2026-09", 5),  # October is overdue on 27 November
    ):
        load_exchange_slice(
            engine,
            households,
            slice_frame(households, county, period, rows),
            county_code=county,
            period=period,
        )
    today = date(2026, 11, 27)
    status = mounting_status(
        engine,
        [
            (households, ("640502", "640521", "640522")),
            (catalog["medical_institutions"], ("640502",)),
        ],
        city,
        today,
    ).set_index(["dataset_id", "county_code"])

    ok = status.loc[("household_registration", "640502")]
    assert (ok["rows"], ok["latest_period"], ok["fresh"], ok["status"]) == (
        7,
        "2026-10",
        True,
        STATUS_OK,
    )
    assert ok["expected_period"] == "2026-10"
    assert ok["latest_ingested_at"].year == 2026

    late = status.loc[("household_registration", "640521")]
    assert (late["rows"], late["latest_period"], late["fresh"], late["status"]) == (
        7,
        "2026-09",
        False,
        STATUS_LATE,
    )
    assert late["fresh"] == is_fresh("2026-09", households.frequency, today)

    none = status.loc[("household_registration", "640522")]
    assert (none["rows"], none["fresh"], none["status"]) == (0, False, STATUS_NO_DATA)
    assert bool(none["registered"]) is True

    medical = status.loc["medical_institutions"]
    assert set(medical["status"]) == {STATUS_NO_TABLE}
    assert medical["registered"].to_dict() == {"640502": True, "640521": False, "640522": False}

    summary = mounting_summary(status.reset_index()).set_index("dataset_id")
    assert summary.loc["household_registration", "registered"] == 3
    assert summary.loc["household_registration", "with_data"] == 2
    assert summary.loc["household_registration", "fresh"] == 1
    assert summary.loc["household_registration", "late_counties"] == ["640521", "640522"]
    assert summary.loc["medical_institutions", "late_counties"] == ["640502"]
