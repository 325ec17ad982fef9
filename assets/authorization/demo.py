"""The demo's authorized operation, created after the pipeline published the operation tables: an
operator authorization (整体授权), the development agreement approved by the bureau, a merchant registered
and signed, one application approved by every reviewer (its grant live today) and one still waiting for
its compliance check. Idempotent: a data directory that has the demo authorization is left as it is.

It acts through the demo accounts (``assets/accounts/demo.py``); a source department's review of a
city-wide dataset needs the department's city-level office, which the demo adds (``demo_<dept>_city``,
no password: CLI only).
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.accounts.store import create_account, get_account
from assets.authorization import agreements, merchants, operator, reviews
from assets.authorization.agreements import REQUIRED_CLAUSES
from assets.authorization.applications import published_columns, submit_application
from assets.common.catalog import CatalogEntry
from assets.common.check_chars import uscc_check_char
from assets.common.city import City
from assets.storage.tables import operator_authorizations

DEMO_AGREEMENT_NO = "ZW-SJYY-DEMO-001"
DEMO_MERCHANT_ID = "demo_merchant"  # the demo merchant account's scope
BUREAU, REVIEW, COMPLIANCE, MERCHANT = (
    "demo_bureau",
    "demo_review",
    "demo_compliance",
    "demo_merchant",
)
PREFERRED = ("medical_institutions", "market_entities")

AGREEMENT_TEXT = "公共数据开发利用格式协议（演示）\n" + "\n".join(
    f"第{i}条 {clause}：按《中卫市公共数据资源授权运营管理办法（试行）》执行。"
    for i, clause in enumerate(REQUIRED_CLAUSES, start=1)
)


def _demo_uscc() -> str:
    first17 = "91640500MA7D3M001"
    return first17 + uscc_check_char(first17)


def _city_office(engine: Engine, city: City, department_id: str) -> str:
    name = f"demo_{department_id}_city"
    if get_account(engine, name) is None:
        department = city.department(department_id)
        create_account(
            engine,
            name=name,
            display_name=f"中卫市{department.name}（演示）",
            role="department_office",
            department_id=department_id,
            by="system:demo",
            by_role=None,
            city=city,
        )
    return name


def _publishable(engine: Engine, catalog: dict[str, CatalogEntry]) -> dict[str, list[str]]:
    """Dataset → up to four item names the operation table publishes, unchanged ones first."""
    found: dict[str, list[str]] = {}
    for dataset_id, entry in catalog.items():
        if entry.is_prohibited:
            continue
        published = published_columns(engine, dataset_id) or {}
        kept = [i.name for i in entry.items if published.get(i.column) == "kept"]
        names = kept or [
            i.name for i in entry.items if published.get(i.column) not in (None, "suppressed")
        ]
        if names:
            found[dataset_id] = names[:4]
    return found


def create_demo_operation(
    engine: Engine, catalog: dict[str, CatalogEntry], city: City, today: date
) -> bool:
    """Create the demo's authorization, merchant and applications; False when they already exist or
    nothing is published to apply for."""
    with engine.connect() as connection:
        if connection.execute(
            sa.select(operator_authorizations.c.id).where(
                operator_authorizations.c.agreement_no == DEMO_AGREEMENT_NO
            )
        ).first():
            return False
    publishable = _publishable(engine, catalog)
    chosen = [d for d in PREFERRED if d in publishable] or list(publishable)
    if not chosen:
        return False
    operator.create_authorization(
        engine,
        BUREAU,
        unit_name="中卫市公共数据运营有限公司（演示）",
        agreement_no=DEMO_AGREEMENT_NO,
        mode="whole",
        valid_from=date(today.year, 1, 1),
        valid_to=date(today.year + 2, 12, 31),
    )
    version = agreements.draft_version(engine, REVIEW, AGREEMENT_TEXT)
    agreements.decide_version(engine, BUREAU, version.id, approve=True)
    merchants.register_merchant(
        engine,
        REVIEW,
        name="宁夏演示数据科技有限公司",
        uscc=_demo_uscc(),
        contact_name="演示联系人",
        contact_phone="13800000000",
        qualifications=["营业执照", "数据安全管理制度", "等保三级备案证明"],
        today=today,
        merchant_id=DEMO_MERCHANT_ID,
    )
    merchants.decide_merchant(engine, REVIEW, DEMO_MERCHANT_ID, approve=True)
    agreements.sign(engine, MERCHANT, DEMO_MERCHANT_ID, version.id)

    def submit(dataset_id: str, scenario: str):
        return submit_application(
            engine,
            MERCHANT,
            catalog,
            merchant_id=DEMO_MERCHANT_ID,
            scenario=scenario,
            purpose="演示：在运营平台沙箱内统计分析，不导出原始数据",
            method="sandbox",
            period_start=today,
            period_end=today + timedelta(days=365),
            safeguards="沙箱隔离；查询留痕；结果出域前经合规核查与备案",
            items={dataset_id: publishable[dataset_id]},
            today=today,
        )

    approved = submit(chosen[0], "公共服务资源分布分析（演示）")
    reviews.comply(engine, COMPLIANCE, catalog, approved.application_id, passed=True, today=today)
    reviews.review(
        engine,
        BUREAU,
        catalog,
        approved.application_id,
        reviewer="bureau",
        approve=True,
        today=today,
    )
    for department_id in sorted({catalog[d].provider for d in approved.datasets}):
        reviews.review(
            engine,
            _city_office(engine, city, department_id),
            catalog,
            approved.application_id,
            reviewer="department",
            department_id=department_id,
            approve=True,
            today=today,
        )
    submit(chosen[-1], "市场主体活跃度分析（演示）")  # waits for its compliance check
    return True
