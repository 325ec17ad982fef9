"""Working days (工作日) on the official Chinese calendar, for quality-ticket due dates.

The State Council publishes each year's public holidays and the make-up working weekends (调休) that go
with them; the ``chinese-calendar`` package carries those schedules for the years it knows. For a year it
does not cover (a future year before the package is updated, or a year before its data starts), the
calendar falls back to Monday–Friday and logs one warning per year: a due date a day or two off is
better than a check that crashes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_DUE_WORKING_DAYS = 5

_warned_years: set[int] = set()
_warn_lock = threading.Lock()


def _warn_uncovered(year: int) -> None:
    with _warn_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "chinese-calendar has no official holiday schedule for %d; working days for that year "
        "fall back to Monday-Friday (update the chinese-calendar package when the State Council "
        "publishes the schedule)",
        year,
    )


def is_working_day(day: date) -> bool:
    """True on official working days: weekdays that are not holidays, and make-up weekends (调休)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted).

    ``n == 0`` returns ``start``; a negative ``n`` counts backwards.
    """
    if isinstance(start, datetime):
        start = start.date()
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    day = start
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def china_date(moment: datetime) -> date:
    """The calendar date in China (UTC+8) of a moment; a naive datetime is taken as China time."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(CHINA_TZ).date()


@dataclass(frozen=True)
class DuePolicy:
    """How many working days a department has to fix a ticket, by severity.

    ``DuePolicy()`` gives every severity the default of 5 working days;
    ``DuePolicy(days_by_severity={"critical": 3, "low": 10})`` tightens or relaxes single severities.
    """

    default_days: int = DEFAULT_DUE_WORKING_DAYS
    days_by_severity: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = [self.default_days, *self.days_by_severity.values()]
        if any(not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"整改期限须为正整数个工作日: {dict(self.days_by_severity)}")
        object.__setattr__(self, "days_by_severity", MappingProxyType(dict(self.days_by_severity)))

    def working_days(self, severity: str) -> int:
        return self.days_by_severity.get(severity, self.default_days)

    def due_date(self, checked_at: datetime | date, severity: str) -> date:
        """Checked date (in China) + N working days for the severity."""
        checked = china_date(checked_at) if isinstance(checked_at, datetime) else checked_at
        return add_working_days(checked, self.working_days(severity))
