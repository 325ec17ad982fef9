"""County names where Dagster shows partitions (issue 12): partition keys are codes
(``640521|2026-10``), so every ingest run carries the county's Chinese name as run tags and its
materialization as metadata — whether the landing sensor, the CLI or the UI launched it."""

from __future__ import annotations

import dagster as dg

from assets.aggregation.keys import ingest_job_name
from assets.aggregation.partitions import (
    COUNTY_NAME_TAG,
    COUNTY_TAG,
    county_tags,
    partition_key,
    period_partitions_name,
)
from orchestration.definitions import build_definitions
from tests.helpers import medical_rows, settings_for, write_delivery


def test_county_tags_name_the_county(city):
    assert county_tags(city, "640521", "2026-10") == {
        COUNTY_TAG: "640521",
        COUNTY_NAME_TAG: "中宁县",
        "publicdata/period": "2026-10",
    }
    assert county_tags(city, "999999")[COUNTY_NAME_TAG] == "999999"


def test_sensor_runs_and_ui_runs_carry_the_county_name(tmp_path, catalog):
    settings = settings_for(tmp_path)
    defs = build_definitions(settings)
    entry = catalog["medical_institutions"]
    write_delivery(tmp_path, entry, "640522", "2026-Q3", medical_rows(3))
    with dg.instance_for_test() as instance:
        sensor = defs.resolve_sensor_def("landing_files")
        result = sensor(
            dg.build_sensor_context(
                instance=instance,
                resources={"platform": settings.platform_resource()},
                definitions=defs,
            )
        )
        [request] = result.run_requests
        assert request.tags[COUNTY_NAME_TAG] == "海原县" and request.tags[COUNTY_TAG] == "640522"

        # launched without tags (as from the UI's partition picker): the asset names the county
        instance.add_dynamic_partitions(period_partitions_name(entry.dataset_id), ["2026-Q3"])
        run = defs.resolve_job_def(ingest_job_name(entry.dataset_id)).execute_in_process(
            instance=instance, partition_key=partition_key("640522", "2026-Q3")
        )
        assert run.success
        tags = instance.get_run_by_id(run.run_id).tags
        assert tags[COUNTY_NAME_TAG] == "海原县" and tags["publicdata/period"] == "2026-Q3"
        [materialization] = [
            e.event_specific_data.materialization
            for e in run.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"
            and e.asset_key == dg.AssetKey(["aggregation", entry.dataset_id])
        ]
        metadata = materialization.metadata
        assert metadata["county_name"].value == "海原县"
        assert metadata["县区"].value == "海原县（640522）"
