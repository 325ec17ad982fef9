"""Personal-data detectors: real edge cases and decoys, element-wise and per column."""

from __future__ import annotations

import random
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.classification import detectors as d
from assets.common.identifiers import id_check_char, luhn_check_digit, uscc_check_char

SURNAMES = "王李张刘陈杨黄赵吴周马丁海拜纳"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
GIVEN += ["明", "超", "秀英", "霞", "平", "建国", "志强", "玉兰", "海燕", "晓东", "文", "斌"]
STREETS = ["鼓楼西街", "应理南街", "长城路", "平安大道", "中山巷"]
TOWNS = ["沙坡头区文昌镇", "中宁县宁安镇", "海原县海城镇", "沙坡头区滨河镇"]


def make_id(rng: random.Random, division: str = "640502") -> str:
    first17 = (
        f"{division}{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    return first17 + id_check_char(first17)


def make_legacy_id(rng: random.Random) -> str:
    return f"640502{rng.randint(30, 98):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"


def make_uscc(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91640500" + "".join(rng.choice(alphabet) for _ in range(9))
    return first17 + uscc_check_char(first17)


def make_card(rng: random.Random, prefix: str = "622202", length: int = 19) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def make_phone(rng: random.Random) -> str:
    return (
        rng.choice(["138", "139", "150", "186", "177", "199"]) + f"{rng.randint(0, 10**8 - 1):08d}"
    )


def make_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def make_address(rng: random.Random) -> str:
    return f"中卫市{rng.choice(TOWNS)}{rng.choice(STREETS)}{rng.randint(1, 300)}号"


def column(maker, n: int = 200, seed: int = 7) -> pd.Series:
    rng = random.Random(seed)
    return pd.Series([maker(rng) for _ in range(n)], dtype="object")


def one(matcher, value) -> bool:
    return bool(matcher(pd.Series([value], dtype="object")).iloc[0])


# --------------------------------------------------------------------------------------------
# element-wise


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


# --------------------------------------------------------------------------------------------
# whole columns


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
