"""The desensitization policy (脱敏策略): per sensitivity level and personal-data type, what to do.

The shipped policy is ``policy.yaml`` beside this module. ``DesensitizationPolicy.action_for`` resolves
one column's action; the model refuses a policy that could leave a direct identifier (ID number, mobile
phone, bank card, name) in the clear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assets.common.catalog import CatalogItem
from assets.common.pii import DIRECT_IDENTIFIERS, PiiType
from assets.common.yamlfile import load_yaml_model

Action = Literal["keep", "generalize", "pseudonymize", "mask", "suppress"]

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")

_HIDING_ACTIONS = frozenset({"mask", "pseudonymize", "suppress"})

# How much an action hides; a floor raises an action below it. mask and pseudonymize both hide the
# value (one keeps a join key, the other a readable fragment), so they rank equal and the level's
# choice between them stands.
ACTION_STRENGTH: dict[str, int] = {
    "keep": 0,
    "generalize": 1,
    "pseudonymize": 2,
    "mask": 2,
    "suppress": 3,
}


class LevelRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Action
    pii: dict[PiiType, Action] = Field(default_factory=dict)


class DefaultLevels(BaseModel):
    """The level a column gets when the caller passes no classification."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pii: dict[PiiType, str] = Field(default_factory=dict)
    quasi_identifier: str
    other: str


class Generalization(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: Literal["year", "month"] = "year"
    year_bands: tuple[int, ...] = (5, 10)
    amount_bands: tuple[float, ...] = Field(min_length=2)

    @field_validator("year_bands")
    @classmethod
    def _widening(cls, bands: tuple[int, ...]) -> tuple[int, ...]:
        if any(b < 2 for b in bands) or list(bands) != sorted(set(bands)):
            raise ValueError("year_bands 应为递增且不小于2的年数")
        return bands

    @field_validator("amount_bands")
    @classmethod
    def _increasing(cls, edges: tuple[float, ...]) -> tuple[float, ...]:
        if list(edges) != sorted(set(edges)):
            raise ValueError("amount_bands 应严格递增")
        return edges


class DesensitizationPolicy(BaseModel):
    """脱敏策略: levels → actions, floors for personal data, k-anonymity and generalization settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_threshold: int = Field(default=5, ge=2)
    max_suppression_rate: float = Field(default=0.05, ge=0, le=1)
    unknown_level: str
    default_levels: DefaultLevels
    levels: dict[str, LevelRule] = Field(min_length=1)
    minimum: dict[PiiType, Action] = Field(default_factory=dict)
    generalization: Generalization

    @model_validator(mode="after")
    def _consistent(self) -> DesensitizationPolicy:
        named = [
            self.unknown_level,
            self.default_levels.quasi_identifier,
            self.default_levels.other,
            *self.default_levels.pii.values(),
        ]
        unknown = sorted(set(named) - set(self.levels))
        if unknown:
            raise ValueError(f"脱敏策略引用了未定义的级别: {', '.join(unknown)}")
        weak = [pii for pii in DIRECT_IDENTIFIERS if self.minimum.get(pii) not in _HIDING_ACTIONS]
        if weak:
            raise ValueError(
                "脱敏策略必须保证直接标识符不以明文出现: minimum 中 "
                f"{', '.join(weak)} 应为 mask、pseudonymize 或 suppress"
            )
        return self

    def level_of(self, item: CatalogItem, pii: str | None) -> str:
        """The default level of a column from its personal-data type / quasi-identifier flag."""
        if pii and pii in self.default_levels.pii:
            return self.default_levels.pii[pii]  # type: ignore[index]
        if item.quasi_identifier:
            return self.default_levels.quasi_identifier
        return self.default_levels.other

    def action_for(self, *, level: str, pii: str | None) -> Action:
        """The action for a column of ``level`` and personal-data type ``pii`` (None if none)."""
        rule = self.levels.get(level) or self.levels[self.unknown_level]
        action: Action = rule.pii.get(pii, rule.default) if pii else rule.default  # type: ignore[arg-type]
        floor = self.minimum.get(pii) if pii else None  # type: ignore[call-overload]
        if floor is not None and ACTION_STRENGTH[action] < ACTION_STRENGTH[floor]:
            return floor
        return action


def load_policy(path: Path = DEFAULT_POLICY_PATH) -> DesensitizationPolicy:
    """Read and validate a policy file (YAML)."""
    return load_yaml_model(path, DesensitizationPolicy, what="脱敏策略")
