"""County catalogs → city catalog, and its versions with diffs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from assets.catalog_sync.aggregate import CityCatalog, aggregate, entry_changes, entry_document
from assets.catalog_sync.registry import scan_registry
from assets.catalog_sync.validation import validate_registry
from assets.catalog_sync.versions import (
    diff_counts,
    diff_snapshots,
    diff_versions,
    get_version,
    latest_version,
    list_versions,
    record_version,
    sync_registrations,
)
from assets.common.catalog import CatalogEntry
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import catalog_registrations, catalog_rejections
from tests.test_catalog_validation import register, shipped

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _engine(db_url: str) -> sa.Engine:
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def _entry(dataset_id: str, **changes: object) -> CatalogEntry:
    return CatalogEntry.model_validate({**shipped(dataset_id), **changes})


def _with_items(entry: CatalogEntry, items: list[dict]) -> CatalogEntry:
    return CatalogEntry.model_validate({**entry_document(entry), "信息项": items})


def test_three_counties_aggregate_into_one_city_entry_per_dataset(city, catalog):
    households = catalog["household_registration"]
    quarterly = _entry("household_registration", 更新频率="每季度")
    registrations = [
        ("640522", households),
        ("640502", households),
        ("640521", quarterly),
        ("640502", catalog["medical_institutions"]),
        ("640522", catalog["medical_institutions"]),
        ("640521", catalog["market_entities"]),
    ]
    city_catalog = aggregate(registrations, city)
    assert list(city_catalog.entries) == [
        "household_registration",
        "market_entities",
        "medical_institutions",
    ]
    households_city = city_catalog.entries["household_registration"]
    assert households_city.entry == households  # two counties against one
    assert households_city.counties == ("640502", "640521", "640522")  # city order
    assert households_city.differences == {"640521": ("更新频率为“每季度”（全市为“每月”）",)}
    assert city_catalog.entries["medical_institutions"].counties == ("640502", "640522")
    assert city_catalog.entries["medical_institutions"].differences == {}
    assert city_catalog.entries["market_entities"].counties == ("640521",)


def test_a_tie_goes_to_the_first_county_and_item_differences_are_described(city, catalog):
    medical = catalog["medical_institutions"]
    items = [entry_document(medical)["信息项"][i] for i in range(len(medical.items))]
    changed = [dict(item) for item in items[:-1]]  # drops the last item
    changed[0] = {**changed[0], "规则": "必填，不超过100字"}
    changed.append({"信息项名称": "网址", "column": "website", "type": "string", "规则": "可空"})
    other = _with_items(medical, changed)
    city_catalog = aggregate([("640521", other), ("640502", medical)], city)
    entry = city_catalog.entries["medical_institutions"]
    assert entry.entry == medical  # 640502 comes first in config/city.yaml
    lines = entry.differences["640521"]
    assert "多登记了信息项：website" in lines
    assert f"未登记信息项：{medical.items[-1].column}" in lines
    assert any(line.startswith(f"信息项 {medical.items[0].column} 不同：规则为") for line in lines)


def test_entry_changes_match_items_by_column(catalog):
    before = entry_document(catalog["market_entities"])
    after = entry_document(catalog["market_entities"])
    assert not any(entry_changes(before, after).values())
    after["数据摘要"] = "新摘要"
    after["信息项"] = [*after["信息项"][1:], {**after["信息项"][0], "required": False}]
    changes = entry_changes(before, after)
    assert changes["fields"] == {"数据摘要": {"from": before["数据摘要"], "to": "新摘要"}}
    assert changes["items_modified"] == {"uscc": {"required": {"from": True, "to": False}}}
    assert changes["items_added"] == [] and changes["items_retired"] == []
    assert changes["item_order_changed"] is True


def test_versions_record_added_modified_retired_and_no_change_makes_none(db_url, city, catalog):
    engine = _engine(db_url)
    counties = city.county_codes
    v1_regs = [
        (c, catalog[d]) for c in counties for d in ("household_registration", "market_entities")
    ]
    v1, created = record_version(engine, aggregate(v1_regs, city), now=T0)
    assert created and v1.version == 1
    assert v1.diff == {
        "added": ["household_registration", "market_entities"],
        "modified": {},
        "retired": [],
    }

    again, created = record_version(engine, aggregate(v1_regs, city), now=T0)
    assert not created and again.version == 1
    assert len(list_versions(engine)) == 1

    market = catalog["market_entities"]
    items = entry_document(market)["信息项"]
    items = [
        {**items[0], "规则": "18位统一社会信用代码"},
        *[i for i in items[1:] if i["column"] != "address"],
        {"信息项名称": "经营范围", "column": "business_scope", "type": "string", "规则": "可空"},
    ]
    new_market = _with_items(market, items)
    v2_regs = [(c, new_market) for c in counties] + [
        (c, catalog["medical_institutions"]) for c in counties
    ]
    v2, created = record_version(engine, aggregate(v2_regs, city), now=T0)
    assert created and v2.version == 2
    assert v2.diff["added"] == ["medical_institutions"]
    assert v2.diff["retired"] == ["household_registration"]
    change = v2.diff["modified"]["market_entities"]
    assert change["items_added"] == ["business_scope"]
    assert change["items_retired"] == ["address"]
    assert change["items_modified"] == {
        "uscc": {"规则": {"from": "18位，符合GB 32100校验码，唯一", "to": "18位统一社会信用代码"}}
    }
    assert diff_counts(v2.diff) == {
        "entries_added": 1,
        "entries_modified": 1,
        "entries_retired": 1,
        "items_added": 1,
        "items_modified": 1,
        "items_retired": 1,
    }

    # one county withdrawing its registration is a change of the city catalog too
    v3, created = record_version(engine, aggregate(v2_regs[1:], city), now=T0)
    assert created and v3.diff["modified"]["market_entities"]["counties_retired"] == ["640502"]

    # back to the first state: a new version with the first version's hash, all versions kept
    v4, created = record_version(engine, aggregate(v1_regs, city), now=T0)
    assert created and v4.version == 4 and v4.content_hash == v1.content_hash
    assert [v.version for v in list_versions(engine)] == [1, 2, 3, 4]
    assert get_version(engine, 2).snapshot == v2.snapshot
    assert latest_version(engine).version == 4
    assert diff_versions(engine, None, None) == diff_snapshots(v3.snapshot, v4.snapshot)
    assert diff_versions(engine, 1, 4) == {"added": [], "modified": {}, "retired": []}
    assert diff_versions(engine, 0, 1)["added"] == ["household_registration", "market_entities"]
    assert CityCatalog.from_snapshot(v2.snapshot).snapshot() == v2.snapshot


def test_a_rejected_update_keeps_the_accepted_registration(db_url, city, tmp_path):
    engine = _engine(db_url)
    document = shipped("medical_institutions")
    for county in city.county_codes:
        register(tmp_path, county, document)
    first = sync_registrations(engine, validate_registry(scan_registry(tmp_path), city), now=T0)
    assert len(first.accepted) == 3 and len(first.updated) == 3 and not first.new_rejections

    broken = {**document, "数据摘要": ""}
    register(tmp_path, "640521", broken)
    results = validate_registry(scan_registry(tmp_path), city)
    second = sync_registrations(engine, results, now=T0)
    assert second.kept == ["640521/medical_institutions"]
    assert [r.key for r in second.new_rejections] == ["640521/medical_institutions"]
    assert {c for c, _ in second.accepted} == set(city.county_codes)
    assert all(e.summary == document["数据摘要"] for _, e in second.accepted)

    # the same rejected file again is not recorded (or sent) twice
    third = sync_registrations(engine, results, now=T0)
    assert third.new_rejections == [] and third.updated == []
    with engine.connect() as connection:
        rows = connection.execute(sa.select(catalog_rejections)).all()
    assert len(rows) == 1
    assert rows[0].department_id == "health" and "缺少“数据摘要”" in rows[0].reasons[0]

    # deleting the file retires the county's registration
    (tmp_path / "registry" / "640522" / "medical_institutions.yaml").unlink()
    fourth = sync_registrations(engine, validate_registry(scan_registry(tmp_path), city), now=T0)
    assert fourth.retired == ["640522/medical_institutions"]
    with engine.connect() as connection:
        left = connection.execute(sa.select(catalog_registrations.c.county_code)).scalars().all()
    assert sorted(left) == ["640502", "640521"]
