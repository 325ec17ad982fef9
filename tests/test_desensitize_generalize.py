"""Generalization steps and k-anonymity: the hierarchies desensitization climbs, class sizes and k,
and the search that generalizes township → county before it empties a date."""

from __future__ import annotations

import pandas as pd

from assets.common.city import load_city
from assets.desensitization.generalize import (
    Hierarchy,
    address_to_township,
    ethnicity_group,
    to_amount_band,
    to_year,
    to_year_band,
)
from assets.desensitization.kanonymity import class_sizes, enforce_k_anonymity, measure_k

CITY = load_city()


def test_generalization_steps() -> None:
    dates = pd.Series(pd.to_datetime(["1992-03-14", "1990-01-01", None]))
    assert to_year(dates).tolist()[:2] == ["1992", "1990"]
    assert to_year_band(dates, 5).tolist()[:2] == ["1990-1994", "1990-1994"]
    assert to_year_band(dates, 10).iloc[0] == "1990-1999"
    assert pd.isna(to_year_band(dates, 5).iloc[2])
    amounts = pd.Series([50, 100, 1234.5, 2_000_000, None], dtype="Float64")
    assert to_amount_band(amounts, [100, 1000, 5000]).tolist()[:4] == [
        "<100",
        "100-1000",
        "1000-5000",
        "≥5000",
    ]
    assert ethnicity_group(pd.Series(["汉族", "回族", "满族"])).tolist() == [
        "汉族",
        "少数民族",
        "少数民族",
    ]


def test_address_to_township() -> None:
    addresses = pd.Series(["中宁县大战场镇红梧山村3号", "沙坡头区某某街5号", None, "海原县海城镇"])
    counties = pd.Series(["640521", "640502", "640502", "640522"])
    out = address_to_township(addresses, counties, CITY)
    assert out.iloc[0] == "大战场镇" and out.iloc[1] == "沙坡头区"
    assert pd.isna(out.iloc[2]) and out.iloc[3] == "海城镇"


def test_class_sizes_and_k() -> None:
    frame = pd.DataFrame({"g": ["男", "男", "女", "女", "女", None], "y": ["1990"] * 6})
    assert class_sizes(frame, ["g", "y"]).tolist() == [2, 2, 3, 3, 3, 1]
    assert measure_k(frame, ["g", "y"]) == 1
    assert measure_k(frame, []) is None and measure_k(frame.iloc[:0], ["g"]) is None


def test_k_anonymity_generalizes_township_to_county_before_emptying_a_date() -> None:
    n = 24
    index = pd.RangeIndex(n)
    years = pd.Series([1950 + (i * 7) % 40 for i in range(n)], index=index)
    towns = pd.Series([["滨河镇", "文昌镇", "东园镇"][i % 3] for i in range(n)], index=index)
    star = pd.Series("*", index=index)

    def hierarchy(column: str, names: tuple[str, ...], levels: list[pd.Series]) -> Hierarchy:
        return Hierarchy(column, names, tuple((lambda s=s: s) for s in levels))

    birth = hierarchy(
        "birth_date", ("年", "年代", "*"), [years.astype(str), (years // 10 * 10).astype(str), star]
    )
    town = hierarchy(
        "township", ("乡镇", "县（区）", "*"), [towns, pd.Series("沙坡头区", index=index), star]
    )
    result = enforce_k_anonymity(
        [birth, town], n_rows=n, index=index, k=5, max_suppression_rate=0.0
    )
    # plain Datafly would empty the birth dates (more distinct values) and keep the townships
    assert result.level_names == {"birth_date": "年代", "township": "县（区）"}
    assert result.k is not None and result.k >= 5 and result.suppressed == 0
