"""Registration and 第八条 validation of catalog entries: each missing field, reasons to the department."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from assets.catalog_sync.registry import (
    registry_dir,
    registry_fingerprint,
    scan_registry,
    seed_registry,
)
from assets.catalog_sync.validation import (
    ENTRY_FIELDS,
    ITEM_FIELDS,
    rejection_notice,
    validate_document,
    validate_registration,
    validate_registry,
)
from assets.common.catalog import SHIPPED_CATALOG_DIR


def shipped(dataset_id: str) -> dict:
    return yaml.safe_load((SHIPPED_CATALOG_DIR / f"{dataset_id}.yaml").read_text(encoding="utf-8"))


def register(data_dir: Path, county: str, document: object, name: str | None = None) -> Path:
    name = name or (document["dataset_id"] if isinstance(document, dict) else "broken")
    path = registry_dir(data_dir) / county / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_entry_passes_article_8(city, catalog):
    for dataset_id in catalog:
        entry, reasons = validate_document(
            shipped(dataset_id), city, dataset_id=dataset_id, county_code="640521"
        )
        assert reasons == []
        assert entry == catalog[dataset_id]


@pytest.mark.parametrize("field", ENTRY_FIELDS)
@pytest.mark.parametrize("how", ["absent", "blank"])
def test_each_missing_article_8_field_is_named(city, field, how):
    document = shipped("household_registration")
    if how == "absent":
        del document[field]
    else:
        document[field] = [] if field == "信息项" else ({} if field == "分类" else "  ")
    entry, reasons = validate_document(document, city, dataset_id="household_registration")
    assert entry is None
    assert any(field in reason and "缺少" in reason for reason in reasons), reasons
    # the translated parser errors do not repeat the same field in English
    assert not any("Field required" in reason for reason in reasons)


@pytest.mark.parametrize("field", ITEM_FIELDS)
def test_each_missing_item_field_names_the_item(city, field):
    document = shipped("household_registration")
    del document["信息项"][4][field]
    entry, reasons = validate_document(document, city)
    assert entry is None
    assert any("第5个信息项" in r and f"缺少“{field}”" in r for r in reasons), reasons


def test_classification_needs_category_and_business_attribute(city):
    document = shipped("market_entities")
    document["分类"] = {"门类": "经济建设"}
    _, reasons = validate_document(document, city)
    assert reasons == ["“分类”缺少业务属性（分类分级指南要求）"]

    document["分类"] = {"门类": "经济建设", "业务属性": "市场主体登记", "分级": "绝密"}
    _, reasons = validate_document(document, city)
    assert len(reasons) == 1 and "分级“绝密”" in reasons[0]

    document["分类"]["分级"] = "一般数据（2级）"
    entry, reasons = validate_document(document, city)
    assert reasons == [] and entry is not None and entry.classification["分级"] == "一般数据（2级）"


def test_provider_must_be_a_department_of_the_city(city):
    document = shipped("market_entities")
    document["信息资源提供方"] = "tax_bureau"
    entry, reasons = validate_document(document, city)
    assert entry is None
    assert len(reasons) == 1
    assert "tax_bureau" in reasons[0] and "market_regulation（市场监督管理局）" in reasons[0]


def test_values_outside_the_vocabularies_are_explained(city):
    document = shipped("medical_institutions")
    document["更新频率"] = "每周"
    document["开放属性"] = "半开放"
    document["信息项"][0]["column"] = "Institution Name"
    document["信息项"][1]["type"] = "str"
    document["备注"] = "x"
    entry, reasons = validate_document(document, city)
    assert entry is None
    text = "\n".join(reasons)
    assert "更新频率“每周”不在允许的取值中（每日、每月、每季度、每年）" in text
    assert "开放属性“半开放”" in text
    assert "第1个信息项（机构名称）的“column”“Institution Name”格式不正确" in text
    assert (
        "第2个信息项" in text and "“str”不在允许的取值中（string、date、integer、decimal）" in text
    )
    assert "“备注”不是目录条目的字段" in text
    assert len(reasons) == 5


def test_duplicate_items_and_unknown_key_columns_are_rejected(city):
    document = shipped("household_registration")
    document["信息项"].append(copy.deepcopy(document["信息项"][0]))
    _, reasons = validate_document(document, city)
    assert reasons == ["“信息项”: 信息项 name 重复: 姓名"]

    document = shipped("household_registration")
    document["business_key"] = ["passport_no"]
    _, reasons = validate_document(document, city)
    assert len(reasons) == 1 and "passport_no" in reasons[0]


def test_file_name_county_folder_and_format_are_checked(city, tmp_path):
    document = shipped("medical_institutions")
    register(tmp_path, "640521", document, name="hospitals")
    register(tmp_path, "999999", document)
    register(tmp_path, "640522", "数据目录名称: [未闭合\n", name="medical_institutions")
    register(tmp_path, "640502", "- 只是一个列表\n", name="medical_institutions")
    results = {r.key: r for r in validate_registry(scan_registry(tmp_path), city)}
    assert set(results) == {
        "640521/hospitals",
        "999999/medical_institutions",
        "640522/medical_institutions",
        "640502/medical_institutions",
    }
    assert not any(r.valid for r in results.values())
    assert results["640521/hospitals"].reasons == (
        "文件名 hospitals.yaml 与 dataset_id“medical_institutions”不一致",
    )
    assert "不是本市的县（区）代码" in results["999999/medical_institutions"].reasons[0]
    assert "不是有效的 YAML（第2行）" in results["640522/medical_institutions"].reasons[0]
    assert results["640502/medical_institutions"].reasons == (
        "目录条目文件应为 YAML 映射（字段名: 值）",
    )


def test_an_invalid_entry_does_not_break_the_valid_ones(city, tmp_path):
    seed_registry(tmp_path, city)
    broken = shipped("real_estate_registration")
    del broken["数据摘要"]
    register(tmp_path, "640522", broken)
    results = validate_registry(scan_registry(tmp_path), city)
    assert len(results) == 3 * 7
    rejected = [r for r in results if not r.valid]
    assert [r.key for r in rejected] == ["640522/real_estate_registration"]
    assert rejected[0].department_id == "natural_resources"
    assert sum(r.valid for r in results) == 20


def test_rejection_notice_is_addressed_to_the_county_department(city, tmp_path):
    document = shipped("household_registration")
    del document["更新频率"]
    document["信息项"][0]["规则"] = ""
    path = register(tmp_path, "640502", document)
    result = validate_registration(scan_registry(tmp_path)[0], city)
    notice = rejection_notice(result, city)
    assert notice.startswith("中卫市公安局沙坡头区分局：")
    assert "household_registration（户籍人口信息）未通过审核" in notice
    assert "1. 缺少“更新频率”（第八条要求登记）" in notice
    assert "2. 第1个信息项（姓名）缺少“规则”" in notice
    assert result.source == "registry/640502/household_registration.yaml"
    assert path.exists()

    register(tmp_path / "b", "640521", {**document, "信息资源提供方": "nobody"})
    result = validate_registration(scan_registry(tmp_path / "b")[0], city)
    assert result.department_id is None
    assert rejection_notice(result, city).startswith("中宁县数据局：")


def test_seed_registers_every_shipped_entry_for_every_county_once(city, catalog, tmp_path):
    assert seed_registry(tmp_path, city) == len(city.counties) * len(catalog)
    fingerprint = registry_fingerprint(tmp_path)
    assert set(fingerprint) == {f"{c}/{d}" for c in city.county_codes for d in catalog}
    assert (registry_dir(tmp_path) / "README.md").read_text(encoding="utf-8").startswith("# ")
    # not empty any more: a second seed leaves the departments' registrations alone
    register(tmp_path, "640521", {**shipped("petition_records"), "数据摘要": "改过的摘要"})
    assert seed_registry(tmp_path, city) == 0
    assert (
        registry_fingerprint(tmp_path)["640521/petition_records"]
        != fingerprint["640521/petition_records"]
    )
