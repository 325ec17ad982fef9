"""Synthetic personal data for the detector tests: valid IDs, credit codes, cards, phones, names, addresses."""

from __future__ import annotations

import random

import pandas as pd

from assets.common.check_chars import id_check_char, luhn_check_digit, uscc_check_char

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
