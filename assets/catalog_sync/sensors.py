"""The catalog registry sensor: a changed registration requests exactly one catalog run.

The cursor is JSON: the registry's fingerprint (``<county>/<dataset_id>`` → SHA-256 of the file) and
the number of changes seen. An unchanged registry requests nothing; any added, changed or removed file
requests one run of the catalog job. Without a cursor (the sensor's first tick), a registry whose
every file the platform records have already handled requests nothing either. The run key carries the change number as well as the new state's
hash, so a registry that returns to an earlier state (a reverted edit) still gets its run.
"""

# no `from __future__ import annotations`: Dagster reads the context and resource annotations
# of the decorated functions at definition time.

import json

import dagster as dg

from assets.catalog_sync.keys import CATALOG_JOB_NAME, CITY_CATALOG_KEY
from assets.catalog_sync.registry import fingerprint_hash, registry_fingerprint
from assets.catalog_sync.versions import registry_already_processed
from assets.storage.platform import PlatformResource

catalog_job = dg.define_asset_job(
    CATALOG_JOB_NAME,
    selection=dg.AssetSelection.assets(CITY_CATALOG_KEY),
    description="校验登记、汇聚全市目录、生成版本并发布",
)


def load_cursor(cursor: str | None) -> tuple[dict[str, str], int]:
    """``(fingerprint, changes seen)``; an empty or unreadable cursor is the empty registry."""
    if not cursor:
        return {}, 0
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        return {}, 0
    if not isinstance(value, dict) or not isinstance(value.get("registrations"), dict):
        return {}, 0
    return dict(value["registrations"]), int(value.get("sequence", 0))


def dump_cursor(fingerprint: dict[str, str], sequence: int) -> str:
    return json.dumps({"registrations": fingerprint, "sequence": sequence}, sort_keys=True)


def fingerprint_changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "changed": sorted(k for k in set(after) & set(before) if after[k] != before[k]),
        "removed": sorted(set(before) - set(after)),
    }


@dg.sensor(
    name="catalog_registry",
    job=catalog_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "监视 registry/ 目录登记：登记文件新增、内容变化或删除（按 SHA-256）时发起一次目录发布运行；"
        "没有变化不发起运行。"
    ),
)
def catalog_registry_sensor(
    context: dg.SensorEvaluationContext, platform: PlatformResource
) -> dg.SensorResult | dg.SkipReason:
    before, sequence = load_cursor(context.cursor)
    after = registry_fingerprint(platform.data_path)
    if after == before:
        return dg.SkipReason("目录登记没有变化")
    if not context.cursor and registry_already_processed(platform.platform_engine(), after):
        # the first tick of a new sensor (the first `make ui`) on a registry the platform has
        # already published: remember it, start nothing
        return dg.SensorResult(
            skip_reason="目录登记与平台已处理的登记一致，无需发布", cursor=dump_cursor(after, 0)
        )
    changes = fingerprint_changes(before, after)
    summary = "，".join(f"{kind} {len(keys)}" for kind, keys in changes.items() if keys)
    context.log.info(f"目录登记有变化：{summary}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"catalog-{sequence + 1}@{fingerprint_hash(after)[:16]}",
                tags={
                    "publicdata/trigger": "catalog_registry_sensor",
                    **{
                        f"publicdata/registrations_{kind}": str(len(keys))
                        for kind, keys in changes.items()
                    },
                },
            )
        ],
        cursor=dump_cursor(after, sequence + 1),
    )
