"""The roles of the measures (第五条) and the scope each acts in."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What an account of a role is bound to."""

    CITY = "city"  # the whole city
    COUNTY = "county"  # one county (county_code)
    DEPARTMENT = "department"  # one source department (department_id), in one county or city level
    OPERATOR = "operator"  # the authorized operating unit
    MERCHANT = "merchant"  # one data merchant (merchant_id)
    PLATFORM = "platform"  # platform operations


class Role(StrEnum):
    BUREAU = "bureau"
    COUNTY_OFFICE = "county_office"
    DEPARTMENT_OFFICE = "department_office"
    OPERATOR_COMPLIANCE = "operator_compliance"
    OPERATOR_REVIEW = "operator_review"
    MERCHANT_USER = "merchant_user"
    ENGINEER = "engineer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def scope(self) -> Scope:
        return ROLE_SCOPES[self]


ROLE_LABELS: dict[Role, str] = {
    Role.BUREAU: "市数据局",
    Role.COUNTY_OFFICE: "县区数据管理机构",
    Role.DEPARTMENT_OFFICE: "数源部门",
    Role.OPERATOR_COMPLIANCE: "授权运营单位（合规）",
    Role.OPERATOR_REVIEW: "授权运营单位（审核）",
    Role.MERCHANT_USER: "数据商用户",
    Role.ENGINEER: "平台运维",
}

ROLE_SCOPES: dict[Role, Scope] = {
    Role.BUREAU: Scope.CITY,
    Role.COUNTY_OFFICE: Scope.COUNTY,
    Role.DEPARTMENT_OFFICE: Scope.DEPARTMENT,
    Role.OPERATOR_COMPLIANCE: Scope.OPERATOR,
    Role.OPERATOR_REVIEW: Scope.OPERATOR,
    Role.MERCHANT_USER: Scope.MERCHANT,
    Role.ENGINEER: Scope.PLATFORM,
}


def parse_role(code: str) -> Role:
    try:
        return Role(code)
    except ValueError:
        known = "、".join(f"{r.value}（{r.label}）" for r in Role)
        raise ValueError(f"未知的角色 {code}（可选：{known}）") from None
