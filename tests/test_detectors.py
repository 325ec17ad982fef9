"""Personal-data detectors element-wise: real edge cases and decoys for each type."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.classification import detectors as d
from assets.common.check_chars import id_check_char, luhn_check_digit
from tests.pii_samples import (
    make_card,
    make_id,
    make_phone,
    make_uscc,
    one,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002X", True),
        ("11010519491231002x", True),  # lowercase check letter
        ("110105 19491231 002X", True),  # stored as text with spaces
        ("1101-0519-4912-3100-2X", True),
        ("１１０１０５１９４９１２３１００２Ｘ", True),  # full-width
        ("  11010519491231002X\t", True),
        ("110105194912310021", False),  # wrong check digit: an order number
        ("11010519491231002", False),  # 17 digits
        ("110105194912310020X", False),  # 19 characters
        ("110105491231002", True),  # legacy 15-digit (born 1949-12-31)
        ("110105491331002", False),  # legacy, month 13
        ("990105491231002", False),  # legacy, no such province
        ("", False),
        (None, False),
    ],
)
def test_id_number_cases(value, expected):
    assert one(d.match_cn_id_number, value) is expected


@pytest.mark.parametrize(
    ("first17", "why"),
    [
        ("11010519490231002", "February 31st"),
        ("11010520990101002", "born in the future"),
        ("11010518800101002", "born before 1900"),
        ("99010519491231002", "no province 99"),
        ("00010519491231002", "no province 00"),
    ],
)
def test_id_number_with_right_check_digit_but_impossible(first17, why):
    assert not one(d.match_cn_id_number, first17 + id_check_char(first17)), why


@given(
    st.sampled_from(["640502", "640521", "640522", "110105", "440305"]),
    st.dates(
        min_value=pd.Timestamp("1920-01-01").date(), max_value=pd.Timestamp("2020-12-31").date()
    ),
    st.integers(0, 999),
    st.integers(0, 16),
    st.integers(1, 9),
)
def test_any_single_digit_error_breaks_an_id_number(division, born, seq, position, delta):
    first17 = f"{division}{born:%Y%m%d}{seq:03d}"
    valid = first17 + id_check_char(first17)
    assert one(d.match_cn_id_number, valid)
    broken = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1 :]
    assert not one(d.match_cn_id_number, broken)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91350100M000100Y43", True),
        ("91350100m000100y43", True),  # lower case
        ("9135 0100 M000 100Y 43", True),
        ("91350100M000100Y44", False),  # wrong check character
        ("91350100M000100I43", False),  # I is not in the code alphabet
        ("91350100M000100Y4", False),
    ],
)
def test_uscc_cases(value, expected):
    assert one(d.match_uscc, value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", True),
        ("+86 138 1234 5678", True),
        ("+86-138-1234-5678", True),
        ("0086 13812345678", True),
        ("8613812345678", True),
        ("(+86)13812345678", True),
        ("138-1234-5678", True),
        ("１３８１２３４５６７８", True),
        ("13812345678.0", True),  # went through a float but still exact
        ("19912345678", True),
        ("16612345678", True),
        ("1.38E+10", False),  # Excel mangled it
        ("10012345678", False),  # 11 digits starting 10: a code
        ("11012345678", False),
        ("12012345678", False),
        ("14012345678", False),  # 140 is not a mobile segment
        ("19412345678", False),
        ("1381234567", False),  # 10 digits
        ("138123456789", False),  # 12 digits
        ("0955-7012345", False),  # a landline
    ],
)
def test_mobile_cases(value, expected):
    assert one(d.match_cn_mobile_phone, value) is expected


def test_bank_card_cases():
    body = "622202020011223"
    good = body + luhn_check_digit(body)
    bad = body + str((int(luhn_check_digit(body)) + 1) % 10)
    visa = "412345678901234" + luhn_check_digit("412345678901234")
    no_bin = "123456789012345" + luhn_check_digit("123456789012345")
    nineteen = "622848040256489001" + luhn_check_digit("622848040256489001")
    cases = {
        good: True,
        f"{good[:4]} {good[4:8]} {good[8:12]} {good[12:]}": True,
        f"{good[:4]}-{good[4:8]}-{good[8:12]}-{good[12:]}": True,
        visa: True,
        nineteen: True,
        bad: False,  # fails Luhn
        no_bin: False,  # passes Luhn but no issuer starts with 1
        good[:15]: False,  # 15 digits
        nineteen + "0": False,  # 20 digits
    }
    for value, expected in cases.items():
        assert one(d.match_bank_card, value) is expected, (len(value), expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", True),
        ("王小明", True),
        ("欧阳修", True),  # compound surname
        ("司马相如", True),
        ("拜学军", True),  # Hui surname common in Ningxia
        ("张 三", True),  # padded to align with three-character names
        ("买买提·艾力", True),  # minority name with a middle dot
        ("张", False),
        ("张三丰李四", False),  # five characters
        ("黄河公司", False),  # starts with a surname, but a company
        ("王家村", False),  # a village
        ("宣和镇", False),  # a township
        ("蒙古族", False),  # an ethnicity
        ("中卫市宏达商贸有限公司", False),
        ("Zhang San", False),
        ("啊啊", False),  # not a surname
        ("13812345678", False),
    ],
)
def test_person_name_cases(value, expected):
    assert one(d.match_person_name, value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("中卫市沙坡头区文昌镇鼓楼西街12号", True),
        ("宁夏回族自治区中卫市中宁县宁安镇北街社区3组", True),
        ("海原县海城镇武塬村", True),
        ("中宁县石空镇枣园村5组", True),
        ("沙坡头区迎水桥镇沙坡头村二队", True),
        ("中卫市沙坡头区应理南街58号3单元501室", True),
        ("中卫市 沙坡头区 文昌镇 长城路 8号", True),
        ("中宁县宁安镇黄河路12号3号厂房", True),
        ("宁夏回族自治区中卫市海原县海城镇红星村3组12号", True),
        ("沙坡头区滨河镇长城街8号枸杞花园3号楼2单元1203室", True),
        ("宣和镇", False),  # a township, not an address
        ("中卫市第一人民医院", False),  # an institution
        ("沙坡头区文昌镇鼓楼村卫生室", False),  # an institution named after its village
        ("中卫市宏达商贸有限公司", False),
        ("反映宣和镇张洪村道路修建问题", False),  # free text naming places
        ("要求调查中宁县宁安镇某村", False),
        ("道路不平，请尽快修复。", False),
        ("宁(2025)中宁县不动产权第0001234号", False),  # a certificate number
        ("中卫市沙坡头区文昌镇第12号", False),
        ("张三", False),
    ],
)
def test_address_cases(value, expected):
    assert one(d.match_address, value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangsan@163.com", True),
        ("Li.Si+tax@zw.gov.cn", True),
        ("ｗａｎｇ＠ｑｑ．ｃｏｍ", True),  # full-width
        ("zhangsan@", False),
        ("@163.com", False),
        ("zhang san@163.com", False),
        ("zhangsan@163", False),
        ("张三@163.com", False),
    ],
)
def test_email_cases(value, expected):
    assert one(d.match_email, value) is expected


def test_share_counts_only_non_empty_values():
    s = pd.Series(["13812345678", None, "", "   ", "13912345678", "hello"], dtype="object")
    assert d.cn_mobile_phone(s) == pytest.approx(2 / 3)
    assert d.cn_mobile_phone(pd.Series([None, ""], dtype="object")) == 0.0


def test_every_detector_returns_a_share():
    rng = random.Random(1)
    s = pd.Series([make_id(rng), make_phone(rng), make_card(rng), make_uscc(rng)])
    shares = {name: f(s) for name, f in d.DETECTORS.items()}
    assert shares["cn_id_number"] == pytest.approx(0.25)
    assert shares["cn_mobile_phone"] == pytest.approx(0.25)
    assert shares["bank_card"] >= 0.25
    assert shares["uscc"] >= 0.25
    assert shares["person_name"] == 0.0 and shares["email"] == 0.0


def test_properties_run_without_a_deadline():
    """The property above failed under ``pytest -n 8`` on a wall-clock deadline (workers share the
    cores); tests/conftest.py loads a profile without one for every property of the suite."""
    assert settings().deadline is None
