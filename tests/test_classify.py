"""Classification & grading: the scheme, declaration against detection, grades, and classify_file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assets.classification.classify import (
    ColumnClassification,
    classify_file,
    classify_frame,
    dataset_grade,
    match_entry,
)
from assets.classification.scheme import (
    DEFAULT_SCHEME_PATH,
    Scheme,
    SchemeError,
    default_scheme,
    load_scheme,
)
from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.common.pii import PII_TYPES
from tests.pii_samples import (
    make_address,
    make_card,
    make_id,
    make_name,
    make_phone,
    make_uscc,
)
from tests.test_detectors_columns import _raw_fragments


@pytest.fixture(scope="module")
def catalog() -> dict[str, CatalogEntry]:
    return load_catalog(SHIPPED_CATALOG_DIR)


def household_frame(n: int = 120, seed: int = 1) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "name": [make_name(rng) for _ in range(n)],
            "id_number": [make_id(rng) for _ in range(n)],
            "gender": [rng.choice("男女") for _ in range(n)],
            "ethnicity": [rng.choice(["汉族", "回族"]) for _ in range(n)],
            "birth_date": [
                f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                for _ in range(n)
            ],
            "address": [make_address(rng) for _ in range(n)],
            "phone": [make_phone(rng) if rng.random() < 0.8 else None for _ in range(n)],
            "region_code": ["640502"] * n,
            "registered_on": ["2020-01-01"] * n,
        }
    )


def by_column(results: list[ColumnClassification]) -> dict[str, ColumnClassification]:
    return {r.column: r for r in results}


def scheme_with(tmp_path: Path, **changes) -> Scheme:
    raw = yaml.safe_load(DEFAULT_SCHEME_PATH.read_text(encoding="utf-8"))
    raw.update(changes)
    path = tmp_path / "scheme.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_scheme(path)


# --------------------------------------------------------------------------------------------
# the scheme


def test_shipped_scheme_loads_and_covers_every_type():
    scheme = default_scheme()
    assert set(PII_TYPES) <= set(scheme.types)
    assert [lv.level for lv in scheme.levels] == ["L1", "L2", "L3", "L4"]
    assert scheme.types["cn_id_number"].level == "L4"
    assert scheme.types["bank_card"].level == "L4"
    assert scheme.max_level("L2", "L4", "L1") == "L4"
    assert scheme.max_grade("一般", "核心", "重要") == "核心"


def test_every_catalog_entry_fits_the_category_tree(catalog):
    scheme = default_scheme()
    assert [p for e in catalog.values() for p in scheme.category_problems(e)] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"default_level": "L9"}, "未定义的级别"),
        ({"types": {"cn_id_number": {"category": "个人身份信息", "level": "L4"}}}, "types 缺少"),
        ({"designated": {"核心": ["a"], "重要": ["a"]}}, "同时被认定"),
        ({"openness_levels": {"无条件开放": "L1"}}, "openness_levels 缺少"),
        (
            {"grade_rules": [{"name": "x", "grade": "重要", "min_level": "L5", "min_subjects": 1}]},
            "L5",
        ),
        ({"grades": [{"grade": "一般", "code": "general", "description": "x"}]}, "三级"),
    ],
)
def test_invalid_schemes_are_refused(tmp_path, changes, message):
    with pytest.raises(SchemeError, match=message):
        scheme_with(tmp_path, **changes)


# --------------------------------------------------------------------------------------------
# declaration against detection


def test_household_registration_agrees_with_its_declaration(catalog):
    entry = catalog["household_registration"]
    results = by_column(
        classify_frame(household_frame(), dataset_id=None, entry=entry, scheme=None)
    )
    assert {r.agreement for r in results.values()} == {"agree"}
    assert results["id_number"].detected_type == "cn_id_number"
    assert results["id_number"].level == "L4"
    assert results["id_number"].category == "公共管理/人口与户籍管理/个人身份信息"
    assert results["name"].level == "L3" and results["phone"].level == "L3"
    assert results["address"].detected_type == "address"
    assert results["gender"].detected_type == "none"
    assert results["gender"].level == "L2"  # 有条件开放, quasi-identifier
    assert results["region_code"].category == "公共管理/人口与户籍管理"
    assert all(r.dataset == "household_registration" for r in results.values())
    assert results["name"].item_name == "姓名"


def test_chinese_headers_map_to_catalog_items(catalog):
    entry = catalog["household_registration"]
    frame = household_frame().rename(columns={i.column: i.name for i in entry.items})
    results = by_column(classify_frame(frame, entry=entry))
    assert results["公民身份号码"].declared_type == "cn_id_number"
    assert results["公民身份号码"].agreement == "agree"


def test_declared_phone_holding_landlines_disagrees(catalog):
    entry = catalog["household_registration"]
    frame = household_frame()
    rng = random.Random(2)
    frame["phone"] = [f"0955-{rng.randint(1000000, 9999999)}" for _ in range(len(frame))]
    result = by_column(classify_frame(frame, entry=entry))["phone"]
    assert result.declared_type == "cn_mobile_phone"
    assert result.detected_type == "none"
    assert result.agreement == "disagree"
    assert "请数源部门核实" in result.remark
    assert result.level == "L3"  # the declaration still counts: 就高从严


def test_declared_id_holding_unified_credit_codes_disagrees(catalog):
    entry = catalog["real_estate_registration"]
    rng = random.Random(3)
    n = 80
    frame = pd.DataFrame(
        {
            "certificate_no": [f"宁(2025)中宁县不动产权第{i:07d}号" for i in range(n)],
            "owner_name": [make_name(rng) for _ in range(n)],
            "owner_id_number": [make_uscc(rng) for _ in range(n)],
            "area_sqm": ["88.5"] * n,
            "usage": ["住宅"] * n,
            "location": [make_address(rng) for _ in range(n)],
            "registered_on": ["2024-05-01"] * n,
            "region_code": ["640521"] * n,
        }
    )
    results = by_column(classify_frame(frame, entry=entry))
    assert results["owner_id_number"].detected_type == "uscc"
    assert results["owner_id_number"].agreement == "disagree"
    assert results["owner_id_number"].level == "L4"  # declared as an ID number
    assert results["location"].agreement == "agree"
    assert results["certificate_no"].agreement == "agree"


def test_undeclared_personal_data_is_flagged(catalog):
    entry = catalog["social_insurance_enrollment"]
    rng = random.Random(4)
    n = 60
    frame = pd.DataFrame(
        {
            "name": [make_name(rng) for _ in range(n)],
            "id_number": [make_id(rng) for _ in range(n)],
            "insurance_type": ["失业保险"] * n,
            "enrolled_on": ["2023-01-01"] * n,
            "contribution_base": ["4000"] * n,
            "employer_uscc": [make_uscc(rng) for _ in range(n)],
            "status": ["正常参保"] * n,
            "备注": [make_card(rng) for _ in range(n)],  # a column the catalog does not know
        }
    )
    results = by_column(classify_frame(frame, entry=entry))
    extra = results["备注"]
    assert extra.declared_type is None
    assert extra.detected_type == "bank_card"
    assert extra.agreement == "undeclared"
    assert extra.level == "L4"
    assert "未声明" in extra.remark
    employer = results["employer_uscc"]
    assert employer.detected_type == "uscc" and employer.agreement == "agree"
    assert employer.category.endswith("/法人和其他组织标识")


def test_institution_addresses_are_not_personal(catalog):
    entry = catalog["medical_institutions"]
    rng = random.Random(5)
    n = 50
    frame = pd.DataFrame(
        {
            "institution_name": [f"中卫市第{i}人民医院" for i in range(n)],
            "uscc": [make_uscc(rng) for _ in range(n)],
            "grade": ["二级"] * n,
            "category": ["综合医院"] * n,
            "address": [make_address(rng) for _ in range(n)],
            "longitude": ["105.18"] * n,
            "latitude": ["37.51"] * n,
            "beds": ["120"] * n,
            "phone": [f"0955-{rng.randint(1000000, 9999999)}" for _ in range(n)],
        }
    )
    results = by_column(classify_frame(frame, entry=entry))
    assert results["address"].detected_type == "address"
    assert results["address"].agreement == "agree"  # no person in the dataset
    assert results["address"].level == "L2"
    assert results["institution_name"].detected_type == "none"
    assert results["grade"].level == "L1"  # 无条件开放
    assert dataset_grade(list(results.values())).level == "L2"


def test_prohibited_dataset_columns_start_at_l3(catalog):
    entry = catalog["petition_records"]
    rng = random.Random(6)
    n = 40
    frame = pd.DataFrame(
        {
            "name": [make_name(rng) for _ in range(n)],
            "id_number": [make_id(rng) for _ in range(n)],
            "phone": [make_phone(rng) for _ in range(n)],
            "matter": ["反映宣和镇张洪村道路修建问题"] * n,
            "accepted_on": ["2024-03-01"] * n,
            "status": ["已受理"] * n,
        }
    )
    results = by_column(classify_frame(frame, entry=entry))
    assert results["matter"].level == "L3"
    assert results["matter"].detected_type == "none"


def test_frame_without_an_entry(catalog):
    rng = random.Random(7)
    frame = pd.DataFrame(
        {
            "客户手机": [make_phone(rng) for _ in range(30)],
            "订单号": [f"{i:06d}" for i in range(30)],
        }
    )
    results = by_column(classify_frame(frame, dataset_id="adhoc", entry=None, scheme=None))
    assert results["客户手机"].category == "未分类/个人基本资料"
    assert results["客户手机"].agreement == "undeclared"
    assert results["订单号"].category == "未分类"
    assert results["订单号"].level == "L2"
    assert results["订单号"].dataset == "adhoc"


# --------------------------------------------------------------------------------------------
# grades


def _column(grade: str, level: str) -> ColumnClassification:
    return ColumnClassification(
        dataset="d", column=f"{grade}{level}", category="c", grade=grade, level=level,
        detected_type="none", confidence=1.0, declared_type=None, agreement="agree", evidence="",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("columns", "grade", "level"),
    [
        ([("一般", "L1"), ("一般", "L4"), ("一般", "L2")], "一般", "L4"),
        ([("一般", "L1"), ("重要", "L3")], "重要", "L3"),
        ([("重要", "L4"), ("核心", "L2"), ("一般", "L1")], "核心", "L4"),
        ([("一般", "L2")], "一般", "L2"),
    ],
)
def test_dataset_grade_is_the_highest_of_its_columns(columns, grade, level):
    result = dataset_grade([_column(g, lv) for g, lv in columns])
    assert (result.grade, result.level) == (grade, level)


def test_dataset_grade_needs_columns():
    with pytest.raises(ValueError):
        dataset_grade([])


def test_sensitive_data_of_many_people_is_important(tmp_path, catalog):
    rules = [
        {"name": "敏感个人信息", "grade": "重要", "min_level": "L4", "min_subjects": 100},
        {"name": "个人信息", "grade": "重要", "min_level": "L3", "min_subjects": 1000},
    ]
    scheme = scheme_with(tmp_path, grade_rules=rules)
    entry = catalog["household_registration"]

    few = by_column(classify_frame(household_frame(n=99), entry=entry, scheme=scheme))
    assert {r.grade for r in few.values()} == {"一般"}

    many = by_column(classify_frame(household_frame(n=150), entry=entry, scheme=scheme))
    assert many["id_number"].grade == "重要"
    assert many["name"].grade == "一般"  # L3: under its threshold of 1000 people
    assert many["gender"].grade == "一般"
    assert dataset_grade(list(many.values()), scheme).grade == "重要"


def test_repeated_people_are_counted_once(tmp_path, catalog):
    rules = [{"name": "敏感个人信息", "grade": "重要", "min_level": "L4", "min_subjects": 100}]
    scheme = scheme_with(tmp_path, grade_rules=rules)
    frame = pd.concat([household_frame(n=60)] * 3, ignore_index=True)  # 180 rows, 60 people
    results = classify_frame(frame, entry=catalog["household_registration"], scheme=scheme)
    assert dataset_grade(results, scheme).grade == "一般"


def test_designated_datasets_take_their_grade(tmp_path, catalog):
    scheme = scheme_with(tmp_path, designated={"核心": ["household_registration"], "重要": []})
    results = classify_frame(
        household_frame(), entry=catalog["household_registration"], scheme=scheme
    )
    assert {r.grade for r in results} == {"核心"}
    assert dataset_grade(results, scheme).label == "核心数据（L4）"


def test_column_tags_for_the_dagster_column_schema(catalog):
    results = by_column(classify_frame(household_frame(), entry=catalog["household_registration"]))
    tags = results["id_number"].column_tags()
    assert tags["分级"] == "一般" and tags["敏感级别"] == "L4"
    assert tags["声明类型"] == "cn_id_number" and tags["声明一致性"] == "agree"


# --------------------------------------------------------------------------------------------
# classify_file


def test_match_entry_by_headers(catalog):
    entry = catalog["household_registration"]
    assert match_entry([i.name for i in entry.items], catalog) is entry
    assert match_entry([i.name for i in entry.items][:-1] + ["其他"], catalog) is entry
    assert match_entry(["姓名", "手机"], catalog) is None


def _free_frame(n: int = 80, seed: int = 8) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "客户姓名": [make_name(rng) for _ in range(n)],
            "证件号码": [make_id(rng).lower() if i % 5 == 0 else make_id(rng) for i in range(n)],
            "手机": [
                f"+86 {p[:3]} {p[3:7]} {p[7:]}" if i % 2 else p
                for i, p in enumerate(make_phone(rng) for _ in range(n))
            ],
            "卡号": [make_card(rng) for _ in range(n)],
            "企业名称": [f"中卫市第{i}建筑工程有限公司" for i in range(n)],
            "统一社会信用代码": [make_uscc(rng) for _ in range(n)],
            "联系地址": [make_address(rng) for _ in range(n)],
            "电子邮箱": [f"user{i}@example.cn" for i in range(n)],
            "订单号": [f"2024{rng.randint(10**13, 10**14 - 1)}" for _ in range(n)],
            "序号": [str(i + 1) for i in range(n)],
        }
    )


EXPECTED_FILE_TYPES = {
    "客户姓名": "person_name",
    "证件号码": "cn_id_number",
    "手机": "cn_mobile_phone",
    "卡号": "bank_card",
    "企业名称": "none",
    "统一社会信用代码": "uscc",
    "联系地址": "address",
    "电子邮箱": "email",
    "订单号": "none",
    "序号": "none",
}


def _check_file_result(result: list[dict], frame: pd.DataFrame) -> None:
    assert [r["column"] for r in result] == list(frame.columns)
    for r in result:
        assert set(r) == {"column", "pii_type", "category", "level", "confidence", "evidence"}
        assert r["pii_type"] in (*PII_TYPES, "none")
        assert 0.0 <= r["confidence"] <= 1.0
    assert {r["column"]: r["pii_type"] for r in result} == EXPECTED_FILE_TYPES
    levels = {r["column"]: r["level"] for r in result}
    assert levels["证件号码"] == "L4" and levels["卡号"] == "L4" and levels["手机"] == "L3"
    text = json.dumps(result, ensure_ascii=False)
    fragments = set()
    for name in ("证件号码", "手机", "卡号", "订单号", "客户姓名", "联系地址", "电子邮箱"):
        fragments |= _raw_fragments(frame[name])
    assert [f for f in fragments if f in text] == []


def test_classify_file_on_a_gb18030_csv(tmp_path):
    frame = _free_frame()
    path = tmp_path / "客户.csv"
    frame.to_csv(path, index=False, encoding="gb18030")
    _check_file_result(classify_file(path), frame)


def test_classify_file_on_an_xlsx(tmp_path):
    frame = _free_frame(seed=9)
    path = tmp_path / "客户.xlsx"
    frame.to_excel(path, index=False, engine="openpyxl")
    _check_file_result(classify_file(path), frame)


def test_classify_file_uses_the_catalog_entry_its_headers_match(tmp_path, catalog):
    entry = catalog["household_registration"]
    frame = household_frame(n=50).rename(columns={i.column: i.name for i in entry.items})
    path = tmp_path / "户籍.csv"
    frame.to_csv(path, index=False, encoding="gb18030")
    result = {r["column"]: r for r in classify_file(path)}
    assert result["公民身份号码"]["category"] == "公共管理/人口与户籍管理/个人身份信息"
    assert result["性别"]["level"] == "L2"
    assert result["户籍地址"]["pii_type"] == "address"


@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]"])
def test_classification_is_the_same_on_arrow_backed_text(catalog, dtype):
    """The classification stage reads the governed columns as ``string[pyarrow]``; the detectors
    give every column the verdict they give it on Python strings, mixed shapes and gaps included."""
    entry = catalog["household_registration"]
    frame = household_frame(n=300, seed=7)
    frame.loc[::17, "phone"] = "0955-7023542"  # landlines among the mobiles
    frame.loc[::23, "id_number"] = " " + frame.loc[::23, "id_number"] + "\u3000"
    reference = classify_frame(frame.astype(object), dataset_id=None, entry=entry, scheme=None)
    typed = frame.astype({c: dtype for c in frame.columns})
    assert classify_frame(typed, dataset_id=None, entry=entry, scheme=None) == reference
