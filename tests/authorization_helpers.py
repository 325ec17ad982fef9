"""Shared pieces of the authorization tests: actors, a development agreement with every clause of
第十九条, valid unified social credit codes."""

from __future__ import annotations

from datetime import date

from assets.authorization.agreements import REQUIRED_CLAUSES
from assets.common.check_chars import uscc_check_char

BUREAU = "t_bureau"
OPERATOR = "t_review"  # the operating unit's review desk
COMPLIANCE = "t_compliance"
MERCHANT = "t_merchant"
HEALTH_OFFICE = "t_health_office"  # the city-level office of the 卫生健康委员会
MERCHANT_ID = "yunshu"

ACCOUNTS = (
    (BUREAU, "bureau", {}),
    (OPERATOR, "operator_review", {}),
    (COMPLIANCE, "operator_compliance", {}),
    (MERCHANT, "merchant_user", {"merchant_id": MERCHANT_ID}),
    (HEALTH_OFFICE, "department_office", {"department_id": "health"}),
    ("t_market_office", "department_office", {"department_id": "market_regulation"}),
)


def ensure_accounts(engine) -> None:
    """One account per role the authorization tests act as (created once per database)."""
    from assets.accounts.store import create_account, get_account

    for name, role, scope in ACCOUNTS:
        if get_account(engine, name) is None:
            create_account(
                engine, name=name, display_name=name, role=role, by="test", by_role=None, **scope
            )


AGREEMENT_BODY = "公共数据开发利用格式协议\n" + "\n".join(
    f"第{i}条 {clause}：……" for i, clause in enumerate(REQUIRED_CLAUSES, start=1)
)


def valid_uscc(first12: str, serial: str = "12345") -> str:
    """An 18-character code with the right GB 32100 check character."""
    first17 = (first12 + serial)[:17]
    return first17 + uscc_check_char(first17)


def record_published(engine, catalog, *, suppressed: dict[str, tuple[str, ...]] | None = None):
    """Publication records as the operation stage writes them: every non-prohibited dataset published,
    every item ``kept`` except the ``suppressed`` ones (置空 by the desensitization policy)."""
    from types import MappingProxyType

    from assets.authorization.records import utc_now
    from assets.desensitization.desensitize import DesensitizationReport
    from assets.operation.records import record_publication

    suppressed = suppressed or {}
    with engine.begin() as connection:
        for dataset_id, entry in catalog.items():
            if entry.is_prohibited:
                continue
            transformations = {
                item.column: "suppressed"
                if item.column in suppressed.get(dataset_id, ())
                else "kept"
                for item in entry.items
            }
            report = DesensitizationReport(
                dataset_id=dataset_id,
                rows_in=10,
                rows_out=10,
                k=None,
                k_threshold=5,
                suppressed=0,
                quasi_identifiers=(),
                generalization_levels=MappingProxyType({}),
                transformations=MappingProxyType(transformations),
                actions=MappingProxyType({}),
                levels=MappingProxyType({}),
                dropped_columns=(),
                key_id="test",
            )
            record_publication(
                connection,
                dataset_id=dataset_id,
                table_name=f"operation_{dataset_id}",
                status="published",
                report=report,
                rows=10,
                run_id="test",
                at=utc_now(),
                k_threshold=5,
            )


def setup_world(
    engine,
    catalog,
    *,
    valid_from: date = date(2025, 1, 1),
    valid_to: date = date(2027, 12, 31),
    suppressed: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """An operator authorization (整体授权), published datasets, a registered merchant that signed the
    current development agreement. Returns the merchant id."""
    from assets.authorization import agreements, merchants, operator

    ensure_accounts(engine)
    operator.create_authorization(
        engine,
        BUREAU,
        unit_name="中卫市数据运营有限公司",
        agreement_no="ZW-SQYY-2025-001",
        mode="whole",
        valid_from=valid_from,
        valid_to=valid_to,
    )
    record_published(engine, catalog, suppressed=suppressed)
    merchants.register_merchant(
        engine,
        OPERATOR,
        name="宁夏云数科技有限公司",
        uscc=valid_uscc("91640500MA76"),
        contact_name="王经理",
        contact_phone="13900001111",
        qualifications=["营业执照", "数据安全管理制度"],
        today=valid_from,
        merchant_id=MERCHANT_ID,
    )
    merchants.decide_merchant(engine, OPERATOR, MERCHANT_ID, approve=True)
    version = agreements.draft_version(engine, OPERATOR, AGREEMENT_BODY)
    agreements.decide_version(engine, BUREAU, version.id, approve=True)
    agreements.sign(engine, MERCHANT, MERCHANT_ID, version.id)
    return MERCHANT_ID
