"""Fees and the distribution of income, as pure functions over integer fen (分).

- 第十四条 保本微利: a commercial product's price is its recorded costs × (1 + margin), the margin capped by
  configuration (``config/fees.yaml``); 第二十四条: public-good products are free.
- 第二十五条 谁投入、谁贡献、谁受益: income is split by weighted shares among the city, the counties
  and the supplying departments. ``split_largest_remainder`` gives every party the floor of its exact
  share and hands the fen left over to the largest remainders, so the parts always sum to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from assets.common.yamlfile import read_yaml_mapping

DEFAULT_FEES_CONFIG = Path(__file__).resolve().parents[2] / "config" / "fees.yaml"
BASIS_POINTS = 10_000  # margins are stored in 万分之一 (basis points)


class FeeError(ValueError):
    """A fee configuration or a price the rules do not allow (message in Chinese)."""


@dataclass(frozen=True)
class FeeConfig:
    margin_cap_bp: int
    default_margin_bp: int
    shares: Mapping[str, Fraction]  # city | counties | departments → weight

    def as_record(self) -> dict[str, object]:
        return {
            "margin_cap": self.margin_cap_bp / BASIS_POINTS,
            "default_margin": self.default_margin_bp / BASIS_POINTS,
            "distribution": {k: str(v) for k, v in self.shares.items()},
        }


def to_bp(rate: float | str | Decimal) -> int:
    """A rate (0.05) as basis points (500), exactly."""
    value = Decimal(str(rate)) * BASIS_POINTS
    if value != value.to_integral_value():
        raise FeeError(f"利润率 {rate} 精度超过万分之一")
    return int(value)


def load_fee_config(path: Path | None = None) -> FeeConfig:
    path = path or DEFAULT_FEES_CONFIG
    raw = read_yaml_mapping(path, what="收费配置", error=FeeError, empty_ok=True)
    cap = to_bp(raw.get("margin_cap", 0.10))
    default = to_bp(raw.get("default_margin", 0))
    if not 0 <= cap <= BASIS_POINTS:
        raise FeeError(f"{path}: margin_cap 应在 0 与 1 之间")
    if not 0 <= default <= cap:
        raise FeeError(f"{path}: default_margin 应在 0 与 margin_cap 之间")
    distribution = raw.get("distribution") or {}
    unknown = set(distribution) - {"city", "counties", "departments"}
    if unknown:
        raise FeeError(f"{path}: 未知的分配对象 {', '.join(sorted(unknown))}")
    shares = {k: Fraction(str(v)) for k, v in distribution.items()}
    if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
        raise FeeError(f"{path}: 分配份额应为非负数且合计大于 0")
    return FeeConfig(cap, default, shares)


def check_margin(margin_bp: int, config: FeeConfig) -> int:
    if margin_bp < 0:
        raise FeeError("利润率不能为负")
    if margin_bp > config.margin_cap_bp:
        raise FeeError(
            f"利润率 {margin_bp / 100:g}% 超过配置上限 {config.margin_cap_bp / 100:g}%"
            "（第十四条 保本微利）"
        )
    return margin_bp


def price_fen(cost_fen: int, margin_bp: int) -> int:
    """Costs × (1 + margin), rounded half up to the fen."""
    exact = Decimal(cost_fen) * (BASIS_POINTS + margin_bp) / BASIS_POINTS
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(fen: int) -> str:
    """Fen as yuan text with two decimals (¥1 234.50 → ``1234.50``)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def parse_yuan(text: str) -> int:
    """``12.5`` → 1250 fen; more than two decimals is an error, never rounded."""
    try:
        value = Decimal(text.strip()) * 100
    except ArithmeticError as exc:
        raise FeeError(f"金额 {text!r} 不是数字") from exc
    if value != value.to_integral_value():
        raise FeeError(f"金额 {text} 精确到分")
    if value < 0:
        raise FeeError("金额不能为负")
    return int(value)


def split_largest_remainder(total: int, weights: Sequence[tuple[str, Fraction]]) -> dict[str, int]:
    """``total`` fen split in proportion to ``weights`` (party, weight): floors first, then one fen
    each to the largest remainders (ties: the earlier party). Sums to ``total`` exactly."""
    positive = [(party, Fraction(w)) for party, w in weights if w > 0]
    whole = sum(w for _, w in positive)
    if total < 0:
        raise FeeError("收入不能为负")
    if not positive or whole == 0:
        raise FeeError("没有可分配的对象")
    exact = [(party, total * w / whole) for party, w in positive]
    floors = {party: int(share.numerator // share.denominator) for party, share in exact}
    left = total - sum(floors.values())
    order = sorted(
        range(len(exact)),
        key=lambda i: (-(exact[i][1] - floors[exact[i][0]]), i),
    )
    for i in order[:left]:
        floors[exact[i][0]] += 1
    return floors


@dataclass(frozen=True)
class Party:
    party: str  # city | county:<code> | department:<id>
    label: str
    weight: Fraction  # exact share of the income


def parties(
    config: FeeConfig,
    *,
    city_label: str,
    counties: Mapping[str, tuple[str, int]],  # code → (name, rows supplied)
    departments: Mapping[str, str],  # id → name
) -> list[Party]:
    """The ledger's parties and their exact weights under the configured shares. A share whose group
    is empty (no department known, say) goes to the city, so nothing is left undistributed."""
    shares = dict(config.shares)
    out: list[Party] = []
    county_rows = {code: rows for code, (_, rows) in counties.items() if rows > 0}
    county_total = sum(county_rows.values())
    city_share = shares.get("city", Fraction(0))
    if not counties:
        city_share += shares.get("counties", Fraction(0))
    if not departments:
        city_share += shares.get("departments", Fraction(0))
    if city_share:
        out.append(Party("city", city_label, city_share))
    if counties and shares.get("counties"):
        for code, (name, rows) in counties.items():
            weight = (
                shares["counties"] * Fraction(rows, county_total)
                if county_total
                else shares["counties"] / len(counties)
            )
            if weight:
                out.append(Party(f"county:{code}", name, weight))
    if departments and shares.get("departments"):
        for department_id, name in departments.items():
            out.append(
                Party(f"department:{department_id}", name, shares["departments"] / len(departments))
            )
    return out
