"""The thresholds of the automatic export checks and the working days of the human steps
(``config/exports.yaml``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assets.common.yamlfile import load_yaml_model
from assets.desensitization.policy import load_policy

DEFAULT_EXPORTS_CONFIG = Path(__file__).resolve().parents[2] / "config" / "exports.yaml"


class ExportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frequency_threshold: int = Field(default=10, ge=1)
    nk_n: int = Field(default=2, ge=1)
    nk_k: float = Field(default=0.90, gt=0, le=1)
    p_ratio: float = Field(default=0.10, ge=0)
    k_threshold: int | None = Field(default=None, ge=2)
    max_rows: int = Field(default=200_000, ge=1)
    review_working_days: int = Field(default=5, ge=1)
    filing_working_days: int = Field(default=5, ge=1)

    @property
    def k(self) -> int:
        """The k of record-level results: configured, else the platform's desensitization k."""
        return self.k_threshold or load_policy().k_threshold

    def thresholds(self) -> dict[str, object]:
        return {
            "frequency_threshold": self.frequency_threshold,
            "nk_n": self.nk_n,
            "nk_k": self.nk_k,
            "p_ratio": self.p_ratio,
            "k": self.k,
            "max_rows": self.max_rows,
        }


def load_exports_config(path: Path | None = None) -> ExportsConfig:
    path = path or DEFAULT_EXPORTS_CONFIG
    return load_yaml_model(path, ExportsConfig, what="出域核查配置", empty_ok=True)
