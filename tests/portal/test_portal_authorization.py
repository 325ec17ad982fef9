"""Every role × every route of the portal: allowed (the page or the redirect after the step) or refused
(403), including another county's and another department's tickets and another merchant's page,
application, workspace and exports; every page the portal renders on the way (allowed, refused or a
query's results) has only local src/href/action; and CSRF: every form posted without its token, or with
another session's, is refused and changes nothing (the merchant's and staff's new forms:
test_portal_merchant.py). A route missing from the matrix fails test_every_route_is_in_the_matrix.
"""

from __future__ import annotations

from datetime import date

import pytest
from starlette.routing import Mount, Route

from assets.authorization.merchants import register_merchant
from assets.storage.engine import get_engine
from assets.tickets import store
from orchestration.portal.app import routes
from tests.portal.conftest import EXPORT_SQL, GRANT_SQL, PEOPLE, portal_client
from tests.portal.test_portal_pages import is_local, links

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]

ALL = frozenset(PEOPLE)
TICKET_READERS = frozenset(
    {"bureau", "county", "clerk", "clerk_other_county", "clerk_other_department"}
)
STAFF = frozenset({"bureau", "compliance", "review"})
MERCHANTS = frozenset({"merchant", "merchant_other", "applicant"})
USCC = {"mer_a": "91640500MA76RAKN3R", "mer_b": "91640500MA76RAKM5Y"}


def _merchants(settings) -> None:
    engine = get_engine(settings.platform_url)
    for merchant_id, uscc in USCC.items():
        register_merchant(
            engine,
            PEOPLE["review"].name,
            merchant_id=merchant_id,
            name=f"测试数据商 {merchant_id}",
            uscc=uscc,
            contact_name="联系人",
            contact_phone="13800000000",
            qualifications=["营业执照"],
            today=date(2026, 11, 2),
        )


def outside_links(what: str, response, dagster: str) -> list[str]:
    """Every src/href/action of a page the portal renders points inside the portal — a link (never a
    resource) to the Dagster UI beside it excepted; Data Docs files, which Great Expectations writes,
    are checked by their own tests."""
    if not response.headers.get("content-type", "").startswith("text/html"):
        return []
    if what.startswith("GET /quality-docs/") and what != "GET /quality-docs/":
        return []
    return [
        f"{what}: <{tag} {attribute}={value}>"
        for tag, attribute, value in links(response.text)
        if not is_local(value)
        and not (tag == "a" and attribute == "href" and (value + "/").startswith(dagster + "/"))
    ]


def get_matrix(t: dict[str, str]) -> list[tuple[str, dict[str, int]]]:
    """(path, {role: expected status}); roles not named get 403."""

    def allow(roles, status=200):
        return {r: status for r in roles}

    return [
        ("/", allow(ALL)),
        ("/tickets", allow(TICKET_READERS)),
        ("/tickets/report", allow(TICKET_READERS)),
        ("/tickets/report?format=xlsx", allow(TICKET_READERS)),
        (f"/tickets/{t['own']}", allow({"bureau", "county", "clerk"})),
        (f"/tickets/{t['other_county']}", allow({"bureau", "clerk_other_county"})),
        (
            f"/tickets/{t['other_department']}",
            allow({"bureau", "county", "clerk_other_department"}),
        ),
        ("/deliveries/upload", allow({"clerk", "clerk_other_county", "clerk_other_department"})),
        ("/lineage", allow({"bureau", "engineer"})),
        ("/lineage/household_registration", allow({"bureau", "engineer"})),
        ("/quality-docs/", allow({"bureau", "engineer"})),
        ("/quality-docs/household_registration/index.html", allow({"bureau", "engineer"})),
        ("/catalog/", allow(ALL)),
        ("/catalog/catalog.json", allow(ALL)),
        ("/supply", allow({"bureau", "compliance", "review", "engineer"})),
        ("/reports/", allow({"bureau", "compliance", "review", "engineer"})),
        ("/merchants", {**allow(STAFF), "merchant": 303, "merchant_other": 303, "applicant": 303}),
        ("/merchants/mer_a", allow(STAFF | {"merchant"})),
        ("/merchants/mer_b", allow(STAFF | {"merchant_other"})),
        ("/merchant/register", allow({"compliance", "review"})),
        ("/applications", allow(STAFF | {"merchant", "merchant_other", "applicant"})),
        (f"/applications/{t['application']}", allow(STAFF | {"applicant"})),
        ("/applications/new", allow(MERCHANTS)),
        (f"/applications/{t['granted']}", allow(STAFF | {"applicant"})),
        ("/workspace", allow(MERCHANTS, 303)),  # to the merchant's own workspace
        ("/workspace/yunshu", allow({"applicant"})),  # another merchant's workspace: 403
        ("/workspace/mer_a", allow({"merchant"})),
        ("/exports", allow(STAFF | MERCHANTS)),
        ("/exports/new", allow(MERCHANTS)),
        (f"/exports/{t['export']}", allow(STAFF | {"applicant"})),
        (f"/exports/{t['export_refused']}", allow(STAFF | {"applicant"})),
        ("/products", allow(STAFF | MERCHANTS)),
        ("/incidents", allow(STAFF)),
        (f"/incidents/{t['incident']}", allow(STAFF)),
    ]


APPLICATION_FORM = {
    "scenario": "医疗资源分布分析",
    "purpose": "统计各县区医疗机构",
    "method": "sandbox",
    "period_start": "2026-11-02",
    "period_end": "2027-06-30",
    "safeguards": "只在沙箱内查询",
    "item": "medical_institutions/beds",
}
PRODUCT_FORM = {
    "name": "测试产品",
    "kind": "data_product",
    "use": "public_good",
    "scenario": "医疗资源分布分析",
}
INCIDENT_FORM = {"level": "general", "title": "测试事件", "description": "测试：异常访问"}


def export_form(t: dict[str, str]) -> dict[str, str]:
    return {
        "product": t["product"],
        "application": t["granted"],
        "recipient": "测试接收方",
        "sql": EXPORT_SQL,
    }


def post_matrix(t: dict[str, str]) -> list[tuple[str, dict[str, str], dict[str, int]]]:
    """(path, form, {role: expected status}); a step done (or refused by its own rules) redirects."""

    def allow(roles):
        return {r: 303 for r in roles}

    return [
        (f"/tickets/{t['own']}/acknowledge", {}, allow({"bureau", "county", "clerk"})),
        (
            f"/tickets/{t['other_county']}/acknowledge",
            {},
            allow({"bureau", "clerk_other_county"}),
        ),
        (
            f"/tickets/{t['own_second']}/claim-fixed",
            {"comment": "已更正"},
            allow({"bureau", "county", "clerk"}),
        ),
        (
            f"/tickets/{t['other_department']}/claim-fixed",
            {"comment": "已更正"},
            allow({"bureau", "county", "clerk_other_department"}),
        ),
        (
            "/supply/suspend",
            {"dataset": "market_entities", "reason": "测试：发现风险"},
            allow({"bureau"}),
        ),
        (
            "/supply/resume",
            {"dataset": "market_entities", "reason": "测试：已整改"},
            allow({"bureau"}),
        ),
        ("/merchants/mer_a/decide", {"decision": "approve"}, allow({"compliance", "review"})),
        (
            "/merchant/register",
            {
                "merchant_id": "mer_new",
                "name": "新数据商",
                "uscc": "91640500MA76RAKL74",
                "contact_name": "联系人",
                "contact_phone": "13900000000",
                "qualifications": "营业执照",
            },
            allow({"compliance", "review"}),
        ),
        (
            f"/applications/{t['application']}/comply",
            {"decision": "pass"},
            allow({"compliance"}),
        ),
        (
            f"/applications/{t['application']}/review",
            {"decision": "approve"},
            allow({"bureau"}),
        ),
        ("/applications/new", APPLICATION_FORM, allow(MERCHANTS)),  # each for its own merchant
        ("/workspace/yunshu/query", {"sql": GRANT_SQL}, {"applicant": 200}),
        ("/workspace/mer_a/query", {"sql": GRANT_SQL}, {"merchant": 200}),
        # the product is yunshu's: another merchant's user is refused by the exports package
        ("/exports/new", export_form(t), allow({"applicant"})),
        (
            f"/exports/{t['export']}/review",
            {"decision": "approve", "reason": "汇总计数，核查通过"},
            allow({"review"}),
        ),
        (f"/exports/{t['export']}/file", {"filing_no": "ZW-BA-TEST-1"}, allow({"bureau"})),
        ("/products", PRODUCT_FORM, allow(MERCHANTS)),
        ("/incidents", INCIDENT_FORM, allow(STAFF)),
        (f"/incidents/{t['incident']}/fix", {"text": "已约谈并加强监测"}, allow(STAFF)),
        (f"/incidents/{t['incident']}/close", {"text": ""}, allow(STAFF)),
    ]


UPLOAD = ("/deliveries/upload", {"dataset": "household_registration", "period": "2026-10"})
UPLOADERS = {"clerk", "clerk_other_county"}  # their department's dataset, in their own county


CSV = "姓名,公民身份号码\n张三,640521199001011234\n".encode()


def _csv() -> tuple[str, bytes, str]:
    return ("更正.csv", CSV, "text/csv")


def test_every_route_is_in_the_matrix(portal_data):
    """A new route without its row in the matrix fails here."""
    covered = {path.split("?")[0] for path, _ in get_matrix(portal_data.tickets)}
    covered |= {path for path, _, _ in post_matrix(portal_data.tickets)} | {UPLOAD[0]}
    covered |= {
        "/login",
        "/logout",
        "/quality-docs",
        "/catalog",
        "/reports",
    }  # tested below / redirects
    for route in routes():
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        assert any(route.path_regex.match(path) for path in covered), route.path


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_role_by_route(portal_data, who):
    _merchants(portal_data.settings)
    browser = portal_client(portal_data.settings)
    dagster = portal_data.settings.dagster_ui_url
    wrong: list[str] = []
    with browser.client as client:
        browser.sign_in(who)
        for path, expected in get_matrix(portal_data.tickets):
            response = client.get(path, follow_redirects=False)
            wrong += outside_links(f"GET {path}", response, dagster)
            if response.status_code != expected.get(who, 403):
                wrong.append(
                    f"GET {path}: {response.status_code}, expected {expected.get(who, 403)}"
                )
        for path, form, expected in post_matrix(portal_data.tickets):
            response = browser.post(path, form)
            wrong += outside_links(f"POST {path}", response, dagster)
            if response.status_code != expected.get(who, 403):
                wrong.append(
                    f"POST {path}: {response.status_code}, expected {expected.get(who, 403)}"
                )
        token = browser.token("/")
        upload = client.post(
            UPLOAD[0],
            data={"csrf_token": token, **UPLOAD[1]},
            files={"file": _csv()},
            follow_redirects=False,
        )
        if upload.status_code != (303 if who in UPLOADERS else 403):
            wrong.append(f"POST upload: {upload.status_code}")
    assert not wrong, f"{who}: " + "; ".join(wrong)

    engine = get_engine(portal_data.settings.platform_url)
    other = store.get_ticket(engine, portal_data.tickets["other_county"])
    acknowledged = {"bureau", "clerk_other_county"}
    assert (other.status.value == "acknowledged") == (who in acknowledged)
    landing = portal_data.settings.landing_dir
    delivered = landing / "640521/household_registration/2026-10.csv"
    assert (delivered.exists() and delivered.read_bytes() == CSV) == (who == "clerk")


def test_anonymous_is_sent_to_sign_in_and_cannot_post(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        for path, _ in get_matrix(portal_data.tickets):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next="), path
        for path, form, _ in post_matrix(portal_data.tickets):
            response = browser.post(path, form, token_from="/login")
            assert response.status_code == 303 and response.headers["location"] == "/login"
    engine = get_engine(portal_data.settings.platform_url)
    assert store.get_ticket(engine, portal_data.tickets["own"]).status.value == "new"


@pytest.mark.parametrize(
    "who, path, form",
    [
        ("clerk", "/tickets/{own}/acknowledge", {}),
        ("clerk", "/tickets/{own}/claim-fixed", {"comment": "已更正"}),
        ("bureau", "/supply/suspend", {"dataset": "market_entities", "reason": "风险"}),
        ("review", "/merchants/mer_a/decide", {"decision": "approve"}),
        ("bureau", "/logout", {}),
    ],
)
def test_form_without_or_with_a_foreign_csrf_token_is_refused(portal_data, who, path, form):
    _merchants(portal_data.settings)
    path = path.format(**portal_data.tickets)
    intruder = portal_client(portal_data.settings)
    browser = portal_client(portal_data.settings)
    with intruder.client, browser.client as client:
        foreign = intruder.token("/login")
        browser.sign_in(who)
        for data in (form, {**form, "csrf_token": foreign}, {**form, "csrf_token": ""}):
            response = client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, data)
            assert "CSRF" in response.text
        assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    engine = get_engine(portal_data.settings.platform_url)
    assert store.get_ticket(engine, portal_data.tickets["own"]).status.value == "new"
    from assets.operation.suspension import active_suspensions

    assert active_suspensions(engine) == []


def test_sign_in_without_csrf_token_is_refused(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        response = client.post(
            "/login",
            data={"name": PEOPLE["bureau"].name, "password": "portal-test-口令-2026"},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 303
