"""Working days (工作日) on the official Chinese calendar, for every deadline of the platform.

The State Council announces each year's public holidays and the make-up working weekends (调休) that go
with them. The operator keeps each announced year as a small file, ``<calendar dir>/<year>.yaml``
(shipped: ``config/calendar/``, transcribed from the ``chinese-calendar`` package for the years it
knows); those files are the calendar, before any package.

For a year without an official file the calendar is *provisional*: public holidays as python-holidays
computes them (it knows the festivals, not the 调休 working weekends), otherwise Monday–Friday, with one
warning per year. A due date whose clock runs through such a year is provisional (``Due.provisional``):
a legal consequence such as a deemed approval (视为同意) must wait until the year's schedule is loaded.
Files are re-read when they change, so a long-running process sees a newly loaded year.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import yaml

from assets.common.yamlfile import read_yaml_mapping

log = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_DUE_WORKING_DAYS = 5
DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parents[2] / "config" / "calendar"

_warned_years: set[int] = set()
_warn_lock = threading.Lock()


class CalendarError(ValueError):
    """An official calendar file that cannot be read or does not hold together; says which and why."""


def _warn_provisional(year: int) -> None:
    with _warn_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "no official holiday schedule for %d: its working days are provisional (python-holidays' "
        "public holidays, otherwise Monday-Friday; no 调休 working weekends) until the operator loads "
        "the State Council's schedule as config/calendar/%d.yaml",
        year,
        year,
    )


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: days off (放假) and make-up working days (调休上班), by holiday."""

    year: int
    source: str
    holidays: Mapping[str, tuple[date, ...]]
    workdays: Mapping[str, tuple[date, ...]]

    @property
    def days_off(self) -> frozenset[date]:
        return frozenset(d for days in self.holidays.values() for d in days)

    @property
    def make_up_days(self) -> frozenset[date]:
        return frozenset(d for days in self.workdays.values() for d in days)

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_days:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def as_document(self) -> dict[str, object]:
        return {
            "year": self.year,
            "source": self.source,
            "holidays": {name: list(days) for name, days in self.holidays.items()},
            "workdays": {name: list(days) for name, days in self.workdays.items()},
        }


def _days(raw: object, year: int, where: str) -> dict[str, tuple[date, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CalendarError(f"{where} 应为“节日名称: [日期, …]”的映射")
    out: dict[str, tuple[date, ...]] = {}
    for name, days in raw.items():
        if not isinstance(days, list) or not all(isinstance(d, date) for d in days):
            raise CalendarError(f"{where}.{name} 应为日期列表（YYYY-MM-DD）")
        wrong = [d for d in days if d.year != year]
        if wrong:
            raise CalendarError(f"{where}.{name} 含有不属于 {year} 年的日期: {wrong[0]}")
        out[str(name)] = tuple(sorted(days))
    return out


def parse_schedule(document: object, *, name: str = "calendar") -> YearSchedule:
    """Validate one year's schedule document (the YAML file's content)."""
    if not isinstance(document, dict) or not isinstance(document.get("year"), int):
        raise CalendarError(f"{name}: 应为含 year（整数）、holidays、workdays 的映射")
    year = document["year"]
    schedule = YearSchedule(
        year=year,
        source=str(document.get("source") or "").strip(),
        holidays=MappingProxyType(_days(document.get("holidays"), year, f"{name}: holidays")),
        workdays=MappingProxyType(_days(document.get("workdays"), year, f"{name}: workdays")),
    )
    if not schedule.source:
        raise CalendarError(f"{name}: 缺少 source（国务院办公厅通知的名称或文号）")
    if not schedule.days_off:
        raise CalendarError(f"{name}: 没有放假日期")
    both = schedule.days_off & schedule.make_up_days
    if both:
        raise CalendarError(f"{name}: {min(both)} 既是放假日又是调休上班日")
    weekdays = sorted(d for d in schedule.make_up_days if d.weekday() < 5)
    if weekdays:
        raise CalendarError(f"{name}: 调休上班日应为周末，{weekdays[0]} 是工作日")
    return schedule


def load_schedule(path: Path) -> YearSchedule:
    document = read_yaml_mapping(path, what="日历文件", error=CalendarError)
    schedule = parse_schedule(document, name=path.name)
    if path.stem != str(schedule.year):
        raise CalendarError(f"{path.name}: 文件名应为 {schedule.year}.yaml")
    return schedule


def dump_schedule(schedule: YearSchedule) -> str:
    header = f"# {schedule.year} 年放假安排与调休上班日（工作日计算以本文件为准）\n"
    return header + yaml.safe_dump(
        schedule.as_document(),
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=100,
    )


def schedule_from_chinese_calendar(year: int) -> YearSchedule:
    """Transcribe a year the ``chinese-calendar`` package knows (how the shipped files were made)."""
    import chinese_calendar
    from chinese_calendar import constants

    names = {h.value: h.chinese for h in constants.Holiday}
    holidays: dict[str, list[date]] = {}
    workdays: dict[str, list[date]] = {}
    for table, out in ((constants.holidays, holidays), (constants.workdays, workdays)):
        for day in sorted(d for d in table if d.year == year):
            _, holiday = chinese_calendar.get_holiday_detail(day)
            out.setdefault(names.get(holiday, holiday or "其他"), []).append(day)
    if not holidays:
        raise CalendarError(f"chinese-calendar 没有 {year} 年的放假安排")
    return parse_schedule(
        {
            "year": year,
            "source": f"国务院办公厅关于{year}年部分节假日安排的通知"
            f"（转录自 chinese-calendar {chinese_calendar.__version__}）",
            "holidays": holidays,
            "workdays": workdays,
        },
        name=f"{year}",
    )


def _provisional_days_off(year: int) -> frozenset[date]:
    import holidays

    try:
        return frozenset(holidays.country_holidays("CN", years=year).keys())
    except (NotImplementedError, KeyError):
        return frozenset()


@dataclass(frozen=True)
class Due:
    """A due date and whether it rests on a provisional (not yet officially announced) calendar."""

    day: date
    provisional: bool


@dataclass
class WorkCalendar:
    """The official calendar read from ``directories`` (later directories win for the same year)."""

    directories: Sequence[Path] = (DEFAULT_CALENDAR_DIR,)
    _cache_key: tuple = field(default=(), init=False, repr=False)
    _schedules: dict[int, YearSchedule] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _files(self) -> list[Path]:
        files: dict[str, Path] = {}
        for directory in self.directories:
            if Path(directory).is_dir():
                for path in sorted(Path(directory).glob("[0-9][0-9][0-9][0-9].yaml")):
                    files[path.stem] = path
        return [files[year] for year in sorted(files)]

    def schedules(self) -> dict[int, YearSchedule]:
        """The official years, re-read when a file is added, changed or removed."""
        files = self._files()
        key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        with self._lock:
            if key != self._cache_key:
                self._schedules = {s.year: s for s in (load_schedule(p) for p in files)}
                self._cache_key = key
            return dict(self._schedules)

    def official_years(self) -> list[int]:
        return sorted(self.schedules())

    def view(self) -> CalendarView:
        """A snapshot for one computation (reads the files once)."""
        return CalendarView(self.schedules())

    def is_working_day(self, day: date) -> bool:
        return self.view().is_working_day(day)

    def add_working_days(self, start: date, n: int) -> date:
        return self.view().add_working_days(start, n)

    def due(self, start: date, n: int) -> Due:
        return self.view().due(start, n)


@dataclass
class CalendarView:
    official: Mapping[int, YearSchedule]
    _provisional: dict[int, frozenset[date]] = field(default_factory=dict)

    def is_official(self, year: int) -> bool:
        return year in self.official

    def is_working_day(self, day: date) -> bool:
        schedule = self.official.get(day.year)
        if schedule is not None:
            return schedule.is_working_day(day)
        _warn_provisional(day.year)
        if day.year not in self._provisional:
            self._provisional[day.year] = _provisional_days_off(day.year)
        return day.weekday() < 5 and day not in self._provisional[day.year]

    def add_working_days(self, start: date, n: int) -> date:
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
            if self.is_working_day(day):
                remaining -= 1
        return day

    def due(self, start: date, n: int) -> Due:
        """``start`` + ``n`` working days; provisional when the clock runs through a year without an
        official schedule."""
        if isinstance(start, datetime):
            start = start.date()
        day = self.add_working_days(start, n)
        low, high = sorted((start, day))
        years: Iterable[int] = range(low.year, high.year + 1)
        return Due(day=day, provisional=any(not self.is_official(y) for y in years))


_default_lock = threading.Lock()
_default = WorkCalendar()


def use_calendar_dir(directory: Path | None) -> WorkCalendar:
    """Make the operator's calendar directory (settings) the default, over the shipped files."""
    global _default
    directories = (DEFAULT_CALENDAR_DIR,)
    if directory is not None and Path(directory).resolve() != DEFAULT_CALENDAR_DIR:
        directories = (DEFAULT_CALENDAR_DIR, Path(directory))
    with _default_lock:
        if tuple(_default.directories) != directories:
            _default = WorkCalendar(directories)
        return _default


def default_calendar() -> WorkCalendar:
    return _default


def is_working_day(day: date) -> bool:
    """True on official working days: weekdays that are not holidays, and make-up weekends (调休)."""
    return _default.is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
    return _default.add_working_days(start, n)


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
