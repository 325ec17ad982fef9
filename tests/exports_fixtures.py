"""A world for the export tests: a registered merchant with an approved application and its live grant
on agricultural subsidies, published through the real desensitization and zone writer, accounts for
every step, and two products (commercial and public-good).

The published table (70 people, two counties, one township each so k-anonymity keeps every row):

| subsidy_type | people | amounts |
|---|---|---|
| 耕地地力保护补贴 | 40 | 100–999 |
| 硒砂瓜种植补贴 | 15 | 100–999 |
| 农机购置补贴 | 12 | eleven of 100–999, one of 1 000 000 (dominates the cell) |
| 枸杞产业补贴 | 3 | 100–999 (a cell of 3 people) |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from assets.accounts.store import create_account, get_account
from assets.authorization.applications import submit_application
from assets.authorization.reviews import comply, review
from assets.common.catalog import CatalogEntry
from assets.common.check_chars import id_check_char, luhn_check_digit
from assets.common.city import load_city
from assets.desensitization.desensitize import desensitize
from assets.desensitization.policy import load_policy
from assets.exports.config import ExportsConfig
from assets.operation.records import record_publication
from assets.operation.writer import publish
from assets.products.fees import load_fee_config
from assets.products.register import record_cost, register_product
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.authorization_helpers import BUREAU, COMPLIANCE, MERCHANT, MERCHANT_ID, setup_world

TODAY = date(2026, 3, 2)  # a Monday
PERIOD_END = date(2026, 6, 30)
SCENARIO = "农业补贴发放分析"
DATASET = "agricultural_subsidies"
KEY = b"publicdata-test-key-0123456789ab"
CITY = load_city()

M_USER, REVIEWER, FILER, PRICER = "m_user", "op_review", "bureau_filer", "op_pricer"

CELLS = {"耕地地力保护补贴": 40, "硒砂瓜种植补贴": 15, "农机购置补贴": 12, "枸杞产业补贴": 3}
DOMINATED = "农机购置补贴"
SMALL = "枸杞产业补贴"
CLEAN_SQL = (
    "SELECT subsidy_type, COUNT(*) AS people, SUM(amount) AS total FROM agricultural_subsidies "
    "WHERE subsidy_type IN ('耕地地力保护补贴', '硒砂瓜种植补贴') GROUP BY subsidy_type"
)
CLEAN_DATASET_COUNTIES = {"640502": 35, "640521": 35}


def _id_number(county: str, i: int) -> str:
    first17 = f"{county}1980{1 + i % 12:02d}{1 + i % 28:02d}{i % 500 * 2:03d}"
    return first17 + id_check_char(first17)


def subsidies() -> pd.DataFrame:
    rng = np.random.default_rng(14)
    rows = []
    i = 0
    for subsidy, n in CELLS.items():
        for j in range(n):
            county = "640502" if i % 2 == 0 else "640521"
            amount = float(rng.integers(100, 1000))
            if subsidy == DOMINATED and j == 0:
                amount = 1_000_000.0
            card = f"62220202{i:010d}"
            rows.append(
                {
                    "name": "张伟",
                    "id_number": _id_number(county, i),
                    "bank_card": card + luhn_check_digit(card),
                    "subsidy_type": subsidy,
                    "amount": amount,
                    "paid_on": pd.Timestamp("2026-01-20"),
                    "township": CITY.county(county).townships[0],
                    "phone": f"139{i:08d}",
                    "county_code": county,
                    "period": "2026-01",
                    "source_department": "agriculture_rural",
                    "source_file": f"landing/{county}/{DATASET}/2026-01.csv",
                    "file_checksum": "ab" * 32,
                    "batch_id": "batch-1",
                    "ingested_at": pd.Timestamp("2026-02-01T08:00Z"),
                    "source_row": i + 2,
                }
            )
            i += 1
    return pd.DataFrame(rows)


@dataclass
class World:
    url: str
    engine: sa.Engine
    data_dir: Path
    catalog: dict[str, CatalogEntry]
    application_id: str
    commercial: str
    public_good: str
    config: ExportsConfig

    @property
    def workspace(self) -> Path:
        return self.data_dir / "workspace" / MERCHANT_ID

    @property
    def outbox(self) -> Path:
        return self.workspace / "outbox"


def _account(engine, name: str, role: str, **scope) -> None:
    if get_account(engine, name) is None:
        create_account(
            engine, name=name, display_name=name, role=role, by="t", by_role=None, **scope
        )


def build_world(url: str, data_dir: Path, catalog: dict[str, CatalogEntry]) -> World:
    ensure_platform_schema(url)
    engine = get_engine(url)
    setup_world(engine, catalog, valid_from=date(2026, 1, 1), valid_to=date(2027, 12, 31))
    for name, role, scope in (
        (M_USER, "merchant_user", {"merchant_id": MERCHANT_ID}),
        (REVIEWER, "operator_review", {}),
        (FILER, "bureau", {}),
        (PRICER, "operator_compliance", {}),
        (MERCHANT, "merchant_user", {"merchant_id": MERCHANT_ID}),
        (BUREAU, "bureau", {}),
        (COMPLIANCE, "operator_compliance", {}),
        ("t_agri", "department_office", {"department_id": "agriculture_rural"}),
    ):
        _account(engine, name, role, **scope)
    entry = catalog[DATASET]
    published = desensitize(
        subsidies(), entry, levels=None, policy=load_policy(), key=KEY, city=CITY
    )
    assert published.report.rows_out == sum(CELLS.values())
    publish(engine, entry, published)
    with engine.begin() as connection:
        record_publication(
            connection,
            dataset_id=DATASET,
            table_name=f"operation_{DATASET}",
            status="published",
            report=published.report,
            rows=published.report.rows_out,
            run_id="test",
            at=pd.Timestamp("2026-02-01T08:00Z").to_pydatetime(),
            k_threshold=5,
        )
    application = submit_application(
        engine,
        MERCHANT,
        catalog,
        merchant_id=MERCHANT_ID,
        scenario=SCENARIO,
        purpose="统计各类农业补贴的发放人数与金额",
        method="sandbox",
        period_start=TODAY,
        period_end=PERIOD_END,
        safeguards="只在沙箱内查询，结果经出域审核",
        items={DATASET: ["id_number", "subsidy_type", "amount", "township"]},
        today=TODAY,
    )
    app_id = application.application_id
    comply(engine, COMPLIANCE, catalog, app_id, passed=True, today=TODAY)
    review(engine, BUREAU, catalog, app_id, reviewer="bureau", approve=True, today=TODAY)
    review(
        engine,
        "t_agri",
        catalog,
        app_id,
        reviewer="department",
        department_id="agriculture_rural",
        approve=True,
        today=TODAY,
    )
    fees = load_fee_config()
    commercial = register_product(
        engine,
        M_USER,
        fees,
        merchant_id=MERCHANT_ID,
        name="农业补贴发放统计月报",
        kind="data_product",
        scenario=SCENARIO,
        use="commercial",
        margin="0.08",
    )
    record_cost(
        engine, PRICER, commercial.product_id, item="数据加工", amount_fen=100_000, basis="8 人时"
    )
    record_cost(
        engine, PRICER, commercial.product_id, item="合规支持", amount_fen=33_333, basis="出域核查"
    )
    public = register_product(
        engine,
        M_USER,
        fees,
        merchant_id=MERCHANT_ID,
        name="惠农补贴公开统计",
        kind="data_service",
        scenario=SCENARIO,
        use="public_good",
    )
    return World(
        url=url,
        engine=engine,
        data_dir=data_dir,
        catalog=catalog,
        application_id=app_id,
        commercial=commercial.product_id,
        public_good=public.product_id,
        config=ExportsConfig(),
    )
