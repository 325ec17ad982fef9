"""The landing sensor: new or changed delivery files request runs for exactly their partitions."""

from collections import defaultdict

import dagster as dg

from assets.aggregation.ingest import last_ingested_checksums
from assets.aggregation.keys import ingest_job_name
from assets.aggregation.partitions import county_tags, partition_key, period_partitions_name
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.landing.changes import detect_changes, dump_cursor, load_cursor
from assets.landing.paths import scan_landing
from assets.storage.platform import PlatformResource


def landing_sensor(catalog: dict[str, CatalogEntry], city: City, jobs: list) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_files",
        jobs=jobs,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "扫描 landing/ 目录：新交付或内容变化的文件（按 SHA-256）为其所在分区（县区×期）发起一次运行；"
            "未变化的文件不发起任何运行。"
        ),
    )
    def _landing_files(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult:
        files, invalid = scan_landing(
            platform.data_path, catalog, city.county_codes, platform.today_date()
        )
        for path, reason in invalid:
            context.log.warning(f"不符合交付约定的文件，未处理: {path}: {reason}")
        changed, states = detect_changes(files, load_cursor(context.cursor))
        # files a CLI run (or an earlier run of this sensor) already ingested in this very version
        # need no run: the platform records know their checksums
        if changed:
            ingested = last_ingested_checksums(platform.platform_engine())
            changed = [c for c in changed if ingested.get(c.landing.relative_path) != c.checksum]

        new_periods: dict[str, set[str]] = defaultdict(set)
        run_requests = []
        for change in changed:
            landing = change.landing
            name = period_partitions_name(landing.dataset_id)
            if not context.instance.has_dynamic_partition(name, landing.period):
                new_periods[name].add(landing.period)
            run_requests.append(
                dg.RunRequest(
                    run_key=f"{landing.relative_path}@{change.checksum}",
                    job_name=ingest_job_name(landing.dataset_id),
                    partition_key=partition_key(landing.county_code, landing.period),
                    tags={
                        "publicdata/source_file": landing.relative_path,
                        "publicdata/trigger": "landing_sensor",
                        **county_tags(city, landing.county_code, landing.period),
                    },
                )
            )
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[
                dg.AddDynamicPartitionsRequest(name, sorted(periods))
                for name, periods in new_periods.items()
            ],
            cursor=dump_cursor(states),
        )

    return _landing_files
