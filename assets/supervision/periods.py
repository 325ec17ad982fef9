"""Report periods: a month ``YYYY-MM`` or a year ``YYYY``, as China-date bounds and UTC instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Period:
    key: str  # 2026-11 | 2026
    start: date  # first day
    end: date  # the day after the last

    @property
    def kind(self) -> str:
        return "monthly" if len(self.key) == 7 else "yearly"

    @property
    def label(self) -> str:
        return (
            f"{self.key[:4]}年{int(self.key[5:])}月"
            if self.kind == "monthly"
            else f"{self.key}年度"
        )

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, CHINA).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, CHINA).astimezone(UTC)

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end


def parse_period(key: str) -> Period:
    if re.fullmatch(r"\d{4}-\d{2}", key):
        year, month = int(key[:4]), int(key[5:])
        if not 1 <= month <= 12:
            raise ValueError(f"不是有效的月份: {key}")
        end = date(year + (month == 12), month % 12 + 1, 1)
        return Period(key, date(year, month, 1), end)
    if re.fullmatch(r"\d{4}", key):
        year = int(key)
        return Period(key, date(year, 1, 1), date(year + 1, 1, 1))
    raise ValueError(f"报告期应为 YYYY-MM 或 YYYY: {key}")


def china_day(moment: datetime | None) -> date | None:
    """The China date of a stored moment (SQLite gives naive UTC back, PostgreSQL aware)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()
