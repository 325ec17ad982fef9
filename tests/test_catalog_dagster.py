"""The catalog asset (dg.materialize) and the registry sensor (dg.build_sensor_context with a cursor)."""

from __future__ import annotations

import json

import dagster as dg

from assets.catalog_sync.assets import city_catalog
from assets.catalog_sync.keys import CATALOG_JOB_NAME, CITY_CATALOG_KEY
from assets.catalog_sync.publish import JSON_NAME, public_dir
from assets.catalog_sync.registry import seed_registry
from assets.catalog_sync.sensors import catalog_job, catalog_registry_sensor
from assets.storage.platform import PlatformResource
from tests.helpers import settings_for
from tests.test_catalog_validation import register, shipped


def _tick(platform: PlatformResource, cursor: str | None):
    with dg.build_sensor_context(cursor=cursor, resources={"platform": platform}) as context:
        return catalog_registry_sensor(context), context


def _materialize(platform: PlatformResource) -> dict:
    result = dg.materialize([city_catalog], resources={"platform": platform})
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == CITY_CATALOG_KEY
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_the_registry_sensor_runs_once_per_change(city, tmp_path):
    platform = settings_for(tmp_path).platform_resource()

    result, _ = _tick(platform, None)
    assert isinstance(result, dg.SkipReason)  # empty registry

    seed_registry(tmp_path, city)
    result, _ = _tick(platform, None)
    assert isinstance(result, dg.SensorResult)
    assert len(result.run_requests) == 1
    cursor = result.cursor
    assert len(json.loads(cursor)["registrations"]) == 21

    # no change: nothing, however often it ticks
    for _ in range(2):
        again, _ = _tick(platform, cursor)
        assert isinstance(again, dg.SkipReason)

    # one changed entry: exactly one run
    register(tmp_path, "640521", {**shipped("market_entities"), "数据摘要": "新的摘要"})
    changed, _ = _tick(platform, cursor)
    assert len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.tags["publicdata/registrations_changed"] == "1"
    assert request.tags["publicdata/registrations_added"] == "0"
    assert request.run_key != result.run_requests[0].run_key
    cursor_changed = changed.cursor
    assert isinstance(_tick(platform, cursor_changed)[0], dg.SkipReason)

    # a retirement is a change too
    (tmp_path / "registry" / "640522" / "petition_records.yaml").unlink()
    retired, _ = _tick(platform, cursor_changed)
    assert len(retired.run_requests) == 1
    assert retired.run_requests[0].tags["publicdata/registrations_removed"] == "1"

    # reverting to an earlier state still runs (a new run key)
    register(tmp_path, "640522", shipped("petition_records"))
    back, _ = _tick(platform, retired.cursor)
    assert len(back.run_requests) == 1
    assert back.run_requests[0].run_key not in {
        r.run_requests[0].run_key for r in (result, changed, retired)
    }


def test_the_sensor_targets_the_catalog_job():
    assert catalog_registry_sensor.job_name == CATALOG_JOB_NAME == catalog_job.name
    defs = dg.Definitions(
        assets=[city_catalog],
        jobs=[catalog_job],
        sensors=[catalog_registry_sensor],
        resources={
            "platform": PlatformResource(
                data_dir="/nonexistent",
                exchange_url="sqlite://",
                operation_url="sqlite://",
                platform_url="sqlite://",
                catalog_dir="/nonexistent",
                city_config="/nonexistent",
            )
        },
    )
    job = defs.resolve_job_def(CATALOG_JOB_NAME)
    assert job.asset_layer.selected_asset_keys == {CITY_CATALOG_KEY}
    spec = defs.resolve_assets_def(CITY_CATALOG_KEY).specs_by_key[CITY_CATALOG_KEY]
    assert spec.group_name == "catalog"
    assert spec.kinds == {"yaml", "json"}
    assert "第八条" in spec.description


def test_the_catalog_asset_validates_versions_and_publishes(db_url, city, tmp_path):
    platform = settings_for(tmp_path, db_url).platform_resource()
    seed_registry(tmp_path, city)
    first = _materialize(platform)
    assert first["version"] == 1 and first["new_version"] is True
    assert (
        first["entries"] == 7 and first["published_entries"] == 6 and first["withheld_entries"] == 1
    )
    assert first["diff/entries_added"] == 7
    assert (public_dir(tmp_path) / "v0001" / JSON_NAME).exists()

    unchanged = _materialize(platform)
    assert unchanged["version"] == 1 and unchanged["new_version"] is False
    assert "diff/entries_added" not in unchanged

    for county in city.county_codes:
        (tmp_path / "registry" / county / "medical_institutions.yaml").unlink()
    broken = shipped("market_entities")
    del broken["数据摘要"]
    register(tmp_path, "640502", broken)
    retired = _materialize(platform)
    assert retired["version"] == 2
    assert retired["diff/entries_retired"] == 1 and retired["diff/entries_added"] == 0
    assert retired["rejected"] == 1
    assert retired["rejected_registrations"] == ["640502/market_entities"]
    assert retired["tickets_opened"] == 1
    published = json.loads((public_dir(tmp_path) / JSON_NAME).read_text(encoding="utf-8"))
    assert published["本版变更"]["retired"] == ["medical_institutions"]


def test_the_first_tick_on_a_registry_already_published_starts_no_run(city, tmp_path):
    platform = settings_for(tmp_path).platform_resource()
    seed_registry(tmp_path, city)
    register(tmp_path, "640521", {**shipped("market_entities"), "更新频率": None})  # rejected
    _materialize(platform)  # `publicdata run` published the catalog before the UI ever started

    first, _ = _tick(platform, None)
    assert isinstance(first, dg.SensorResult)
    assert first.run_requests == [] and first.skip_reason is not None
    assert len(json.loads(first.cursor)["registrations"]) == 21
    assert isinstance(_tick(platform, first.cursor)[0], dg.SkipReason)

    # a registry that changed while nobody watched still gets its run on the first tick
    register(tmp_path, "640502", {**shipped("market_entities"), "数据摘要": "新的摘要"})
    changed, _ = _tick(platform, None)
    assert len(changed.run_requests) == 1
