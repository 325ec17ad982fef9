"""Delivery periods by update frequency (更新频率): 每日 ``YYYY-MM-DD``, 每月 ``YYYY-MM``, 每季度
``YYYY-Qn``, 每年 ``YYYY``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from assets.common.catalog import Frequency


@dataclass(frozen=True)
class Period:
    """One delivery period: its key as in the landing file name, and its first and last day."""

    key: str
    start: date
    end: date


def period_containing(frequency: Frequency, day: date) -> Period:
    if frequency is Frequency.DAILY:
        return Period(day.isoformat(), day, day)
    if frequency is Frequency.MONTHLY:
        start = day.replace(day=1)
        return Period(f"{day.year:04d}-{day.month:02d}", start, _month_end(day.year, day.month))
    if frequency is Frequency.QUARTERLY:
        quarter = (day.month - 1) // 3 + 1
        start = date(day.year, 3 * quarter - 2, 1)
        return Period(f"{day.year:04d}-Q{quarter}", start, _month_end(day.year, 3 * quarter))
    return Period(f"{day.year:04d}", date(day.year, 1, 1), date(day.year, 12, 31))


def recent_periods(frequency: Frequency, as_of: date, count: int) -> list[Period]:
    """The ``count`` most recent complete periods (ended before ``as_of``), oldest first."""
    if count < 1:
        raise ValueError("periods 至少为 1")
    periods: list[Period] = []
    current = period_containing(frequency, as_of)
    for _ in range(count):
        current = period_containing(frequency, current.start - timedelta(days=1))
        periods.append(current)
    return periods[::-1]


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)
