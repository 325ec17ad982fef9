"""Freshness checks: each catalog entry's 更新频率 as an asset check on its exchange asset.

The check is unpartitioned on the partitioned exchange asset and always reads the whole exchange
table: its result says, as of today (China), which counties are late. Severity is WARN, on purpose:
late data is still correct data, so nothing downstream stops (not blocking); the lateness is the
source department's to fix and goes to it as a 时效性 ticket.

Where it runs:
- in every ingest run of the dataset (the ingest job selects the exchange asset and so its checks);
  there it writes tickets only for the county whose delivery just landed — the other counties of a
  batch may still be on their way;
- in ``catalog_freshness`` (checks only, no partition), which the CLI runs after every ingest and a
  daily schedule runs at 09:00 China time, since data goes stale with the calendar, not with runs;
  there it speaks for every expected county.
"""

# no `from __future__ import annotations`: Dagster reads the context and resource annotations
# of the decorated functions at definition time.

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from assets.aggregation.partitions import split_partition_key
from assets.catalog_sync.freshness import (
    evaluate_freshness,
    expected_counties,
    sync_freshness_tickets,
)
from assets.catalog_sync.keys import FRESHNESS_CHECK_NAME
from assets.catalog_sync.mounting import GRACE_DAYS
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exchange.assets import exchange_key
from assets.storage.platform import PlatformResource

if TYPE_CHECKING:  # what define_asset_job returns; not exported at the top of dagster
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

FRESHNESS_JOB_NAME = "catalog_freshness"
FRESHNESS_SCHEDULE_NAME = "catalog_freshness_daily"
FRESHNESS_CRON = "0 9 * * *"
CHINA_TIMEZONE = "Asia/Shanghai"


def freshness_check_key(dataset_id: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(exchange_key(dataset_id), FRESHNESS_CHECK_NAME)


def freshness_check(entry: CatalogEntry, city: City) -> dg.AssetChecksDefinition:
    dataset_id = entry.dataset_id
    grace = GRACE_DAYS[entry.frequency]

    @dg.asset_check(
        asset=exchange_key(dataset_id),
        name=FRESHNESS_CHECK_NAME,
        blocking=False,
        description=(
            f"时效性（{entry.frequency.value}更新）：每期结束后 {grace} 天内应报送。"
            "最新报送期早于应报送期、或尚未报送的县（区）判为滞后（WARN，不阻断下游），"
            "并向该县（区）数源部门发时效性工单；按时报送后工单自动复核关闭。"
        ),
    )
    def _freshness(
        context: dg.AssetCheckExecutionContext, platform: PlatformResource
    ) -> dg.AssetCheckResult:
        now = datetime.now(UTC)
        today = platform.today_date()  # PUBLICDATA_TODAY, else today in China
        platform_engine = platform.platform_engine()
        counties = expected_counties(platform_engine, entry, city)
        result = evaluate_freshness(platform.exchange_engine(), entry, city, today, counties)
        # a partition run knows only about the county whose delivery just landed
        only = None
        if context.has_partition_key:
            only = {split_partition_key(context)[0]}
        tickets = sync_freshness_tickets(platform_engine, result, at=now, only_counties=only)
        if not result.passed:
            # mid-batch, counties not loaded yet look late: only the full evaluation warns
            log = context.log.warning if only is None else context.log.info
            log(result.description())
        metadata: dict[str, object] = {
            "as_of": today.isoformat(),
            "frequency": entry.frequency.value,
            "expected_period": result.expected_period,
            "counties_expected": len(result.counties),
            "counties_late": len(result.late_codes),
            "late_counties": result.late_codes,
            "counties": dg.MetadataValue.md(result.table_markdown()),
            "tickets_scope": "all" if only is None else ",".join(sorted(only)),
        }
        metadata.update(
            {
                # ids under the keys the quality stage uses, so the run summary lists them too
                "tickets_opened": list(tickets.opened),
                "tickets_reopened": list(tickets.reopened),
                "tickets_updated": list(tickets.updated),
                "tickets_closed": list(tickets.closed),
                "open_tickets": tickets.open_by_county,
            }
        )
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=result.description(),
            metadata=metadata,
        )

    return _freshness


def freshness_checks(
    catalog: Mapping[str, CatalogEntry], city: City
) -> list[dg.AssetChecksDefinition]:
    return [freshness_check(entry, city) for entry in catalog.values()]


def freshness_job(catalog: Mapping[str, CatalogEntry]) -> "UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        FRESHNESS_JOB_NAME,
        selection=dg.AssetSelection.checks(*(freshness_check_key(ds) for ds in catalog)),
        description="按目录更新频率检查各交换表各县（区）是否按时报送（不物化资产，只运行时效性检查）",
    )


def freshness_schedule(job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=FRESHNESS_SCHEDULE_NAME,
        job=job,
        cron_schedule=FRESHNESS_CRON,
        execution_timezone=CHINA_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="每天 9:00（北京时间）按更新频率检查各县（区）数据是否按时报送",
    )
