"""Change events to subscribers: after a new catalog version is published, its version and public
diff go to every subscriber (apprise URLs) and each delivery is recorded in ``catalog_events``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from assets.catalog_sync.render import catalog_title
from assets.catalog_sync.versions import CatalogVersion, diff_counts
from assets.common.city import City
from assets.common.notify import Delivery, send
from assets.storage.tables import catalog_events


def change_event(version: CatalogVersion, diff: Mapping[str, Any], city: City) -> dict[str, Any]:
    return {
        "目录名称": catalog_title(city),
        "版本": version.version,
        "版本时间": version.created_at.isoformat(),
        "变更统计": diff_counts(diff),
        "变更": dict(diff),
    }


def _event_text(event: Mapping[str, Any]) -> tuple[str, str]:
    counts = event["变更统计"]
    title = f"{event['目录名称']}更新（第{event['版本']}版）"
    summary = (
        f"{event['目录名称']}已发布第{event['版本']}版："
        f"新增条目 {counts['entries_added']} 个，变更 {counts['entries_modified']} 个，"
        f"下架 {counts['entries_retired']} 个；信息项新增 {counts['items_added']} 个，"
        f"变更 {counts['items_modified']} 个，下架 {counts['items_retired']} 个。"
    )
    body = summary + "\n\n" + json.dumps(event, ensure_ascii=False, indent=2)
    return title, body


def deliver_change_event(
    engine: Engine,
    event: Mapping[str, Any],
    subscribers: Sequence[str],
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """Send the change event to every subscriber (apprise URLs) and record each delivery."""
    moment = now or datetime.now(UTC)
    title, body = _event_text(event)
    deliveries = [send(url, title, body) for url in subscribers]
    with engine.begin() as connection:
        for delivery in deliveries:
            connection.execute(
                catalog_events.insert().values(
                    version=event["版本"],
                    at=moment,
                    kind="delivered",
                    channel=delivery.channel,
                    status=delivery.status,
                    detail={"变更统计": event["变更统计"]},
                )
            )
    return deliveries
