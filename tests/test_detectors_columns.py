"""Personal-data detectors per column: the verdict from values and names, sequences, sampling, evidence."""

from __future__ import annotations

import random
import re

import pandas as pd
import pytest

from assets.classification import detectors as d
from tests.pii_samples import (
    column,
    make_address,
    make_card,
    make_id,
    make_legacy_id,
    make_name,
    make_phone,
    make_uscc,
    one,
)


@pytest.mark.parametrize(
    ("maker", "name", "expected"),
    [
        (make_id, "公民身份号码", "cn_id_number"),
        (make_id, "id_number", "cn_id_number"),
        (make_id, "col3", "cn_id_number"),  # values alone are enough
        (make_legacy_id, "身份证号", "cn_id_number"),
        (make_uscc, "统一社会信用代码", "uscc"),
        (make_uscc, "col", "uscc"),
        (make_card, "银行卡号", "bank_card"),
        (make_card, "col", "bank_card"),
        (make_phone, "联系电话", "cn_mobile_phone"),
        (make_phone, "col", "cn_mobile_phone"),
        (make_name, "姓名", "person_name"),
        (make_name, "权利人", "person_name"),
        (make_address, "户籍地址", "address"),
        (make_address, "坐落", "address"),
        (lambda r: f"user{r.randint(1, 10**6)}@example.cn", "邮箱", "email"),
    ],
)
def test_detect_column_finds_the_type(maker, name, expected):
    detection = d.detect_column(column(maker), name)
    assert detection.pii_type == expected
    assert 0.8 <= detection.confidence <= 1.0


def test_a_name_hint_raises_confidence():
    ids = column(make_id)
    assert d.detect_column(ids, "身份证号").confidence > d.detect_column(ids, "c1").confidence


def test_dirty_id_column_with_a_name_hint_is_still_an_id_column():
    ids = column(make_id)
    ids.iloc[:60] = ids.iloc[:60].str.slice(0, 17) + "0"  # 30 % broken, most fail the check
    named = d.detect_column(ids, "公民身份号码")
    unnamed = d.detect_column(ids, "c1")
    assert named.pii_type == "cn_id_number"
    assert unnamed.pii_type == "none"  # 70-ish % is not convincing without the name


def test_ids_stored_with_spaces_lowercase_and_full_width():
    rng = random.Random(3)
    values = []
    for i in range(120):
        v = make_id(rng)
        if i % 3 == 0:
            v = f"{v[:6]} {v[6:14]} {v[14:]}"
        elif i % 3 == 1:
            v = v.lower().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        values.append(v)
    detection = d.detect_column(pd.Series(values), "证件号码")
    assert detection.pii_type == "cn_id_number"
    assert "100.0% (120/120)" in detection.evidence


def test_legacy_ids_are_counted_in_the_evidence():
    rng = random.Random(5)
    values = [make_id(rng) for _ in range(90)] + [make_legacy_id(rng) for _ in range(10)]
    detection = d.detect_column(pd.Series(values), "身份证号")
    assert detection.pii_type == "cn_id_number"
    assert "15位旧号 10 个" in detection.evidence


@pytest.mark.parametrize("name", ["订单号", "身份证号", "c1"])
def test_eighteen_digit_order_numbers_are_not_ids(name):
    orders = column(lambda r: f"2024{r.randint(10**13, 10**14 - 1)}")
    detection = d.detect_column(orders, name)
    assert detection.pii_type == "none"
    assert d.cn_id_number(orders) < 0.2


@pytest.mark.parametrize("name", ["手机号", "c1"])
def test_a_run_of_consecutive_phone_shaped_numbers_is_a_sequence(name):
    seq = pd.Series([str(13800000000 + i) for i in range(300)])
    assert d.cn_mobile_phone(seq) == 1.0  # every value looks like a phone …
    detection = d.detect_column(seq, name)
    assert detection.pii_type == "none"  # … but the column is a sequence of record ids
    assert "连续编号" in detection.evidence


def test_a_shuffled_block_of_consecutive_numbers_is_a_sequence():
    values = [str(13912340000 + i) for i in range(500)]
    random.Random(2).shuffle(values)
    assert d.detect_column(pd.Series(values), "c").pii_type == "none"


def test_record_ids_one_two_three():
    ids = pd.Series([str(i) for i in range(1, 501)])
    detection = d.detect_column(ids, "序号")
    assert detection.pii_type == "none"
    assert d.sequential_share(ids) == 1.0


def test_real_phones_are_not_a_sequence():
    assert d.sequential_share(column(make_phone)) < 0.1
    assert d.sequential_share(column(make_id)) < 0.1


@pytest.mark.parametrize("prefix", ["10", "11", "12"])
def test_eleven_digit_codes_are_not_phones(prefix):
    codes = column(lambda r: prefix + f"{r.randint(0, 10**9 - 1):09d}")
    assert d.cn_mobile_phone(codes) == 0.0
    assert d.detect_column(codes, "联系电话").pii_type == "none"


def test_sixteen_digit_numbers_failing_luhn_are_not_cards():
    rng = random.Random(11)
    values = []
    while len(values) < 200:
        v = "6222" + "".join(str(rng.randint(0, 9)) for _ in range(12))
        if not one(d.match_bank_card, v):
            values.append(v)
    assert d.detect_column(pd.Series(values), "卡号").pii_type == "none"


def test_random_sixteen_digit_numbers_are_not_cards():
    numbers = column(lambda r: str(r.randint(10**15, 10**16 - 1)))
    assert d.bank_card(numbers) < 0.2
    assert d.detect_column(numbers, "流水号").pii_type == "none"


def test_company_names_are_not_person_names():
    companies = pd.Series(
        ["中卫市宏达商贸有限公司", "黄河公司", "宁夏沙坡头旅游集团", "王记面馆", "李家村委会"] * 20
        + [f"中卫市第{i}建筑工程有限公司" for i in range(100)]
    )
    assert d.detect_column(companies, "企业名称").pii_type == "none"
    assert d.detect_column(companies, "名称").pii_type == "none"


def test_a_person_name_column_named_as_an_entity_is_not_hinted():
    assert d.name_hints("企业名称") == {}
    assert d.name_hints("机构名称") == {}
    assert d.name_hints("entity_name") == {}
    assert "person_name" in d.name_hints("姓名")
    assert "person_name" in d.name_hints("法定代表人")
    assert "cn_mobile_phone" not in d.name_hints("固定电话")


def test_a_large_name_column_with_repeated_names_is_still_names():
    names = column(make_name, n=20_000)  # only a few hundred distinct names, each repeated
    assert d.detect_column(names, "姓名").pii_type == "person_name"


def test_a_short_enum_is_not_a_name_column():
    usage = pd.Series(["住宅", "商业", "工业", "办公", "其他"] * 40)  # 商业 starts with a surname
    detection = d.detect_column(usage, "用途")
    assert detection.pii_type == "none"


def test_free_text_is_not_an_address_column():
    matters = pd.Series(
        [
            "反映宣和镇张洪村道路修建问题",
            "要求调查中宁县宁安镇某村低保发放情况",
            "投诉沙坡头区某小区物业收费",
            "咨询海原县养老保险缴费标准",
        ]
        * 30
    )
    assert d.detect_column(matters, "信访事项").pii_type == "none"


def test_townships_are_not_addresses():
    townships = pd.Series(["文昌镇", "滨河镇", "宣和镇", "宁安镇", "海城镇"] * 40)
    assert d.detect_column(townships, "乡镇").pii_type == "none"


def test_empty_column_falls_back_to_the_name():
    empty = pd.Series([None, "", "  "] * 10, dtype="object")
    hinted = d.detect_column(empty, "联系电话")
    assert hinted.pii_type == "cn_mobile_phone" and hinted.confidence == 0.5
    assert d.detect_column(empty, "备注").pii_type == "none"


def test_a_hint_alone_does_not_override_the_values():
    landlines = column(lambda r: f"0955-{r.randint(1000000, 9999999)}")
    detection = d.detect_column(landlines, "联系电话")
    assert detection.pii_type == "none"
    assert "列名提示「电话」但取值不符" in detection.evidence


def test_large_columns_are_sampled_deterministically():
    big = column(make_phone, n=30_000, seed=9)
    first = d.detect_column(big, "手机")
    second = d.detect_column(big, "手机")
    assert first == second
    assert first.pii_type == "cn_mobile_phone"
    assert "抽样 5000/30000" in first.evidence
    sample = d.sample_values(big)
    assert len(sample) == 5000
    assert sample.iloc[:1000].tolist() == big.iloc[:1000].tolist()  # the head, in order


def _raw_fragments(values: pd.Series) -> set[str]:
    """Every value as delivered and as normalized, and every 6-digit window of its digits."""
    fragments: set[str] = set()
    for v in values.dropna().astype(str):
        fragments.add(v)
        fragments.add(re.sub(r"[\s\-]", "", v))
        digits = re.sub(r"\D", "", v)
        fragments.update(digits[i : i + 6] for i in range(max(0, len(digits) - 5)))
    return {f for f in fragments if len(f) >= 2}


@pytest.mark.parametrize(
    "maker",
    [make_id, make_legacy_id, make_uscc, make_card, make_phone, make_name, make_address],
)
@pytest.mark.parametrize("name", ["c1", "身份证号"])
def test_evidence_never_contains_a_raw_value(maker, name):
    values = column(maker, n=50)
    detection = d.detect_column(values, name)
    leaked = [f for f in _raw_fragments(values) if f in detection.evidence]
    assert leaked == [], "evidence quotes a value"


def test_contains_identifier_finds_cleartext_and_ignores_masks():
    rng = random.Random(4)
    an_id, a_phone, a_card = make_id(rng), make_phone(rng), make_card(rng)
    values = pd.Series(
        [
            an_id,
            f"{a_phone[:3]} {a_phone[3:7]} {a_phone[7:]}",
            f"联系人电话{a_phone}请回电",
            f"补贴打入{a_card}",
            "6405**********0018",
            "138****5678",
            None,
        ],
        index=[10, 11, 12, 13, 14, 15, 17],
    )
    found = d.contains_identifier(values)
    assert list(found.index) == list(values.index)
    assert found.loc[10, "cn_id_number"]
    assert found.loc[11, "cn_mobile_phone"] and found.loc[12, "cn_mobile_phone"]
    assert found.loc[13, "bank_card"]
    assert not found.loc[[14, 15, 17]].to_numpy().any()
