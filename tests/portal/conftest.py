"""Portal fixtures: a real data directory made by the real pipeline (generated deliveries, `run_pipeline`,
the Dagster instance, Data Docs, the published catalog), real accounts with argon2 passwords, real
tickets from the ticket store; each test gets its own copy of the directory. Nothing is mocked."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from assets.accounts.roles import Role
from assets.accounts.store import create_account
from assets.common.workdays import DuePolicy
from assets.landing.generator import generate
from assets.storage.engine import dispose_engines, get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import intake
from assets.tickets.rules import Finding
from orchestration.portal.app import create_app
from orchestration.runner import run_pipeline
from orchestration.settings import Settings
from tests.helpers import settings_for

PASSWORD = "portal-test-口令-2026"
CHECKED_AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    name: str
    role: Role
    county_code: str | None = None
    department_id: str | None = None
    merchant_id: str | None = None


PEOPLE: dict[str, Person] = {
    "bureau": Person("t_bureau", Role.BUREAU),
    "county": Person("t_county_640521", Role.COUNTY_OFFICE, county_code="640521"),
    "clerk": Person("t_gaj_640521", Role.DEPARTMENT_OFFICE, "640521", "public_security"),
    "clerk_other_county": Person(
        "t_gaj_640522", Role.DEPARTMENT_OFFICE, "640522", "public_security"
    ),
    "clerk_other_department": Person("t_wjw_640521", Role.DEPARTMENT_OFFICE, "640521", "health"),
    "compliance": Person("t_compliance", Role.OPERATOR_COMPLIANCE),
    "review": Person("t_review", Role.OPERATOR_REVIEW),
    "merchant": Person("t_merchant_a", Role.MERCHANT_USER, merchant_id="mer_a"),
    "merchant_other": Person("t_merchant_b", Role.MERCHANT_USER, merchant_id="mer_b"),
    "engineer": Person("t_engineer", Role.ENGINEER),
    "applicant": Person("t_merchant", Role.MERCHANT_USER, merchant_id="yunshu"),
}

# Tickets the tests rely on, opened through the ticket store: (county, department, dataset, rule)
TICKETS = {
    "own": ("640521", "public_security", "household_registration", "portal.own"),
    "own_second": ("640521", "public_security", "household_registration", "portal.second"),
    "other_county": ("640522", "public_security", "household_registration", "portal.other"),
    "other_department": ("640521", "health", "medical_institutions", "portal.health"),
}


def open_ticket(engine, county: str, department: str, dataset: str, rule: str) -> str:
    result = intake.sync_findings(
        engine,
        dataset_id=dataset,
        county_code=county,
        department_id=department,
        period="2026-10",
        findings=[
            Finding(
                rule_id=rule,
                expectation="公民身份号码须符合 GB 11643 校验",
                columns=("id_number",) if dataset == "household_registration" else (),
                dimension="准确性",
                severity="高",
                failed_count=2,
                total=95,
                examples=({"source_row": 7, "value": "6405**********001X"},),
                fix="请对照原始档案更正后重新报送本期数据。",
            )
        ],
        passed_rule_ids=(),
        checked_at=CHECKED_AT,
        due_policy=DuePolicy(),
    )
    return result.opened[0] if result.opened else result.tickets[0].id


def add_people(settings: Settings) -> None:
    engine = get_engine(settings.platform_url)
    for person in PEOPLE.values():
        create_account(
            engine,
            name=person.name,
            display_name=f"测试 {person.role.label}",
            role=person.role,
            county_code=person.county_code,
            department_id=person.department_id,
            merchant_id=person.merchant_id,
            password=PASSWORD,
            by="system:test",
            by_role=None,
        )


def add_records(settings: Settings) -> dict[str, str]:
    """Accounts and tickets in the platform records of ``settings``; returns ticket ids by key."""
    ensure_platform_schema(settings.platform_url)
    add_people(settings)
    engine = get_engine(settings.platform_url)
    return {key: open_ticket(engine, *spec) for key, spec in TICKETS.items()}


def add_application(settings: Settings) -> str:
    """The authorized operation as far as one submitted application of merchant ``yunshu`` (the
    operator's authorization, the merchant registered and approved, the development agreement signed),
    through the authorization package's own functions."""
    from assets.authorization import agreements, merchants, operator
    from assets.authorization.applications import submit_application
    from assets.common.catalog import load_catalog
    from tests.authorization_helpers import AGREEMENT_BODY, valid_uscc

    engine = get_engine(settings.platform_url)
    catalog = load_catalog(settings.catalog_dir)
    today = date(2026, 11, 2)
    operator.create_authorization(
        engine,
        PEOPLE["bureau"].name,
        unit_name="中卫市数据运营有限公司",
        agreement_no="ZW-SQYY-2026-001",
        mode="whole",
        valid_from=date(2026, 1, 1),
        valid_to=date(2027, 12, 31),
    )
    merchants.register_merchant(
        engine,
        PEOPLE["review"].name,
        name="宁夏云数科技有限公司",
        uscc=valid_uscc("91640500MA76"),
        contact_name="王经理",
        contact_phone="13900001111",
        qualifications=["营业执照"],
        today=today,
        merchant_id="yunshu",
    )
    merchants.decide_merchant(engine, PEOPLE["review"].name, "yunshu", approve=True)
    version = agreements.draft_version(engine, PEOPLE["review"].name, AGREEMENT_BODY)
    agreements.decide_version(engine, PEOPLE["bureau"].name, version.id, approve=True)
    agreements.sign(engine, PEOPLE["applicant"].name, "yunshu", version.id)
    application = submit_application(
        engine,
        PEOPLE["applicant"].name,
        catalog,
        merchant_id="yunshu",
        scenario="医疗资源分布分析",
        purpose="分析各县区医疗机构床位分布",
        method="sandbox",
        period_start=today,
        period_end=date(2027, 6, 30),
        safeguards="只在沙箱内查询，结果经出域审核",
        items={"medical_institutions": ["institution_name", "beds"]},
        today=today,
    )
    return application.application_id


GRANT_SQL = (
    "SELECT institution_name, beds FROM medical_institutions ORDER BY institution_name LIMIT 5"
)
EXPORT_SQL = "SELECT COUNT(*) AS institutions FROM medical_institutions"
# refused by the disclosure control: two institutions dominate the sum of beds
REFUSED_SQL = "SELECT COUNT(*) AS institutions, SUM(beds) AS beds FROM medical_institutions"


def add_grant(settings: Settings) -> dict[str, str]:
    """A second application of ``yunshu`` approved by every reviewer (its grant live, the workspace
    reconciled), a product, and one export request through the exports package: the ids."""
    from assets.accounts.store import get_account
    from assets.authorization.applications import submit_application
    from assets.authorization.reviews import comply, review
    from assets.common.catalog import load_catalog
    from assets.exports.config import load_exports_config
    from assets.exports.intake import Source, request_export
    from assets.products.fees import load_fee_config
    from assets.products.register import register_product
    from assets.security.incidents import open_incident
    from assets.workspace.reconcile import live_state, reconcile

    engine = get_engine(settings.platform_url)
    catalog = load_catalog(settings.catalog_dir)
    today = date(2026, 11, 2)
    dataset = "medical_institutions"
    application = submit_application(
        engine,
        PEOPLE["applicant"].name,
        catalog,
        merchant_id="yunshu",
        scenario="医疗资源分布分析",
        purpose="统计各县区医疗机构床位",
        method="sandbox",
        period_start=today,
        period_end=date(2027, 6, 30),
        safeguards="只在沙箱内查询，结果经出域审核",
        items={dataset: ["institution_name", "beds"]},
        today=today,
    )
    app_id = application.application_id
    comply(engine, PEOPLE["compliance"].name, catalog, app_id, passed=True, today=today)
    review(
        engine, PEOPLE["bureau"].name, catalog, app_id, reviewer="bureau", approve=True, today=today
    )
    provider = catalog[dataset].provider
    office = f"t_{provider}_city"
    if get_account(engine, office) is None:
        create_account(
            engine,
            name=office,
            display_name="测试 市级数源部门",
            role=Role.DEPARTMENT_OFFICE,
            department_id=provider,
            by="system:test",
            by_role=None,
        )
    review(
        engine,
        office,
        catalog,
        app_id,
        reviewer="department",
        department_id=provider,
        approve=True,
        today=today,
    )
    grants, merchants = live_state(engine, settings.today_date())
    reconcile(engine, get_engine(settings.operation_url), grants, merchants=merchants)
    product = register_product(
        engine,
        PEOPLE["applicant"].name,
        load_fee_config(settings.fees_config),
        merchant_id="yunshu",
        name="医疗资源分布统计",
        kind="data_product",
        scenario="医疗资源分布分析",
        use="public_good",
    )
    exports = {
        key: request_export(
            platform_engine=engine,
            operation_engine=get_engine(settings.operation_url),
            data_dir=settings.data_dir,
            catalog=catalog,
            config=load_exports_config(settings.exports_config),
            account=PEOPLE["applicant"].name,
            product_id=product.product_id,
            application_id=app_id,
            recipient="中卫市卫生健康研究会",
            source=Source(sql=sql),
            today=today,
        )
        for key, sql in (("export", EXPORT_SQL), ("export_refused", REFUSED_SQL))
    }
    incident = open_incident(
        engine,
        get_engine(settings.operation_url),
        level="general",
        title="工作区异常查询",
        description="同一账号短时间内多次查询被拒绝",
        merchants=["yunshu"],
        actor=PEOPLE["bureau"].name,
        role=PEOPLE["bureau"].role.value,
    )
    return {
        "granted": app_id,
        "product": product.product_id,
        "incident": incident.id,
        **exports,
    }


@dataclass(frozen=True)
class PortalData:
    settings: Settings
    tickets: dict[str, str]


@pytest.fixture(scope="session")
def pipeline_home(tmp_path_factory, city, catalog) -> tuple[Path, dict[str, str]]:
    """One pipeline run per worker: generated deliveries for every county and dataset."""
    home = tmp_path_factory.mktemp("portal_base") / "data"
    generate(home, rows=150, seed=3, city=city, catalog=catalog, as_of=date(2026, 11, 20))
    settings = settings_for(home)
    run_pipeline(settings)
    tickets = add_records(settings)
    tickets["application"] = add_application(settings)
    tickets.update(add_grant(settings))
    dispose_engines()
    return home, tickets


@pytest.fixture
def portal_data(pipeline_home, tmp_path) -> Iterator[PortalData]:
    """A private copy of the pipeline's data directory for one test."""
    base, tickets = pipeline_home
    home = tmp_path / "data"
    shutil.copytree(base, home, symlinks=True)
    yield PortalData(settings_for(home), tickets)
    dispose_engines()


class Browser:
    """A TestClient with helpers to sign in and to post forms with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, who: str) -> None:
        token = self.token("/login")
        response = self.client.post(
            "/login",
            data={"csrf_token": token, "name": PEOPLE[who].name, "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def post(self, path: str, data: dict[str, str] | None = None, files=None, token_from="/"):
        token = self.token(token_from)
        return self.client.post(
            path, data={"csrf_token": token, **(data or {})}, files=files, follow_redirects=False
        )


def portal_client(settings: Settings) -> Browser:
    client = TestClient(create_app(settings), base_url="http://testserver")
    return Browser(client)


@pytest.fixture
def browser(portal_data) -> Iterator[Browser]:
    b = portal_client(portal_data.settings)
    with b.client:
        yield b
