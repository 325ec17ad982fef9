"""Risk assessments of datasets and products (第二十七条 定期开展风险评估) with their conclusions.

Each assessment is one row (never changed; a new assessment supersedes an older one of the same
subject) and is audited with the acting account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.security.text import required, scrub
from assets.storage.tables import risk_assessments

SUBJECT_KINDS = {"dataset": "数据集", "product": "数据产品"}
RISK_LEVELS = {"low": "低", "medium": "中", "high": "高"}
CONCLUSIONS = {
    "acceptable": "风险可接受",
    "conditional": "有条件接受",
    "unacceptable": "风险不可接受",
}
AUDIT_RECORD = "risk_assessment"


class RiskError(ValueError):
    """An assessment that cannot be recorded as given."""


@dataclass(frozen=True)
class Assessment:
    id: int
    subject_kind: str
    subject_id: str
    risk_level: str
    conclusion: str
    findings: str
    measures: str | None
    assessed_by: str
    assessed_at: datetime

    def as_record(self) -> dict[str, object]:
        at = self.assessed_at if self.assessed_at.tzinfo else self.assessed_at.replace(tzinfo=UTC)
        return {
            "id": self.id,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "risk_level": self.risk_level,
            "risk_level_label": RISK_LEVELS[self.risk_level],
            "conclusion": self.conclusion,
            "conclusion_label": CONCLUSIONS[self.conclusion],
            "findings": self.findings,
            "measures": self.measures,
            "assessed_by": self.assessed_by,
            "assessed_at": at.isoformat(),
        }


def _from_row(row: Mapping[str, Any]) -> Assessment:
    return Assessment(**{k: row[k] for k in Assessment.__dataclass_fields__})


def _choice(value: str, choices: Mapping[str, str], what: str) -> str:
    for code, label in choices.items():
        if value in (code, label):
            return code
    known = "、".join(f"{c}（{label}）" for c, label in choices.items())
    raise RiskError(f"未知的{what} {value}（可选：{known}）")


def record_assessment(
    engine: Engine,
    *,
    subject_kind: str,
    subject_id: str,
    risk_level: str,
    conclusion: str,
    findings: str,
    measures: str | None = None,
    actor: str,
    role: str | None,
    at: datetime | None = None,
) -> Assessment:
    kind = _choice(subject_kind, SUBJECT_KINDS, "评估对象类型")
    level = _choice(risk_level, RISK_LEVELS, "风险等级")
    verdict = _choice(conclusion, CONCLUSIONS, "评估结论")
    try:
        findings = required(findings, "评估发现")
        subject = required(subject_id, "评估对象")
    except ValueError as exc:
        raise RiskError(str(exc)) from exc
    moment = at or datetime.now(UTC)
    values = {
        "subject_kind": kind,
        "subject_id": subject,
        "risk_level": level,
        "conclusion": verdict,
        "findings": findings,
        "measures": scrub(measures.strip()) if measures and measures.strip() else None,
        "assessed_by": actor,
        "assessed_at": moment,
    }
    with engine.begin() as connection:
        new_id = connection.execute(
            risk_assessments.insert().values(**values)
        ).inserted_primary_key[0]
        audit.record(
            connection,
            actor=actor,
            role=role,
            action=AUDIT_RECORD,
            target=f"risk/{kind}/{subject}",
            reason=CONCLUSIONS[verdict],
            detail={"assessment_id": int(new_id), "risk_level": level, "conclusion": verdict},
            at=moment,
        )
    return _from_row({"id": int(new_id), **values})


def list_assessments(
    engine: Engine,
    *,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Assessment]:
    t = risk_assessments
    query = sa.select(t).order_by(t.c.assessed_at, t.c.id)
    if subject_kind:
        query = query.where(
            t.c.subject_kind == _choice(subject_kind, SUBJECT_KINDS, "评估对象类型")
        )
    if subject_id:
        query = query.where(t.c.subject_id == subject_id)
    if since is not None:
        query = query.where(t.c.assessed_at >= since)
    if until is not None:
        query = query.where(t.c.assessed_at < until)
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query).mappings()]
