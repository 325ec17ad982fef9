"""Statistical disclosure control against its reference: on the same microdata, the vectorized rules of
``assets/exports/sdc.py`` flag exactly the cells ``acro`` (SACRO) flags — frequency threshold, N-K
dominance and p-ratio at acro's defaults; the lineage refusals of ``lineage.py``; the fee arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.exports.lineage import AggregateShape, LineageError, analyze
from assets.exports.sdc import Thresholds, check_aggregate, check_records
from assets.products.fees import (
    FeeConfig,
    FeeError,
    check_margin,
    parties,
    price_fen,
    split_largest_remainder,
)

PUBLISHED = {"agricultural_subsidies": ("id_number", "subsidy_type", "amount", "phone", "township")}
GRANTED = {"agricultural_subsidies": ("id_number", "subsidy_type", "amount", "township")}


def _microdata(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for a in "abcd":
        for b in "xyz":
            n = int(rng.choice([2, 5, 9, 10, 14, 30]))
            values = rng.integers(1, 1000, n).astype(float)
            kind = rng.random()
            if kind < 0.25:
                values[0] = 1e6  # one dominant contributor
            elif kind < 0.4 and n > 2:
                values[:2] = 5e5  # two dominant contributors
            parts.append(pd.DataFrame({"a": a, "b": b, "v": values}))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_rules_flag_exactly_the_cells_acro_flags(seed):
    from acro import ACRO

    micro = _microdata(seed)
    session = ACRO(suppress=False)
    session.pivot_table(micro, index=["a", "b"], values="v", aggfunc=["count", "sum"])
    output = session.results.results[list(session.results.results)[-1]]
    table = output.output[0]
    cells = output.sdc["cells"]

    def flagged(check: str) -> set[tuple[str, str]]:
        return {tuple(table.index[row]) for row, _ in cells[check]}

    acro_small = flagged("MinimumThresholdCheck")
    acro_dominated = (flagged("NKCheck") | flagged("PPercentCheck")) - acro_small

    result = micro.groupby(["a", "b"]).agg(n=("v", "size"), total=("v", "sum")).reset_index()
    shape = AggregateShape(
        microdata_sql="",
        keys=("a", "b"),
        key_of_output={"a": "a", "b": "b"},
        values={"n": (("count", None),), "total": (("sum", "v"),)},
    )
    outcome = check_aggregate(result, micro, shape, Thresholds(), suppress=False)

    def ours(*rules: str) -> set[tuple[str, str]]:
        found = set()
        for f in outcome.findings:
            if f.rule in rules:
                a, b = (part.split("=")[1] for part in f.cell[4:-1].split("，"))
                found.add((a, b))
        return found

    assert ours("frequency") == acro_small
    assert ours("nk_dominance", "p_ratio") == acro_dominated
    assert acro_small and acro_dominated  # the data exercises both rules


def test_k_anonymity_of_records_names_the_small_classes_or_suppresses_them():
    frame = pd.DataFrame({"township": ["宣和镇"] * 6 + ["滨河镇"] * 2, "age_band": "30-39"})
    refused = check_records(frame, ["township", "age_band"], 5, suppress=False)
    assert not refused.passed
    assert "township=滨河镇" in refused.findings[0].reason and "2 条" in refused.findings[0].reason
    kept = check_records(frame, ["township", "age_band"], 5, suppress=True)
    assert kept.passed and len(kept.frame) == 6 and len(kept.suppressed) == 1


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
        ("SELECT * FROM pg_catalog.pg_authid", "pg_catalog.pg_authid"),
        ("DELETE FROM agricultural_subsidies", "DELETE"),
        ("SELECT 1; SELECT 2", "2 条"),
        ("SELECT phone FROM agricultural_subsidies", "agricultural_subsidies.phone"),
        (
            "SELECT a.phone FROM grant_g0001.agricultural_subsidies a",
            "agricultural_subsidies.phone",
        ),
        ("SELECT x FROM household_registration", "household_registration"),
        (
            "WITH t AS (SELECT phone AS p FROM agricultural_subsidies) SELECT count(*) FROM t",
            "agricultural_subsidies.phone",
        ),
    ],
)
def test_lineage_refuses_what_lies_outside_the_grant(sql, named):
    published = {**PUBLISHED, "household_registration": ("x",)}
    with pytest.raises(LineageError) as refused:
        analyze(sql, dialect="postgres", published=published, granted=GRANTED)
    assert named in str(refused.value)


def test_lineage_traces_outputs_and_builds_the_microdata_query():
    plan = analyze(
        "SELECT s.subsidy_type AS kind, SUM(s.amount) AS total FROM agricultural_subsidies s "
        "WHERE s.township = '宣和镇' GROUP BY s.subsidy_type HAVING COUNT(*) > 1",
        dialect="sqlite",
        published=PUBLISHED,
        granted=GRANTED,
    )
    assert plan.reads == {"agricultural_subsidies": ("amount", "subsidy_type", "township")}
    outputs = {o.name: (o.sources, o.aggregated) for o in plan.outputs}
    assert outputs["kind"] == ((("agricultural_subsidies", "subsidy_type"),), False)
    assert outputs["total"] == ((("agricultural_subsidies", "amount"),), True)
    assert plan.aggregate is not None and plan.aggregate.mappable
    assert "GROUP BY" not in plan.aggregate.microdata_sql
    assert '"operation_agricultural_subsidies"' in plan.executable_sql
    assert '"phone"' not in plan.executable_sql  # only granted columns reach the query


def test_price_is_cost_plus_capped_margin():
    config = FeeConfig(1000, 500, {"city": Fraction(1)})
    assert price_fen(133_333, 800) == 144_000  # 143 999.64 fen, half up
    assert price_fen(100, 0) == 100
    with pytest.raises(FeeError, match="超过配置上限"):
        check_margin(1001, config)


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=12),
)
def test_largest_remainder_always_sums_to_the_income(total, weights):
    named = [(f"p{i}", Fraction(w)) for i, w in enumerate(weights)]
    split = split_largest_remainder(total, named)
    assert sum(split.values()) == total
    whole = sum(weights)
    for (party, w), amount in zip(named, split.values(), strict=True):
        assert abs(amount - total * w / whole) < 1, party


def test_parties_follow_the_configured_shares():
    config = FeeConfig(1000, 500, {"city": 40, "counties": 30, "departments": 30})
    people = parties(
        config,
        city_label="市数据局",
        counties={"640502": ("沙坡头区", 3), "640521": ("中宁县", 1)},
        departments={"agriculture_rural": "农业农村局"},
    )
    weights = {p.party: p.weight for p in people}
    assert weights == {
        "city": 40,
        "county:640502": Fraction(90, 4),
        "county:640521": Fraction(30, 4),
        "department:agriculture_rural": 30,
    }
    split = split_largest_remainder(101, [(p.party, p.weight) for p in people])
    assert sum(split.values()) == 101
