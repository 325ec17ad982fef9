"""Data-use applications in the portal: the merchant follows its own (status, due date), operator
compliance staff check, the bureau reviews with its reason; another merchant sees nothing of it."""

from __future__ import annotations

import pytest

from assets.authorization.applications import get_application
from assets.storage.engine import get_engine
from tests.portal.conftest import portal_client

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]


def test_application_from_submission_to_review(portal_data):
    application_id = portal_data.tickets["application"]
    engine = get_engine(portal_data.settings.platform_url)
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("applicant")
        listing = client.get("/applications").text
        assert application_id in listing and "已受理，待合规核查" in listing
        assert "2026-11-09" in listing  # 5 working days from Monday 2026-11-02

        browser.sign_in("merchant_other")
        assert application_id not in client.get("/applications").text
        assert client.get(f"/applications/{application_id}").status_code == 403

        browser.sign_in("compliance")
        page = client.get(f"/applications/{application_id}").text
        assert "提交核查结论" in page and "提交审核意见" not in page
        refused = browser.post(f"/applications/{application_id}/comply", {"decision": "fail"})
        assert refused.status_code == 303  # a failed check needs its reason: refused, unchanged
        assert get_application(engine, application_id).status == "submitted"
        browser.post(f"/applications/{application_id}/comply", {"decision": "pass"})
        assert get_application(engine, application_id).status == "compliance_passed"

        browser.sign_in("bureau")
        page = client.get(f"/applications/{application_id}").text
        assert "合规核查通过，审核中" in page and "提交审核意见" in page
        browser.post(
            f"/applications/{application_id}/review",
            {"decision": "reject", "reason": "使用目的与申请的数据项不相符"},
        )
    application = get_application(engine, application_id)
    (bureau,) = [r for r in application.reviews if r.reviewer == "bureau"]
    assert bureau.decision == "rejected" and bureau.reason == "使用目的与申请的数据项不相符"
    assert application.status == "rejected"
