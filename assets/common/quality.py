"""The data-quality vocabulary of the whole project: the GB/T 36344-2018 dimensions every finding, rule,
ticket and report is filed under, and the severities a suite gives its expectations."""

from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    """GB/T 36344-2018 数据质量评价指标."""

    CONFORMITY = "规范性"
    COMPLETENESS = "完整性"
    ACCURACY = "准确性"
    CONSISTENCY = "一致性"
    TIMELINESS = "时效性"
    ACCESSIBILITY = "可访问性"


class Severity(StrEnum):
    """How serious a failed expectation is; tickets and deadlines key on the Chinese value."""

    HIGH = "高"
    MEDIUM = "中"
    LOW = "低"

    @property
    def ge_severity(self) -> str:
        return {Severity.HIGH: "critical", Severity.MEDIUM: "warning", Severity.LOW: "info"}[self]
