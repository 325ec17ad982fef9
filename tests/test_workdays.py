"""Working days on the official calendar: Spring Festival and National Day with their make-up days."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from assets.common import workdays
from assets.common.workdays import DuePolicy, add_working_days, is_working_day

# State Council schedules: 2025 春节 1/28–2/4 (调休上班 1/26 周日, 2/8 周六), 国庆 10/1–10/8
# (9/28 周日, 10/11 周六); 2026 春节 2/15–2/23 (2/14 周六, 2/28 周六), 中秋 9/25, 国庆 10/1–10/7
# (9/20 周日, 10/10 周六).


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 26), True),  # Sunday, make-up working day
        (date(2025, 1, 28), False),  # Tuesday, Spring Festival eve holiday
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),  # Saturday, make-up
        (date(2025, 9, 28), True),  # Sunday, make-up
        (date(2025, 10, 8), False),  # Wednesday, National Day
        (date(2025, 10, 11), True),  # Saturday, make-up
        (date(2026, 2, 14), True),  # Saturday, make-up
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 23), False),
        (date(2026, 2, 28), True),  # Saturday, make-up
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 9, 20), True),  # Sunday, make-up
        (date(2026, 9, 25), False),  # Friday, Mid-Autumn
        (date(2026, 10, 10), True),  # Saturday, make-up
        (date(2026, 10, 12), True),  # an ordinary Monday
    ],
)
def test_is_working_day_follows_the_official_schedule(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 2025 Spring Festival, from Friday 24 January
        (date(2025, 1, 24), 1, date(2025, 1, 26)),  # the make-up Sunday counts
        (date(2025, 1, 24), 2, date(2025, 1, 27)),
        (date(2025, 1, 24), 3, date(2025, 2, 5)),  # the whole holiday skipped
        (date(2025, 1, 24), 5, date(2025, 2, 7)),
        (date(2025, 1, 24), 6, date(2025, 2, 8)),  # the make-up Saturday counts
        (date(2025, 1, 24), 7, date(2025, 2, 10)),
        # 2025 National Day, from Friday 26 September
        (date(2025, 9, 26), 1, date(2025, 9, 28)),
        (date(2025, 9, 26), 3, date(2025, 9, 30)),
        (date(2025, 9, 26), 4, date(2025, 10, 9)),
        (date(2025, 9, 26), 6, date(2025, 10, 11)),
        # 2026 Spring Festival, from Friday 13 February
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 2, date(2026, 2, 24)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        (date(2026, 2, 13), 6, date(2026, 2, 28)),
        (date(2026, 2, 13), 7, date(2026, 3, 2)),
        # 2026 Mid-Autumn and National Day, from Friday 18 September
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        (date(2026, 9, 18), 5, date(2026, 9, 24)),
        (date(2026, 9, 18), 6, date(2026, 9, 28)),  # Friday 25th is Mid-Autumn
        (date(2026, 9, 18), 9, date(2026, 10, 8)),
        (date(2026, 9, 18), 11, date(2026, 10, 10)),
        # starting on a holiday
        (date(2026, 10, 3), 1, date(2026, 10, 8)),
        # zero and backwards
        (date(2026, 2, 16), 0, date(2026, 2, 16)),
        (date(2025, 2, 10), -1, date(2025, 2, 8)),
        (date(2025, 2, 5), -1, date(2025, 1, 27)),
    ],
)
def test_add_working_days_across_holidays_and_make_up_days(start, n, expected):
    assert add_working_days(start, n) == expected


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(workdays, "_warned_years", set())


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2099, 1, 5), 5, date(2099, 1, 12)),  # Monday → Monday–Friday, no festival in between
        # no official file: python-holidays' National Day (1–5 October 2099) is off, no 调休
        (date(2099, 10, 1), 3, date(2099, 10, 8)),
        (date(1999, 2, 12), 1, date(1999, 2, 15)),  # before the shipped files start: weekdays
    ],
)
def test_years_without_an_official_file_are_provisional(fresh_warnings, start, n, expected):
    assert add_working_days(start, n) == expected
    assert workdays.default_calendar().due(start, n).provisional


def test_fallback_warns_once_per_year(fresh_warnings, caplog):
    with caplog.at_level(logging.WARNING, logger=workdays.__name__):
        add_working_days(date(2099, 3, 2), 10)
        add_working_days(date(2099, 6, 1), 3)
        add_working_days(date(2098, 6, 1), 3)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert "2099" in messages[0] and "2098" in messages[1]


def test_due_policy_per_severity_with_default_five():
    policy = DuePolicy(days_by_severity={"高": 3, "低": 10})
    checked = date(2026, 9, 30)
    assert policy.working_days("中") == 5
    assert policy.due_date(checked, "中") == date(2026, 10, 13)
    assert policy.due_date(checked, "高") == date(2026, 10, 10)  # the make-up Saturday
    assert policy.due_date(checked, "低") == date(2026, 10, 20)


def test_due_date_counts_from_the_china_date_of_the_check():
    # 17:00 UTC on 29 September is 01:00 on 30 September in China
    late = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    assert DuePolicy().due_date(late, "中") == date(2026, 10, 13)
    early = datetime(2026, 9, 29, 8, 0, tzinfo=UTC)
    assert DuePolicy().due_date(early, "中") == date(2026, 10, 12)


@pytest.mark.parametrize("bad", [{"高": 0}, {"中": -2}])
def test_due_policy_refuses_non_positive_days(bad):
    with pytest.raises(ValueError, match="正整数"):
        DuePolicy(days_by_severity=bad)
