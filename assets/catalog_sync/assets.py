"""The city resource catalog as a Dagster asset: validate, aggregate, version, publish (第八条, 第九条)."""

# no `from __future__ import annotations`: Dagster reads the context and resource annotations
# of the decorated functions at definition time.

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.catalog_sync.aggregate import prohibited_datasets
from assets.catalog_sync.cycle import CatalogCycle, run_catalog_cycle, seed_new_platform
from assets.catalog_sync.keys import CITY_CATALOG_KEY
from assets.catalog_sync.mounting import mounting_markdown, mounting_status, mounting_summary
from assets.storage.platform import PlatformResource


def _metadata(cycle: CatalogCycle) -> dict[str, object]:
    version = cycle.version
    metadata: dict[str, object] = {
        "registrations": len(cycle.results),
        "rejected": len(cycle.rejected),
        "rejected_registrations": [r.key for r in cycle.rejected],
        "version": version.version if version else 0,
        "new_version": cycle.created,
        "entries": len(cycle.catalog.entries),
        "published_entries": len(cycle.catalog.published),
        "withheld_entries": len(cycle.catalog.withheld),
        "content_hash": version.content_hash if version else "",
        "tickets_opened": len(cycle.tickets),
        "tickets_closed": cycle.tickets_closed,
        "deliveries_ok": sum(d.status == "ok" for d in cycle.deliveries),
        "deliveries_failed": sum(d.status != "ok" for d in cycle.deliveries),
        **{f"diff/{name}": count for name, count in cycle.counts.items()},
    }
    if cycle.publication is not None:
        metadata["published_to"] = dg.MetadataValue.path(str(cycle.publication.directory))
    if cycle.catalog.entries:
        metadata["catalog"] = dg.MetadataValue.md(
            "| dataset_id | 数据目录名称 | 开放属性 | 登记县区 | 县区差异 |\n|---|---|---|---|---|\n"
            + "\n".join(
                f"| {e.dataset_id} | {e.entry.title} | {e.entry.openness.value} | "
                f"{len(e.counties)} | {len(e.differences)} |"
                for e in cycle.catalog.entries.values()
            )
        )
    return metadata


def _mounting_metadata(status: pd.DataFrame, as_of: str) -> dict[str, object]:
    """Data mounting (数据挂接) figures for 第三十一条's reports: per entry, how many registered
    counties have data in the exchange table and how many are on time for its 更新频率."""
    registered = status.loc[status["registered"]]
    summary = mounting_summary(status)
    return {
        "mounting/as_of": as_of,
        "mounting/registered_county_entries": len(registered),
        "mounting/county_entries_with_data": int((registered["rows"] > 0).sum()),
        "mounting/county_entries_fresh": int(registered["fresh"].sum()),
        "mounting/entries_fully_mounted": int(
            (summary["fresh"] == summary["registered"]).sum() if not summary.empty else 0
        ),
        "mounting/late_counties": {
            row.dataset_id: list(row.late_counties)
            for row in summary.itertuples()
            if row.late_counties
        },
        "mounting": dg.MetadataValue.md(mounting_markdown(status)),
    }


@dg.asset(
    key=CITY_CATALOG_KEY,
    group_name="catalog",
    kinds={"yaml", "json"},
    owners=["team:data_bureau"],
    tags={"stage": "catalog"},
)
def city_catalog(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult:
    """全市公共数据资源目录（第八条、第九条）：按第八条校验各县（区）数源部门在 registry/ 的登记（不合格的退回
    并说明原因，原已接受的登记继续有效），汇聚为全市目录，目录有变化时生成新版本（含差异和内容摘要值），
    以 JSON、DCAT JSON-LD 和网页发布到运营平台（operation/catalog/，只含元数据，不含禁止开放的条目），
    并通知订阅方。元数据中附各条目各县（区）的数据挂接情况（有无数据、是否按更新频率按时，第三十一条）。
    平台尚无目录版本且登记区为空时，先按目录条目为每个县（区）登记（演示）。"""
    engine = platform.platform_engine()
    now = datetime.now(UTC)
    seeded = seed_new_platform(platform.data_path, engine, platform.city, platform.catalog_path)
    if seeded:
        context.log.info(f"平台尚无目录且登记区为空：已按目录条目为各县（区）登记 {seeded} 个文件")
    cycle = run_catalog_cycle(
        platform.data_path,
        engine,
        platform.city,
        subscribers=tuple(platform.catalog_subscribers),
        base_url=platform.public_base_url,
        now=now,
        prohibited=prohibited_datasets(platform.catalog),
    )
    for rejection in cycle.rejected:
        context.log.warning(f"目录登记 {rejection.key} 退回：{'；'.join(rejection.reasons)}")
    if cycle.version is None:
        context.log.warning("没有合格的目录登记，未生成目录版本")
    elif cycle.created:
        context.log.info(f"已生成并发布全市资源目录第 {cycle.version.version} 版")
    for delivery in cycle.deliveries:
        if delivery.status != "ok":
            context.log.warning(f"目录变更通知 {delivery.channel} 失败（{delivery.status}）")
    metadata = {**_metadata(cycle), "seeded_registrations": seeded}
    if cycle.catalog.entries:
        today = platform.today_date()  # PUBLICDATA_TODAY, else today in China
        status = mounting_status(
            platform.exchange_engine(),
            [(e.entry, e.counties) for e in cycle.catalog.entries.values()],
            platform.city,
            today,
        )
        metadata.update(_mounting_metadata(status, today.isoformat()))
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(cycle.version.content_hash) if cycle.version else None,
    )
