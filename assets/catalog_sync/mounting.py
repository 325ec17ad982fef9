"""Data mounting (数据挂接): is data actually flowing for each catalog entry and county?

An entry is mounted for a county when the entry's exchange table holds rows of that county and the
newest period is fresh for the entry's 更新频率. These figures feed 第三十一条's reports on each source
department's catalog compilation and data mounting; ``expected_latest_period`` and ``is_fresh`` are the
freshness rule the exchange assets' freshness checks use too.

A period is due ``GRACE_DAYS[frequency]`` days after it ends: with the defaults, a day's data by the
end of the next day, a month's by the 10th of the next month, a quarter's 15 days after it, a year's
by 31 January.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry, Frequency
from assets.common.city import City
from assets.storage.tables import exchange_loads_table

GRACE_DAYS: dict[Frequency, int] = {
    Frequency.DAILY: 1,
    Frequency.MONTHLY: 10,
    Frequency.QUARTERLY: 15,
    Frequency.YEARLY: 31,
}

STATUS_OK = "正常"
STATUS_LATE = "数据滞后"
STATUS_NO_DATA = "无数据"
STATUS_NO_TABLE = "未建交换表"

MOUNTING_COLUMNS = [
    "dataset_id",
    "title",
    "frequency",
    "department_id",
    "county_code",
    "county_name",
    "registered",
    "table_present",
    "rows",
    "latest_period",
    "latest_ingested_at",
    "expected_period",
    "fresh",
    "status",
]


def period_of(frequency: Frequency, day: date) -> str:
    """The period key (as landing files carry it) of the period containing ``day``."""
    if frequency is Frequency.DAILY:
        return day.isoformat()
    if frequency is Frequency.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if frequency is Frequency.QUARTERLY:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def previous_period(frequency: Frequency, day: date) -> str:
    """The period before the one containing ``day``."""
    if frequency is Frequency.DAILY:
        return period_of(frequency, day - timedelta(days=1))
    if frequency is Frequency.MONTHLY:
        return period_of(frequency, day.replace(day=1) - timedelta(days=1))
    if frequency is Frequency.QUARTERLY:
        first_month = 3 * ((day.month - 1) // 3) + 1
        return period_of(frequency, day.replace(month=first_month, day=1) - timedelta(days=1))
    return f"{day.year - 1:04d}"


def expected_latest_period(
    frequency: Frequency | str, today: date, grace_days: int | None = None
) -> str:
    """The newest period that must have been delivered by ``today``.

    A period is due ``grace_days`` (default ``GRACE_DAYS[frequency]``) days after its last day.
    """
    frequency = Frequency(frequency)
    grace = GRACE_DAYS[frequency] if grace_days is None else grace_days
    return previous_period(frequency, today - timedelta(days=grace))


def is_fresh(
    latest_period: str | None,
    frequency: Frequency | str,
    today: date,
    grace_days: int | None = None,
) -> bool:
    """Whether data up to ``latest_period`` is on time for ``frequency`` as of ``today``.

    ``None`` (no data) and a period not written in the frequency's key format are not fresh.
    """
    frequency = Frequency(frequency)
    if latest_period is None or not re.fullmatch(frequency.period_pattern, latest_period):
        return False
    # period keys of one format order as text (YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD)
    return latest_period >= expected_latest_period(frequency, today, grace_days)


def _fresh_column(frame: pd.DataFrame, frequency: Frequency, expected: str) -> pd.Series:
    latest = frame["latest_period"].astype("string")
    well_formed = latest.str.fullmatch(frequency.period_pattern).fillna(False).astype(bool)
    return well_formed & (latest >= expected).fillna(False).astype(bool)


def _exchange_summary(engine: Engine, dataset_id: str) -> pd.DataFrame | None:
    """Rows, newest period and newest ingest per county; ``None`` when the table does not exist."""
    table = exchange_loads_table(dataset_id)  # its loads, never its rows (storage.exchange_layout)
    if not sa.inspect(engine).has_table(table.name):
        return None
    query = sa.select(
        table.c.county_code,
        sa.func.sum(table.c.rows).label("rows"),
        sa.func.max(table.c.period).label("latest_period"),
        sa.func.max(table.c.ingested_at).label("latest_ingested_at"),
    ).group_by(table.c.county_code)
    with engine.connect() as connection:
        frame = pd.DataFrame(
            connection.execute(query).all(),
            columns=["county_code", "rows", "latest_period", "latest_ingested_at"],
        )
    # SQLite hands the untyped aggregate back as text
    frame["latest_ingested_at"] = pd.to_datetime(
        frame["latest_ingested_at"], utc=True, format="mixed", errors="coerce"
    )
    return frame


def mounting_status(
    exchange_engine: Engine,
    entries: Iterable[tuple[CatalogEntry, Iterable[str]]],
    city: City,
    today: date,
) -> pd.DataFrame:
    """One row per (entry, county of the city): registered?, rows, newest period, fresh?, status.

    ``entries`` pairs each city catalog entry with the counties that registered it.
    """
    frames: list[pd.DataFrame] = []
    counties = pd.DataFrame(
        {
            "county_code": [c.code for c in city.counties],
            "county_name": [c.name for c in city.counties],
        }
    )
    for entry, registered in entries:
        registered_codes = set(registered)
        expected = expected_latest_period(entry.frequency, today)
        summary = _exchange_summary(exchange_engine, entry.dataset_id)
        frame = counties.copy()
        if summary is None:
            frame["rows"] = 0
            frame["latest_period"] = None
            frame["latest_ingested_at"] = None
        else:
            frame = frame.merge(summary, on="county_code", how="left")
            frame["rows"] = frame["rows"].fillna(0).astype(int)
        frame["latest_period"] = frame["latest_period"].astype(object)
        frame["latest_ingested_at"] = pd.to_datetime(frame["latest_ingested_at"], utc=True)
        frame["table_present"] = summary is not None
        frame["dataset_id"] = entry.dataset_id
        frame["title"] = entry.title
        frame["frequency"] = entry.frequency.value
        frame["department_id"] = entry.provider
        frame["registered"] = frame["county_code"].isin(registered_codes)
        frame["expected_period"] = expected
        frame["fresh"] = _fresh_column(frame, entry.frequency, expected) & (frame["rows"] > 0)
        frame["status"] = STATUS_LATE
        frame.loc[frame["fresh"], "status"] = STATUS_OK
        frame.loc[frame["rows"] == 0, "status"] = STATUS_NO_DATA
        if summary is None:
            frame["status"] = STATUS_NO_TABLE
        frames.append(frame[MOUNTING_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=MOUNTING_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def mounting_summary(status: pd.DataFrame) -> pd.DataFrame:
    """Per entry: counties registered, counties with data, counties fresh (the 第三十一条 figures)."""
    if status.empty:
        return pd.DataFrame(
            columns=["dataset_id", "registered", "with_data", "fresh", "late_counties"]
        )
    late = status["registered"] & ~status["fresh"]
    return (
        status.assign(
            with_data=status["rows"] > 0,
            late_county=status["county_code"].where(late),
        )
        .groupby("dataset_id", sort=True)
        .agg(
            registered=("registered", "sum"),
            with_data=("with_data", "sum"),
            fresh=("fresh", "sum"),
            late_counties=("late_county", lambda s: sorted(s.dropna())),
        )
        .reset_index()
    )


def mounting_markdown(status: pd.DataFrame) -> str:
    """The per-entry mounting table (第三十一条) as Markdown: counties registered, with data, on time,
    and the late ones by name."""
    lines = [
        "| dataset_id | 数据目录名称 | 更新频率 | 应报送至 | 登记县区 | 有数据 | 按时 | 滞后/未报送县区 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset_id, frame in status.groupby("dataset_id", sort=True):
        registered = frame.loc[frame["registered"]]
        late = registered.loc[~registered["fresh"], "county_name"].tolist()
        lines.append(
            f"| {dataset_id} | {frame['title'].iloc[0]} | {frame['frequency'].iloc[0]} | "
            f"{frame['expected_period'].iloc[0]} | {len(registered)} | "
            f"{int((registered['rows'] > 0).sum())} | {int(registered['fresh'].sum())} | "
            f"{'、'.join(late) or '—'} |"
        )
    return "\n".join(lines)
