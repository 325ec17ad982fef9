"""The platform resource: the one place assets get paths, engines, keys and the city configuration from.

Every setting is a field; the pseudonymization key is a secret and comes in as ``dg.EnvVar`` when the
Definitions are built from the environment. Nothing here reads the environment during a run: the
settings object of ``orchestration/settings.py`` builds this resource once, at load time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import Engine

from assets.common.catalog import CatalogEntry, load_catalog
from assets.common.city import City, load_city
from assets.common.workdays import WorkCalendar, china_date, use_calendar_dir
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema


class PlatformResource(dg.ConfigurableResource):
    """The data directory, the zone URLs, the configuration files and the secrets of one deployment."""

    data_dir: str
    exchange_url: str
    operation_url: str
    platform_url: str
    catalog_dir: str
    city_config: str
    quality_as_of: str | None = None  # ISO date: the day not-future quality rules compare with
    pseudonym_key: str | None = None  # secret: dg.EnvVar("PUBLICDATA_PSEUDONYM_KEY")
    pseudonym_key_file: str | None = None
    catalog_subscribers: list[str] = []  # apprise URLs told of each new public catalog version
    today: str | None = None  # ISO date: PUBLICDATA_TODAY, "today" for every deadline
    max_rows: int | None = None  # read limits of a landing file (None: the reader's defaults)
    max_file_mb: int | None = None
    shrink_hold_ratio: float | None = None  # hold a redelivery below this share (None: default)
    calendar_dir: str | None = None  # the official working-day calendar files (<year>.yaml)
    # where <data dir>/operation/ is served: the public catalog's addresses and identifiers
    public_base_url: str = "http://127.0.0.1:8000/"
    exports_config: str | None = None  # config/exports.yaml: export-check thresholds, working days
    fees_config: str | None = None  # config/fees.yaml: margin cap and income shares

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def landing_dir(self) -> Path:
        return self.data_path / "landing"

    @property
    def staging_dir(self) -> Path:
        """County aggregation staging (the county front-end store): Parquet per partition."""
        return self.data_path / "aggregation"

    @property
    def reports_dir(self) -> Path:
        return self.data_path / "reports"

    @property
    def catalog_path(self) -> Path:
        return Path(self.catalog_dir)

    @property
    def quality_as_of_date(self) -> date | None:
        return date.fromisoformat(self.quality_as_of) if self.quality_as_of else None

    def today_date(self) -> date:
        """The configured today, else today in China."""
        return date.fromisoformat(self.today) if self.today else china_date(datetime.now(UTC))

    @property
    def calendar(self) -> WorkCalendar:
        return use_calendar_dir(Path(self.calendar_dir) if self.calendar_dir else None)

    @cached_property
    def city(self) -> City:
        return load_city(Path(self.city_config))

    @cached_property
    def catalog(self) -> dict[str, CatalogEntry]:
        return load_catalog(Path(self.catalog_dir))

    def exchange_engine(self) -> Engine:
        return get_engine(self.exchange_url)

    def operation_engine(self) -> Engine:
        return get_engine(self.operation_url)

    def platform_engine(self) -> Engine:
        """The platform records, migrated to the newest schema on first use."""
        ensure_platform_schema(self.platform_url)
        return get_engine(self.platform_url)


def working_day_schedule(
    job: dg.JobDefinition,
    *,
    name: str,
    cron_schedule: str,
    op_name: str,
    run_key_prefix: str,
    description: str,
    tags: dict[str, str] | None = None,
) -> dg.ScheduleDefinition:
    """A schedule of ``job`` that runs on official working days only (调休上班日 included, holidays
    skipped with the reason), passing the day as ``op_name``'s ``today`` config; ``PUBLICDATA_TODAY``
    (the resource's ``today``) stands in for the scheduled day in tests and demos."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone="Asia/Shanghai",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _on_working_days(
        context: dg.ScheduleEvaluationContext, platform: PlatformResource
    ) -> dg.RunRequest | dg.SkipReason:
        scheduled = context.scheduled_execution_time
        day = platform.today_date() if platform.today else china_date(scheduled)
        if not platform.calendar.is_working_day(day):
            return dg.SkipReason(f"{day.isoformat()} 不是工作日")
        return dg.RunRequest(
            run_key=f"{run_key_prefix}-{day.isoformat()}",
            run_config={"ops": {op_name: {"config": {"today": day.isoformat()}}}},
            tags={**(tags or {}), "publicdata/today": day.isoformat()},
        )

    return _on_working_days
