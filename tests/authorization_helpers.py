"""Shared pieces of the authorization tests: actors, a development agreement with every clause of
第十九条, valid unified social credit codes."""

from __future__ import annotations

from assets.authorization.agreements import REQUIRED_CLAUSES
from assets.authorization.records import Actor
from assets.common.identifiers import uscc_check_char

BUREAU = Actor("bureau_official", "bureau")
OPERATOR = Actor("operator_staff", "operator_review")

AGREEMENT_BODY = "公共数据开发利用格式协议\n" + "\n".join(
    f"第{i}条 {clause}：……" for i, clause in enumerate(REQUIRED_CLAUSES, start=1)
)


def valid_uscc(first12: str, serial: str = "12345") -> str:
    """An 18-character code with the right GB 32100 check character."""
    first17 = (first12 + serial)[:17]
    return first17 + uscc_check_char(first17)
