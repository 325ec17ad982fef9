"""Personal-data detectors over a column of text, and the column verdict combining values and names.

Each detector (``cn_id_number``, ``uscc``, ``cn_mobile_phone``, ``bank_card``, ``person_name``,
``address``, ``email``) takes a pandas Series and returns the share of its non-empty values that match;
the ``match_*`` functions give the element-wise verdict. Values are normalized first (NFKC full-width →
half-width, trimmed, inner spaces and dashes removed, ``+86`` dropped from phones, ``x`` → ``X``) so that
numbers stored as text with spaces still match, and check characters are verified with
``assets.common.identifiers`` so that decoys do not: 18-digit order numbers fail GB 11643, 11-digit codes
outside the mobile number segments fail, 16-digit numbers fail Luhn, and a column of consecutive
numbers is recognised as a sequence of record ids whatever its values look like.

``detect_column`` samples large columns (a deterministic head plus a seeded random sample of the rest),
runs every detector, weighs the shares with hints from the column name (Chinese and English), and returns
a ``Detection`` whose evidence holds only counts and percentages — never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from assets.classification.hints import name_hints
from assets.classification.normalize import (
    compact,
    despaced,
    normalize_phone,
    normalize_text,
    normalized_already,
    sharing_normalization,
)
from assets.common.identifiers import id_number_valid, luhn_valid, mobile_valid, uscc_valid
from assets.common.pii import LEAK_TYPES, PII_LABELS, PII_TYPES
from assets.landing.excel_numbers import numeric_shaped

# Identifiers Excel may turn into numbers (6.40521E+17): they count for the type the name points to.
_NUMERIC_DAMAGED_TYPES = ("cn_id_number", "bank_card", "cn_mobile_phone")

NONE = "none"
LABELS: dict[str, str] = {**PII_LABELS, NONE: "非个人信息"}

# What a matching value satisfied, for the evidence string.
_CRITERIA: dict[str, str] = {
    "cn_id_number": "校验位与出生日期通过",
    "uscc": "GB 32100 校验位通过",
    "bank_card": "Luhn 校验与发卡行标识通过",
    "cn_mobile_phone": "符合手机号段",
    "email": "符合邮箱格式",
    "person_name": "符合常见姓氏开头的2至4个汉字",
    "address": "含行政区划与街路门牌标识",
}

# How far the values alone are trusted: check characters more than patterns, patterns more than heuristics.
_STRENGTH: dict[str, float] = {
    "cn_id_number": 0.95,
    "uscc": 0.95,
    "bank_card": 0.95,
    "cn_mobile_phone": 0.9,
    "email": 0.95,
    "person_name": 0.85,
    "address": 0.85,
}

_SINGLE_SURNAMES_TEXT = """
    王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 高 郑 梁 谢 宋 唐 许 韩 邓 冯 曹
    彭 曾 肖 田 董 潘 袁 蔡 蒋 余 于 杜 叶 程 魏 苏 吕 丁 任 卢 姚 沈 钟 姜 崔 谭 陆 范 汪 廖
    石 金 韦 贾 夏 付 傅 方 邹 熊 白 孟 秦 邱 侯 江 尹 薛 闫 阎 段 雷 龙 黎 史 陶 贺 毛 郝 顾
    龚 邵 万 覃 武 钱 戴 严 莫 孔 向 常 汤 康 易 乔 赖 文 施 洪 辛 牛 樊 葛 邢 安 齐 伍 庞 颜
    倪 聂 章 鲁 岳 翟 殷 詹 申 耿 关 兰 焦 俞 左 柳 甘 祝 包 宁 尚 符 舒 阮 柯 纪 梅 童 凌 毕
    单 季 裴 霍 涂 成 苗 谷 盛 曲 翁 冉 骆 蓝 路 游 辜 靳 欧 管 柴 蒙 鲍 华 喻 祁 蒲 房 滕 屈
    饶 解 牟 艾 尤 阳 时 穆 农 司 卓 古 吉 缪 简 车 项 连 芦 麦 褚 娄 窦 戚 岑 景 党 宫 费 卜
    冷 晏 席 卫 米 柏 宗 瞿 桂 全 佟 应 臧 闵 苟 邬 边 卞 姬 师 和 仇 栾 隋 商 刁 沙 荣 巫 寇
    桑 郎 甄 丛 仲 虞 敖 巩 明 佘 池 查 麻 苑 迟 邝 官 封 谈 匡 鞠 惠 荆 乐 冀 郁 胥 南 班 储
    栗 燕 楚 鄢 劳 谌 奚 皮 粟 冼 蔺 楼 盘 满 闻 厉 伊 仝 郜 海 阚 花 权 强 帅 屠 豆 朴 盖 练
    廉 禹 井 祖 漆 巴 丰 支 卿 狄 索 宣 晋 容 敬 扈 晁 芮 阙 浦 戈 伏 鹿 薄 邸 雍 拜 纳 哈 虎
    妥 锁 撒 脱
"""
SINGLE_SURNAMES: frozenset[str] = frozenset(_SINGLE_SURNAMES_TEXT.split())
"""About 330 of the commonest single-character surnames (2020 census order for the first hundred,
then 百家姓), including surnames frequent among the Hui of Ningxia (拜, 纳, 哈, 虎, 妥, 锁 …)."""

_COMPOUND_SURNAMES_TEXT = """
    欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 南宫
    西门 独孤 澹台 公羊 呼延 万俟 闻人 赫连 申屠 濮阳 太史 仲孙 司空 百里 东郭 第五 拓跋 左丘
"""
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND_SURNAMES_TEXT.split())

_HAN = "\u4e00-\u9fff\u3400-\u4dbf"
_PROVINCE = r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3])"
# Mainland mobile number segments (MIIT): 13x, 145–149, 150–153/155–159, 162/165–167, 170–178, 18x, 19x.
_MOBILE_SEGMENT = r"^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])"
# Issuer identification: UnionPay 62, Chinese domestic 60/95, Visa 4, Mastercard 51–55 and 22–27, JCB 35.
_CARD_BIN = r"^(?:62|60|95|4|5[1-5]|2[2-7]|35)"
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"

# Endings that make a short Han string an organization, a place or a category rather than a person.
_NOT_A_PERSON = (
    r"(?:公司|集团|厂|店|局|院|所|社|站|馆|中心|协会|商会|委会|银行|村|镇|乡|县|区|市|省|路|街|巷|号"
    r"|队|族|部|处|校|庄|屯|寨|补贴|保险)$"
)
_ADMIN_MARKER = r"省|自治区|市|自治州|州|盟|县|旗|区|镇|乡|街道"
_LOCAL_MARKER = r"[村路街巷弄屯寨]|大道|胡同|社区|小区|号|组|队|栋|幢|单元"
_NUMERAL = "0-9一二三四五六七八九十百零〇"
_ADDRESS_END = (
    rf"(?:[{_NUMERAL}]+(?:号|号厂房|栋|幢|座|楼|层|室|单元|户|组|队)?|号|村|路|街|巷|道|弄|屯|庄|寨"
    r"|社区|小区|花园|公寓|大厦|广场|家园|苑)$"
)
# Words of a sentence, not of an address: free text that happens to name a village and a road;
# and document numbers shaped like one (宁(2025)中宁县不动产权第0001234号).
_FREE_TEXT = r"的|了|吗|呢|反映|要求|投诉|举报|咨询|问题|希望|建议|关于|请求|解决|办理|需要"
_DOCUMENT_NO = rf"第[{_NUMERAL}]+号|产权|证号|\(\d{{4}}\)"

_ENUM_MAX_DISTINCT = 12


def _bool(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


def _all_of(s: pd.Series, *tests: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Per value, whether it passes every test (each element-wise, <NA> failing): each test reads
    only the values every test before it passed, so a column of other things is judged on the
    first test or two (an ID number column, 18 digits, fails the address's first)."""
    passed = np.ones(len(s), dtype=bool)
    for test in tests:
        at = np.flatnonzero(passed)
        if not len(at):
            break
        passed[at] = _bool(test(s.iloc[at])).to_numpy(dtype=bool)
    return pd.Series(passed, index=s.index)


# ---------------------------------------------------------------------------------------------
# element-wise matchers


def match_cn_id_number_18(values: pd.Series) -> pd.Series:
    """GB 11643 18-character numbers: province prefix, check character, birth date 1900-01-01…today."""
    today = date.today().strftime("%Y%m%d")
    return _all_of(
        compact(values),
        lambda s: s.str.match(_PROVINCE),
        lambda s: s.str.slice(6, 14).between("19000101", today),
        id_number_valid,
    )


def match_cn_id_number_15(values: pd.Series) -> pd.Series:
    """Legacy 15-digit numbers (before 1999): 6-digit division + YYMMDD (19YY) + 3-digit sequence."""
    s = compact(values)
    ok = _bool(s.str.fullmatch(_PROVINCE + r"\d{13}"))
    if ok.any():
        born = pd.to_datetime("19" + s[ok].str.slice(6, 12), format="%Y%m%d", errors="coerce")
        ok.loc[ok] = born.notna().to_numpy()
    return ok


def match_cn_id_number(values: pd.Series) -> pd.Series:
    return match_cn_id_number_18(values) | match_cn_id_number_15(values)


def match_uscc(values: pd.Series) -> pd.Series:
    return uscc_valid(compact(values))


def match_cn_mobile_phone(values: pd.Series) -> pd.Series:
    s = normalize_phone(values)
    return mobile_valid(s) & _bool(s.str.match(_MOBILE_SEGMENT))


def match_bank_card(values: pd.Series) -> pd.Series:
    s = compact(values)
    return luhn_valid(s) & _bool(s.str.match(_CARD_BIN))


def match_person_name(values: pd.Series) -> pd.Series:
    """2–4 Han characters starting with a common surname (not an organization or place), or a name
    of the form 名·姓 as minority names are written."""
    s = despaced(values)
    han = _all_of(
        s,
        lambda t: t.str.fullmatch(rf"[{_HAN}]{{2,4}}"),
        lambda t: (
            _bool(t.str.slice(0, 1).isin(SINGLE_SURNAMES))
            | _bool(t.str.slice(0, 2).isin(COMPOUND_SURNAMES))
        ),
        lambda t: ~_bool(t.str.contains(_NOT_A_PERSON)),
    )
    # 名·姓: none of the 2–4 Han characters above holds a dot
    dotted = _all_of(s, lambda t: t.str.fullmatch(rf"[{_HAN}]{{1,10}}[·•・][{_HAN}]{{1,10}}"))
    return han | dotted


def match_address(values: pd.Series) -> pd.Series:
    """Han text naming an administrative unit and a village, street or house number, ending like an
    address, without the words of a sentence."""
    return _all_of(
        despaced(values),
        lambda t: t.str.contains(_ADMIN_MARKER),  # first: nothing but an address has one
        lambda t: t.str.contains(_LOCAL_MARKER),
        lambda t: t.str.fullmatch(rf"[{_HAN}0-9A-Za-z#()\-]{{5,80}}"),
        lambda t: t.str.count(rf"[{_HAN}]").fillna(0).ge(4),
        lambda t: t.str.contains(_ADDRESS_END),
        lambda t: ~(_bool(t.str.contains(_FREE_TEXT)) | _bool(t.str.contains(_DOCUMENT_NO))),
    )


def match_email(values: pd.Series) -> pd.Series:
    return _bool(normalize_text(values).str.fullmatch(_EMAIL))


MATCHERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "cn_id_number": match_cn_id_number,
    "uscc": match_uscc,
    "bank_card": match_bank_card,
    "cn_mobile_phone": match_cn_mobile_phone,
    "email": match_email,
    "person_name": match_person_name,
    "address": match_address,
}


# ---------------------------------------------------------------------------------------------
# detectors: the share of non-empty values that match


def _share(values: pd.Series, matcher: Callable[[pd.Series], pd.Series]) -> float:
    present = normalize_text(values).notna()
    n = int(present.sum())
    if n == 0:
        return 0.0
    return float(matcher(values)[present].sum()) / n


def cn_id_number(values: pd.Series) -> float:
    return _share(values, match_cn_id_number)


def uscc(values: pd.Series) -> float:
    return _share(values, match_uscc)


def cn_mobile_phone(values: pd.Series) -> float:
    return _share(values, match_cn_mobile_phone)


def bank_card(values: pd.Series) -> float:
    return _share(values, match_bank_card)


def person_name(values: pd.Series) -> float:
    return _share(values, match_person_name)


def address(values: pd.Series) -> float:
    return _share(values, match_address)


def email(values: pd.Series) -> float:
    return _share(values, match_email)


DETECTORS: dict[str, Callable[[pd.Series], float]] = {
    "cn_id_number": cn_id_number,
    "uscc": uscc,
    "bank_card": bank_card,
    "cn_mobile_phone": cn_mobile_phone,
    "email": email,
    "person_name": person_name,
    "address": address,
}


# ---------------------------------------------------------------------------------------------
# decoys


def sequential_share(values: pd.Series) -> float:
    """How much a column of numbers looks like consecutive record ids (0–1).

    The larger of: the share of neighbours (in delivered order) that differ by exactly 1, and the
    density of the distinct values over their range (a shuffled block of consecutive numbers). Real
    identifiers are sparse in their space, so both stay near 0 for them.
    """
    s = compact(values).dropna()
    s = s[_bool(s.str.fullmatch(r"\d{1,19}"))]
    if len(s) < 10:
        return 0.0
    nums = s.str.slice(-18).astype("int64").to_numpy()
    step = float(np.mean(np.abs(np.diff(nums)) == 1))
    distinct = np.unique(nums)
    if len(distinct) < 10:
        return step
    density = len(distinct) / float(distinct[-1] - distinct[0] + 1)
    return max(step, min(1.0, density * 10))


def _is_sequential(values: pd.Series) -> bool:
    return sequential_share(values) >= 0.5


# ---------------------------------------------------------------------------------------------
# the column verdict


@dataclass(frozen=True)
class Detection:
    """What a column holds: a type from ``PII_TYPES`` or ``none``, how sure (0–1), and why.

    ``evidence`` holds counts, percentages and the words of the column name that hinted — never a value.
    """

    pii_type: str
    confidence: float
    evidence: str

    @property
    def detected(self) -> bool:
        return self.pii_type != NONE


def sample_values(
    values: pd.Series, *, head: int = 1000, size: int = 5000, seed: int = 20240101
) -> pd.Series:
    """The non-empty values to test, normalized: all of them up to ``size``; beyond that the first
    ``head`` (deterministic, in delivered order) and a seeded random sample of the rest."""
    present = np.flatnonzero(values.notna().to_numpy())
    if len(present) > size:
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(present[head:], size=size - head, replace=False))
        present = np.concatenate([present[:head], picked])
    return normalize_text(values.iloc[present]).dropna().reset_index(drop=True)


def _pct(k: int, n: int) -> str:
    return f"{k / n:.1%} ({k}/{n})"


def _confidence(share: float, hinted: bool, pii_type: str, n: int) -> float:
    base = 0.3 + 0.7 * share if hinted else _STRENGTH[pii_type] * share
    # few values are weak evidence: one matching value is worth half a column of them
    return base * n / (n + 1)


def _claimed(share: float, hinted: bool, confidence: float) -> bool:
    return confidence >= 0.5 and share >= (0.5 if hinted else 0.8)


@sharing_normalization  # the sample is normalized once for all detectors
def detect_column(
    values: pd.Series,
    column_name: str = "",
    *,
    aliases: Iterable[str] = (),
    head: int = 1000,
    size: int = 5000,
    seed: int = 20240101,
) -> Detection:
    """Classify one column from its values and its name(s); ``none`` when nothing is convincing.

    A type is claimed when at least 80 % of the sampled non-empty values match it, or 50 % when the
    column name also points to it; the most confident claim wins.
    """
    hints = name_hints(column_name, *aliases)
    hint_note = "；列名提示「{}」"
    total = int(values.notna().sum())
    sample = sample_values(values, head=head, size=size, seed=seed)
    n = len(sample)
    if n == 0:
        for pii_type in PII_TYPES:
            if pii_type in hints:
                return Detection(pii_type, 0.5, "无非空值" + hint_note.format(hints[pii_type]))
        return Detection(NONE, 0.5, "无非空值，无法从取值判断")

    sampled = f"；抽样 {n}/{total} 个非空值" if total > n else ""
    # matchers judge each value on its own: every distinct value once, weighted by its count
    occurrences = sample.value_counts(sort=False)
    # distinct values of the sample, normalized already
    uniques = normalized_already(
        pd.Series(occurrences.index.to_numpy(dtype=object), dtype=sample.dtype)
    )
    weights = occurrences.to_numpy()

    def count(matcher: Callable[[pd.Series], pd.Series]) -> int:
        return int(weights[matcher(uniques).fillna(False).to_numpy(dtype=bool)].sum())

    matched = {t: count(MATCHERS[t]) for t in PII_TYPES}
    notes: list[str] = []

    sequence = sequential_share(sample.iloc[:head])
    if sequence >= 0.5:
        for t in ("cn_id_number", "bank_card", "cn_mobile_phone"):
            matched[t] = 0
        notes.append(f"取值为连续编号（{sequence:.0%}），视为记录序号")

    # a handful of short values repeated over many rows is an enumeration (住宅/商业/…), not people
    distinct = int(sample.nunique())
    if n >= 30 and distinct <= min(_ENUM_MAX_DISTINCT, n // 3) and matched["person_name"]:
        matched["person_name"] = 0
        notes.append(f"仅 {distinct} 种取值，视为枚举而非姓名")

    numeric: dict[str, int] = {}
    shaped = numeric_shaped(sample) if any(t in hints for t in _NUMERIC_DAMAGED_TYPES) else None
    for t in _NUMERIC_DAMAGED_TYPES if shaped is not None and shaped.any() else ():
        if t in hints:
            numeric[t] = int((shaped & ~MATCHERS[t](sample).astype(bool)).sum())
            matched[t] += numeric[t]

    scored: list[tuple[float, int, str]] = []
    for rank, pii_type in enumerate(PII_TYPES):
        share = matched[pii_type] / n
        confidence = _confidence(share, pii_type in hints, pii_type, n)
        if _claimed(share, pii_type in hints, confidence):
            scored.append((confidence, -rank, pii_type))
    if scored:
        confidence, _, best = max(scored)
        damaged = numeric.get(best, 0)
        evidence = f"{LABELS[best]}：{_CRITERIA[best]} {_pct(matched[best] - damaged, n)}"
        if best == "cn_id_number":
            legacy = count(match_cn_id_number_15)
            if legacy:
                evidence += f"，其中15位旧号 {legacy} 个"
        if damaged:
            evidence += f"，Excel 数值化（科学计数法或末位失真，号码不完整）{_pct(damaged, n)}"
        if best in hints:
            evidence += hint_note.format(hints[best])
        return Detection(best, round(confidence, 4), evidence + sampled)

    closest = max(PII_TYPES, key=lambda t: matched[t])
    strongest = max((_confidence(matched[t] / n, t in hints, t, n) for t in PII_TYPES), default=0.0)
    parts = ["未发现可信的个人信息特征"]
    if matched[closest]:
        parts.append(f"最接近的{LABELS[closest]}仅 {_pct(matched[closest], n)}")
    parts.extend(notes)
    for pii_type, word in hints.items():
        parts.append(f"列名提示「{word}」但取值不符（{LABELS[pii_type]}）")
    return Detection(NONE, round(max(0.0, 1.0 - strongest), 4), "；".join(parts) + sampled)


# ---------------------------------------------------------------------------------------------
# leak scan support

_DIGIT_RUN = r"(?<![0-9A-Za-z])(\d{11,19}[Xx]?)(?![0-9A-Za-z])"


@sharing_normalization  # each value normalized once for all leak types
def contains_identifier(values: pd.Series) -> pd.DataFrame:
    """Per value, whether it is or contains a cleartext identifier of each ``LEAK_TYPES`` kind.

    The whole value is tested after normalization (so ``138 1234 5678`` counts), and so is every run of
    11–19 digits inside free text (``联系人13812345678``). Masked values (``138****5678``) do not match.
    The result has one boolean column per leak type and the index of ``values``.
    """
    positional = values.reset_index(drop=True)
    found = pd.DataFrame(
        {t: MATCHERS[t](positional).to_numpy() for t in LEAK_TYPES}, index=positional.index
    )
    runs = normalize_text(positional).str.extractall(_DIGIT_RUN)
    if len(runs):
        run_values = runs[0]
        for t in LEAK_TYPES:
            hit = MATCHERS[t](run_values).groupby(level=0).any()
            hit = hit[hit]
            found.loc[hit.index, t] = True
    found.index = values.index
    return found
