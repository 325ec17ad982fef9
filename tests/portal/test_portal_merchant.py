"""The merchant's screens and the staff's export and incident screens, over the real pipeline's data:
an application submitted in the portal goes on the working-day clock; the workspace query page runs a
query through the database-enforced workspace (granted items only, audited, nothing else readable);
an export request shows its automatic checks with their reasons, is reviewed and filed; a severe
incident suspends supply. Another merchant sees none of it (403), and every new form refuses a post
without its CSRF token, changing nothing."""

from __future__ import annotations

import re

import pytest

from assets.audit import log as audit
from assets.authorization.applications import list_applications
from assets.exports.workflow import get_export, list_exports
from assets.operation.suspension import active_suspensions
from assets.products.register import list_products
from assets.security.incidents import list_incidents
from assets.storage.engine import get_engine
from assets.workspace.reconcile import QUERY, QUERY_DENIED
from tests.portal.conftest import GRANT_SQL, portal_client
from tests.portal.test_portal_authorization import (
    APPLICATION_FORM,
    INCIDENT_FORM,
    PRODUCT_FORM,
    export_form,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]

ID_NUMBER = re.compile(r"\b\d{17}[\dXx]\b")
PHONE = re.compile(r"\b1[3-9]\d{9}\b")


def test_merchant_submits_an_application_on_the_working_day_clock(portal_data):
    engine = get_engine(portal_data.settings.platform_url)
    before = {a.application_id for a in list_applications(engine, merchant_id="yunshu")}
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("applicant")
        form = client.get("/applications/new").text
        assert 'value="medical_institutions/beds"' in form
        assert "petition_records" not in form  # 禁止开放 datasets are not offered
        response = browser.post(
            "/applications/new", {**APPLICATION_FORM, "period_start": "2026-11-30"}
        )
        assert response.status_code == 303
        (new,) = {a.application_id for a in list_applications(engine)} - before
        assert response.headers["location"] == f"/applications/{new}"
        application = next(a for a in list_applications(engine) if a.application_id == new)
        assert application.merchant_id == "yunshu" and application.status == "submitted"
        assert application.submitted_by == "t_merchant"
        due = application.current_due()
        assert due is not None
        page = client.get(response.headers["location"]).text
        assert f"{due.day.isoformat()} 前完成合规核查" in page  # the flash names the due date
        listing = client.get("/applications").text
        assert new in listing and due.day.isoformat() in listing

        refused = browser.post(
            "/applications/new", {**APPLICATION_FORM, "item": "petition_records/petitioner"}
        )
        assert refused.status_code == 303 and refused.headers["location"] == "/applications/new"
        assert "禁止开放，依第四条不得授权运营" in client.get("/applications/new").text
    submitted = audit.entries(engine, actions=("application_submit",), actor="t_merchant")
    assert [e.target for e in submitted][-1] == f"authorization/application/{new}"
    assert len(list_applications(engine, merchant_id="yunshu")) == len(before) + 1


def test_workspace_query_page_reads_the_grant_only(portal_data):
    engine = get_engine(portal_data.settings.platform_url)
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("applicant")
        assert client.get("/workspace", follow_redirects=False).headers["location"] == (
            "/workspace/yunshu"
        )
        page = client.get("/workspace/yunshu").text
        assert "medical_institutions" in page and "床位数" in page
        result = browser.post("/workspace/yunshu/query", {"sql": GRANT_SQL})
        assert result.status_code == 200
        table = result.text.split('id="workspace-results"', 1)[1].split("</table>", 1)[0]
        assert "<th>institution_name</th>" in table and "<th>beds</th>" in table
        assert table.count("<tr>") == 6  # the header and five rows

        hostile = "SELECT '<script>alert(1)</script>' AS x FROM medical_institutions LIMIT 1"
        escaped = browser.post("/workspace/yunshu/query", {"sql": hostile}).text
        assert "<script>alert(1)</script>" not in escaped
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped

        for sql in (
            "SELECT * FROM operation_household_registration",
            "SELECT phone FROM medical_institutions",
            "DELETE FROM operation_medical_institutions",
        ):
            denied = browser.post("/workspace/yunshu/query", {"sql": sql}).text
            assert 'id="workspace-error"' in denied and 'id="workspace-results"' not in denied
            assert not ID_NUMBER.search(denied) and not PHONE.search(denied)
    queries = audit.entries(engine, actions=(QUERY,), actor="t_merchant")
    refused = audit.entries(engine, actions=(QUERY_DENIED,), actor="t_merchant")
    assert len(queries) == 2 and len(refused) == 3
    assert all(e.target == "workspace/yunshu" and e.role == "merchant_user" for e in queries)


def test_export_checks_review_and_filing(portal_data):
    t = portal_data.tickets
    engine = get_engine(portal_data.settings.platform_url)
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("applicant")
        refused = client.get(f"/exports/{t['export_refused']}").text
        assert "自动核查未通过" in refused and "统计披露控制" in refused
        assert "N-K 支配阈值" in refused  # the failing check's reason
        listing = client.get("/exports").text
        assert t["export"] in listing and t["export_refused"] in listing

        response = browser.post("/exports/new", export_form(t))
        assert response.status_code == 303
        new = response.headers["location"].rsplit("/", 1)[1]
        assert get_export(engine, new).row["status"] == "pending_review"
        assert "自动核查通过" in client.get(response.headers["location"]).text

        browser.sign_in("review")
        page = client.get(f"/exports/{new}").text
        assert "提交审核意见" in page and "备案并出域" not in page
        no_reason = browser.post(f"/exports/{new}/review", {"decision": "approve", "reason": ""})
        assert no_reason.status_code == 303
        assert get_export(engine, new).row["status"] == "pending_review"
        browser.post(f"/exports/{new}/review", {"decision": "approve", "reason": "汇总计数"})
        assert get_export(engine, new).row["status"] == "pending_filing"

        browser.sign_in("bureau")
        assert "备案并出域" in client.get(f"/exports/{new}").text
        browser.post(f"/exports/{new}/file", {"filing_no": "ZW-BA-2026-0101"})
        filed = get_export(engine, new).row
        assert filed["status"] == "released" and filed["filing_no"] == "ZW-BA-2026-0101"
        assert "已备案并出域" in client.get(f"/exports/{new}").text
    actions = [e.action for e in audit.entries(engine, target_prefix=f"exports/{new}")]
    assert actions == ["export_request", "export_review_approve", "export_file", "export_release"]


def test_severe_incident_suspends_supply_then_fix_and_close(portal_data):
    engine = get_engine(portal_data.settings.platform_url)
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("bureau")
        response = browser.post(
            "/incidents",
            {**INCIDENT_FORM, "level": "major", "dataset": "market_entities"},
        )
        location = response.headers["location"]
        incident_id = location.rsplit("/", 1)[1]
        assert [s.dataset_id for s in active_suspensions(engine)] == ["market_entities"]
        assert "已立即暂停" in client.get(location).text
        assert browser.post(f"{location}/close", {}).status_code == 303  # not fixed yet
        assert next(i for i in list_incidents(engine) if i.id == incident_id).status == "open"
        browser.post(f"{location}/fix", {"text": "已封禁异常来源"})
        browser.post(f"{location}/close", {"text": ""})
        assert "已关闭" in client.get(location).text
    incident = next(i for i in list_incidents(engine) if i.id == incident_id)
    assert incident.status == "closed" and incident.fix == "已封禁异常来源"
    actions = [e.action for e in audit.entries(engine, target_prefix=f"incidents/{incident_id}")]
    assert actions == ["incident_open", "incident_fix", "incident_close"]


def test_another_merchant_sees_nothing_of_yunshu(portal_data):
    t = portal_data.tickets
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("merchant_other")
        for path in (
            f"/applications/{t['granted']}",
            "/workspace/yunshu",
            f"/exports/{t['export']}",
            f"/exports/{t['export_refused']}",
        ):
            assert client.get(path).status_code == 403, path
        assert browser.post("/workspace/yunshu/query", {"sql": GRANT_SQL}).status_code == 403
        for path in ("/applications", "/exports", "/products"):
            page = client.get(path).text
            assert "yunshu" not in page and t["export"] not in page, path
        assert client.get("/workspace", follow_redirects=False).headers["location"] == (
            "/workspace/mer_b"
        )


@pytest.mark.parametrize(
    "who, path, form",
    [
        ("applicant", "/applications/new", APPLICATION_FORM),
        ("applicant", "/workspace/yunshu/query", {"sql": GRANT_SQL}),
        ("applicant", "/exports/new", None),
        ("applicant", "/products", PRODUCT_FORM),
        ("review", "/exports/{export}/review", {"decision": "approve", "reason": "通过"}),
        ("bureau", "/incidents", {**INCIDENT_FORM, "level": "major", "dataset": "market_entities"}),
        ("bureau", "/incidents/{incident}/fix", {"text": "已整改"}),
    ],
)
def test_new_forms_refuse_a_post_without_its_csrf_token(portal_data, who, path, form):
    t = portal_data.tickets
    path = path.format(**t)
    form = export_form(t) if form is None else form
    engine = get_engine(portal_data.settings.platform_url)
    counts = (
        len(list_applications(engine)),
        len(list_exports(engine)),
        len(list_products(engine)),
        len(audit.entries(engine)),
    )
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in(who)
        for data in (form, {**form, "csrf_token": "x" * 43}, {**form, "csrf_token": ""}):
            response = client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text, data
    after = (
        len(list_applications(engine)),
        len(list_exports(engine)),
        len(list_products(engine)),
        len(audit.entries(engine)),
    )
    assert after == counts
    assert get_export(engine, t["export"]).row["status"] == "pending_review"
    assert [i.status for i in list_incidents(engine)] == ["open"]
    assert active_suspensions(engine) == []
