"""Freshness (时效性) per catalog entry and county: the rule behind the exchange assets' freshness checks.

Each entry's 更新频率 says which period every county must have delivered by a given day
(:func:`assets.catalog_sync.mounting.expected_latest_period`). A county whose newest period in the
exchange table is older than that — or that has delivered nothing — is late. The counties expected to
deliver an entry are those that registered it in the latest catalog version; an entry the registry
does not (yet) hold is expected from every county of the city, since the pipeline catalog applies
city-wide.

A late county gets a 时效性 quality ticket addressed to its office of the entry's source department
(``信息资源提供方``), one ticket per (dataset, county) under the rule ``freshness.<dataset_id>``; the
first check that finds the county on time closes it as verified. Tickets are written only where the
ticket store (``assets.quality``) is installed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Engine

from assets.catalog_sync.mounting import (
    GRACE_DAYS,
    STATUS_NO_DATA,
    STATUS_NO_TABLE,
    expected_latest_period,
    mounting_status,
)
from assets.catalog_sync.versions import latest_version
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.quality import Dimension, Severity
from assets.common.workdays import DuePolicy
from assets.tickets import intake
from assets.tickets.rules import Finding

CHINA = ZoneInfo("Asia/Shanghai")
FRESHNESS_RULE_PREFIX = "freshness"

COUNTY_COLUMNS = [
    "county_code",
    "county_name",
    "rows",
    "latest_period",
    "expected_period",
    "fresh",
    "status",
]


def china_today(now: datetime | None = None) -> date:
    """The calendar date in China (deadlines are Chinese working days)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()


def freshness_rule_id(dataset_id: str) -> str:
    return f"{FRESHNESS_RULE_PREFIX}.{dataset_id}"


def expected_counties(platform_engine: Engine, entry: CatalogEntry, city: City) -> tuple[str, ...]:
    """Counties that owe deliveries of ``entry``: its registrants in the latest catalog version,
    else (the entry is not in the registry's catalog) every county of the city."""
    version = latest_version(platform_engine)
    if version is not None:
        registered = version.snapshot.get("entries", {}).get(entry.dataset_id)
        if registered is not None:
            known = set(city.county_codes)
            return tuple(c for c in registered["counties"] if c in known)
    return tuple(city.county_codes)


@dataclass(frozen=True)
class FreshnessResult:
    """One evaluation of an entry's freshness as of ``today``: a row per expected county."""

    entry: CatalogEntry
    today: date
    expected_period: str
    counties: pd.DataFrame = field(repr=False)

    @property
    def dataset_id(self) -> str:
        return self.entry.dataset_id

    @property
    def late(self) -> pd.DataFrame:
        return self.counties.loc[~self.counties["fresh"]]

    @property
    def late_codes(self) -> list[str]:
        return self.late["county_code"].tolist()

    @property
    def fresh_codes(self) -> list[str]:
        return self.counties.loc[self.counties["fresh"], "county_code"].tolist()

    @property
    def passed(self) -> bool:
        return self.late.empty

    def description(self) -> str:
        """One line for the check result, naming every late county."""
        rule = f"{self.entry.frequency.value}更新，截至 {self.today} 应已报送至 {self.expected_period} 期"
        if self.counties.empty:
            return f"{rule}；没有应报送的县（区）"
        if self.passed:
            return f"{rule}；{len(self.counties)} 个县（区）均按时报送"
        late = "；".join(
            f"{row.county_name}（{row.county_code}）{_lag_text(row.latest_period, row.status)}"
            for row in self.late.itertuples()
        )
        return f"{rule}；数据滞后：{late}"

    def table_markdown(self) -> str:
        lines = [
            "| 县（区） | 代码 | 行数 | 最新报送期 | 应报送至 | 状态 |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {row.county_name} | {row.county_code} | {row.rows} | {row.latest_period or '—'} | "
            f"{row.expected_period} | {row.status} |"
            for row in self.counties.itertuples()
        ]
        return "\n".join(lines)


def _lag_text(latest_period: str | None, status: str) -> str:
    if status == STATUS_NO_TABLE:
        return "尚无任何县（区）报送，交换表未建立"
    if status == STATUS_NO_DATA or not latest_period:
        return "尚未报送任何一期"
    return f"最新报送期 {latest_period}"


def evaluate_freshness(
    exchange_engine: Engine, entry: CatalogEntry, city: City, today: date, counties: Sequence[str]
) -> FreshnessResult:
    """Newest delivered period per expected county against the entry's 更新频率 as of ``today``."""
    status = mounting_status(exchange_engine, [(entry, counties)], city, today)
    expected = status.loc[status["registered"], COUNTY_COLUMNS].reset_index(drop=True)
    latest = expected["latest_period"].astype(object)
    expected["latest_period"] = latest.where(latest.notna(), None)
    return FreshnessResult(
        entry=entry,
        today=today,
        expected_period=expected_latest_period(entry.frequency, today),
        counties=expected,
    )


# --- 时效性 tickets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreshnessTickets:
    """Ticket ids by what one freshness evaluation did, and the counties it spoke for."""

    opened: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    open_by_county: dict[str, str] = field(default_factory=dict)

    @property
    def total_changed(self) -> int:
        return len(self.opened) + len(self.reopened) + len(self.updated) + len(self.closed)


def _fix_text(entry: CatalogEntry, county_code: str, expected: str) -> str:
    grace = GRACE_DAYS[entry.frequency]
    return (
        f"《{entry.title}》按目录{entry.frequency.value}更新，每期结束后 {grace} 天内应报送。"
        f"请尽快报送截至 {expected} 期尚未报送的各期数据"
        f"（文件放入 landing/{county_code}/{entry.dataset_id}/<期>.csv 或 .xlsx），"
        "并按期持续报送；平台收到按时数据后本工单自动复核关闭。"
    )


def sync_freshness_tickets(
    platform_engine: Engine,
    result: FreshnessResult,
    *,
    at: datetime,
    only_counties: Collection[str] | None = None,
) -> FreshnessTickets:
    """Open (or update) a 时效性 ticket for each late county, close it for each fresh one.

    ``only_counties`` limits the counties spoken for (a partition run knows only about the county
    whose delivery just landed).
    """
    entry = result.entry
    rule_id = freshness_rule_id(entry.dataset_id)
    outcome: dict[str, list[str]] = {"opened": [], "reopened": [], "updated": [], "closed": []}
    open_by_county: dict[str, str] = {}
    for row in result.counties.itertuples():
        if only_counties is not None and row.county_code not in only_counties:
            continue
        findings = []
        if not row.fresh:
            findings = [
                Finding(
                    rule_id=rule_id,
                    expectation=(
                        f"按更新频率（{entry.frequency.value}）按时报送："
                        f"截至 {result.today} 应已报送至 {result.expected_period} 期"
                    ),
                    columns=(),
                    dimension=Dimension.TIMELINESS,
                    severity=Severity.MEDIUM,
                    failed_count=1,
                    total=1,
                    examples=(
                        {
                            "source_row": None,
                            "value": f"最新报送期 {row.latest_period or '无'}（{row.status}）",
                        },
                    ),
                    fix=_fix_text(entry, row.county_code, result.expected_period),
                )
            ]
        synced = intake.sync_findings(
            platform_engine,
            dataset_id=entry.dataset_id,
            county_code=row.county_code,
            department_id=entry.provider,
            period=result.expected_period,
            findings=findings,
            passed_rule_ids=() if findings else (rule_id,),
            checked_at=at,
            due_policy=DuePolicy(),
        )
        for kind in outcome:
            outcome[kind] += getattr(synced, kind)
        for ticket in synced.tickets:
            if ticket.is_open:
                open_by_county[row.county_code] = ticket.id
    return FreshnessTickets(
        **{kind: tuple(ids) for kind, ids in outcome.items()}, open_by_county=open_by_county
    )
