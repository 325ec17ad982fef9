"""The JSON catalog has a JSON Schema published beside it, and every export validates against it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from assets.catalog_sync.cycle import run_catalog_cycle
from assets.catalog_sync.publish import JSON_NAME, public_dir
from assets.catalog_sync.registry import seed_registry
from assets.catalog_sync.render import SCHEMA_NAME, SCHEMA_VERSION
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.test_catalog_validation import register, shipped

T0 = datetime(2026, 11, 2, 17, 30, tzinfo=UTC)  # 01:30 the next day in China
T1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _validator(data_dir: Path) -> jsonschema.Draft202012Validator:
    schema = _load(public_dir(data_dir) / SCHEMA_NAME)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_json_catalog_validates_against_its_published_schema(tmp_path, city):
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    ensure_platform_schema(url)
    engine = get_engine(url)
    seed_registry(tmp_path, city)
    run_catalog_cycle(tmp_path, engine, city, now=T0)
    changed = {**shipped("medical_institutions"), "数据摘要": "辖区医疗机构的名称和床位数。"}
    for county in city.county_codes:
        register(tmp_path, county, changed)
    run_catalog_cycle(tmp_path, engine, city, now=T1)

    root = public_dir(tmp_path)
    validator = _validator(tmp_path)
    for path in (root / JSON_NAME, root / "v0001" / JSON_NAME, root / "v0002" / JSON_NAME):
        document = _load(path)
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], (path, errors)
        assert document["schema_version"] == SCHEMA_VERSION
        assert document["$schema"].endswith(f"/catalog/{SCHEMA_NAME}")
    v1 = _load(root / "v0001" / JSON_NAME)
    assert v1["版本时间"] == "2026-11-03T01:30:00+08:00"
    assert all(e["发布日期"] == "2026-11-03" for e in v1["条目"])
    current = _load(root / JSON_NAME)
    assert current["本版变更"]["modified"].keys() == {"medical_institutions"}

    # each entry's own metadata file is an entry of the schema
    entry_schema = {**validator.schema, "$ref": "#/$defs/entry"}
    for key in ("required", "properties", "additionalProperties", "type"):
        entry_schema.pop(key)
    entries = jsonschema.Draft202012Validator(entry_schema)
    files = sorted((root / "datasets").glob("*.json"))
    assert len(files) == 6
    for path in files:
        assert list(entries.iter_errors(_load(path))) == []


def test_the_schema_rejects_what_it_does_not_document(tmp_path, city):
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    ensure_platform_schema(url)
    seed_registry(tmp_path, city)
    run_catalog_cycle(tmp_path, get_engine(url), city, now=T0)
    validator = _validator(tmp_path)
    document = _load(public_dir(tmp_path) / JSON_NAME)
    utc = {**document, "版本时间": "2026-11-02T17:30:00+00:00"}
    undocumented = {**document, "条目": [{**document["条目"][0], "extra": 1}]}
    prohibited = {**document, "条目": [{**document["条目"][0], "开放属性": "禁止开放"}]}
    for bad in (utc, undocumented, prohibited):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)
