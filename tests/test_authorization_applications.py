"""Data-use applications on the working-day clock (第二十条, 第二十一条): the 5- and 10-working-day clocks
across Spring Festival and National Day with their 调休 days, deemed approval only after the due date
and never on a provisional calendar, refusals at submission (禁止开放, items not published, no active
operator authorization), refusals that must carry their reasons, and the grants approvals become."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assets.audit.log import entries
from assets.authorization.applications import get_application, submit_application
from assets.authorization.grants import list_grants, live_grants
from assets.authorization.records import AuthorizationError
from assets.authorization.reviews import (
    apply_deemed_approvals,
    comply,
    extend_review,
    review,
    withdraw,
)
from assets.common.workdays import DEFAULT_CALENDAR_DIR, WorkCalendar
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.authorization_helpers import (
    BUREAU,
    COMPLIANCE,
    HEALTH_OFFICE,
    MERCHANT,
    MERCHANT_ID,
    setup_world,
)

HEALTH = "health"  # 信息资源提供方 of medical_institutions
ITEMS = {"medical_institutions": ["机构名称", "机构级别", "床位数"]}


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


@pytest.fixture
def lite(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    ensure_platform_schema(url)
    return get_engine(url)


def _submit(engine, catalog, today, items=ITEMS, days=365):
    return submit_application(
        engine,
        MERCHANT,
        catalog,
        merchant_id=MERCHANT_ID,
        scenario="医疗资源分布分析",
        purpose="分析各县区医疗机构床位分布",
        method="sandbox",
        period_start=today,
        period_end=today + timedelta(days=days),
        safeguards="只在沙箱内查询，结果经出域审核",
        items=items,
        today=today,
    )


def _passed(engine, catalog, day):
    application = _submit(engine, catalog, day)
    return comply(engine, COMPLIANCE, catalog, application.application_id, passed=True, today=day)


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (date(2026, 2, 13), date(2026, 2, 27)),  # 春节 2026: Sat 14 Feb is 调休上班, 15–23 off
        (date(2025, 1, 24), date(2025, 2, 7)),  # 春节 2025: Sun 26 Jan 调休上班, 28 Jan–4 Feb off
        (date(2025, 9, 26), date(2025, 10, 10)),  # 国庆 2025: Sun 28 Sep 调休上班, 1–8 Oct off
        (date(2026, 9, 30), date(2026, 10, 13)),  # 国庆 2026: 1–7 Oct off, Sat 10 Oct 调休上班
    ],
)
def test_compliance_check_is_due_in_5_working_days(lite, catalog, submitted, due):
    setup_world(lite, catalog)
    record = _submit(lite, catalog, submitted).as_record()
    assert record["status"] == "submitted"
    assert (record["due_date"], record["due_date_provisional"]) == (due.isoformat(), False)


@pytest.mark.parametrize(
    ("checked", "due"),
    [
        (date(2026, 2, 13), date(2026, 3, 5)),  # 春节 2026 with both 调休 Saturdays (14 and 28 Feb)
        (date(2025, 1, 24), date(2025, 2, 13)),  # 春节 2025 with 26 Jan and 8 Feb
        (date(2025, 9, 26), date(2025, 10, 16)),  # 国庆 2025 with 28 Sep and 11 Oct
        (date(2026, 9, 18), date(2026, 10, 9)),  # 中秋 + 国庆 2026 with 20 Sep
    ],
)
def test_reviews_are_due_in_10_working_days_after_the_compliance_check(lite, catalog, checked, due):
    setup_world(lite, catalog)
    application = _passed(lite, catalog, checked)
    assert application.status == "compliance_passed"
    assert [(r.reviewer, r.department_id) for r in application.reviews] == [
        ("bureau", None),
        ("department", HEALTH),
    ]
    record = application.as_record()
    assert {r["due_date"] for r in record["reviews"]} == {due.isoformat()}
    assert (record["due_date"], record["due_date_provisional"]) == (due.isoformat(), False)


def test_deemed_approval_only_after_the_due_date_and_recorded_as_such(engine, catalog):
    setup_world(engine, catalog)
    application = _passed(engine, catalog, date(2026, 2, 13))  # reviews due 5 March 2026
    on_due_date = apply_deemed_approvals(engine, catalog, date(2026, 3, 5))
    assert on_due_date.deemed == [] and on_due_date.decided == {}
    assert get_application(engine, application.application_id).status == "compliance_passed"

    after = apply_deemed_approvals(engine, catalog, date(2026, 3, 6))
    assert {(d["reviewer"], d["department"]) for d in after.deemed} == {
        ("bureau", None),
        ("department", HEALTH),
    }
    assert after.decided == {application.application_id: "deemed_approved"}
    decided = get_application(engine, application.application_id)
    assert decided.status == "deemed_approved"
    assert {r.decision for r in decided.reviews} == {"deemed_approved"}
    deemed = entries(engine, actions=("application_review_deemed",))
    assert len(deemed) == 2 and all("视为同意" in (e.reason or "") for e in deemed)
    (grant,) = list_grants(engine, application_id=application.application_id)
    assert set(grant.columns) == {"institution_name", "grade", "beds"}
    assert [g.grant_id for g in live_grants(engine, date(2026, 3, 6))] == [grant.grant_id]
    assert apply_deemed_approvals(engine, catalog, date(2026, 3, 9)).deemed == []  # once only


def test_explicit_approvals_approve_and_a_late_decision_is_refused(engine, catalog):
    setup_world(engine, catalog)
    application = _passed(engine, catalog, date(2026, 2, 13))
    app_id = application.application_id
    review(engine, BUREAU, catalog, app_id, reviewer="bureau", approve=True, today=date(2026, 3, 2))
    with pytest.raises(AuthorizationError, match="视为同意"):
        review(
            engine,
            HEALTH_OFFICE,
            catalog,
            app_id,
            reviewer="department",
            department_id=HEALTH,
            approve=False,
            reason="太晚了",
            today=date(2026, 3, 6),
        )
    outcome = apply_deemed_approvals(engine, catalog, date(2026, 3, 6))
    assert outcome.deemed == [
        {
            "application_id": app_id,
            "reviewer": "department",
            "department": HEALTH,
            "due_date": "2026-03-05",
        }
    ]
    assert get_application(engine, app_id).status == "deemed_approved"


def test_all_reviewers_approving_gives_approved_with_a_grant(engine, catalog):
    setup_world(engine, catalog)
    app_id = _passed(engine, catalog, date(2026, 4, 1)).application_id
    review(engine, BUREAU, catalog, app_id, reviewer="bureau", approve=True, today=date(2026, 4, 2))
    assert get_application(engine, app_id).status == "compliance_passed"
    decided = review(
        engine,
        HEALTH_OFFICE,
        catalog,
        app_id,
        reviewer="department",
        department_id=HEALTH,
        approve=True,
        today=date(2026, 4, 3),
    )
    assert decided.status == "approved" and decided.as_record()["due_date"] is None
    (grant,) = live_grants(engine, date(2026, 4, 3))
    assert set(grant.columns) == {"institution_name", "grade", "beds"}
    withdraw(engine, MERCHANT, app_id, reason="项目终止")
    assert live_grants(engine, date(2026, 4, 3)) == []


def test_a_formal_extension_moves_the_due_date(lite, catalog):
    setup_world(lite, catalog)
    app_id = _passed(lite, catalog, date(2026, 2, 13)).application_id
    extended = extend_review(
        lite,
        BUREAU,
        app_id,
        reviewer="bureau",
        days=5,
        reason="需征求网信部门意见",
        today=date(2026, 3, 4),
    )
    bureau = next(r for r in extended.reviews if r.reviewer == "bureau")
    assert bureau.due().day == date(2026, 3, 12)
    outcome = apply_deemed_approvals(lite, catalog, date(2026, 3, 6))
    assert [d["reviewer"] for d in outcome.deemed] == ["department"]
    assert get_application(lite, app_id).status == "compliance_passed"


def test_a_clock_into_a_year_without_an_official_schedule_waits_for_the_file(
    engine, catalog, tmp_path
):
    setup_world(engine, catalog)
    app_id = _passed(engine, catalog, date(2026, 12, 24)).application_id
    record = get_application(engine, app_id).as_record()
    assert record["due_date"] == "2027-01-08" and record["due_date_provisional"] is True

    held = apply_deemed_approvals(engine, catalog, date(2027, 1, 11))
    assert held.deemed == [] and len(held.held_provisional) == 2
    assert get_application(engine, app_id).status == "compliance_passed"

    # the operator loads the State Council's 2027 schedule (test data in the official format)
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: 国务院办公厅关于2027年部分节假日安排的通知（测试用）\n"
        "holidays:\n  元旦: [2027-01-01, 2027-01-02, 2027-01-03]\n"
        "workdays:\n  春节: [2027-02-20]\n",
        encoding="utf-8",
    )
    calendar = WorkCalendar((DEFAULT_CALENDAR_DIR, tmp_path))
    official = get_application(engine, app_id).as_record(calendar)
    assert official["due_date"] == "2027-01-08" and official["due_date_provisional"] is False
    applied = apply_deemed_approvals(engine, catalog, date(2027, 1, 11), calendar=calendar)
    assert len(applied.deemed) == 2 and applied.held_provisional == []
    assert get_application(engine, app_id).status == "deemed_approved"


def test_a_prohibited_dataset_is_refused_at_submission(lite, catalog):
    setup_world(lite, catalog)
    assert catalog["petition_records"].is_prohibited
    with pytest.raises(AuthorizationError, match="禁止开放"):
        _submit(lite, catalog, date(2026, 4, 1), items={"petition_records": ["信访事项"]})


def test_an_item_the_operation_table_does_not_publish_is_refused(lite, catalog):
    setup_world(lite, catalog, suppressed={"medical_institutions": ("phone",)})
    with pytest.raises(AuthorizationError, match="联系电话.*不提供"):
        _submit(lite, catalog, date(2026, 4, 1), items={"medical_institutions": ["联系电话"]})
    with pytest.raises(AuthorizationError, match="没有信息项"):
        _submit(lite, catalog, date(2026, 4, 1), items={"medical_institutions": ["院长手机"]})


def test_a_refusal_without_a_reason_is_refused(engine, catalog):
    setup_world(engine, catalog)
    submitted = _submit(engine, catalog, date(2026, 4, 1)).application_id
    with pytest.raises(AuthorizationError, match="理由"):
        comply(engine, COMPLIANCE, catalog, submitted, passed=False, today=date(2026, 4, 2))
    app_id = _passed(engine, catalog, date(2026, 4, 1)).application_id
    for blank in (None, "", "   "):
        with pytest.raises(AuthorizationError, match="理由"):
            review(
                engine,
                BUREAU,
                catalog,
                app_id,
                reviewer="bureau",
                approve=False,
                reason=blank,
                today=date(2026, 4, 2),
            )
    assert get_application(engine, app_id).status == "compliance_passed"
    rejected = review(
        engine,
        BUREAU,
        catalog,
        app_id,
        reviewer="bureau",
        approve=False,
        reason="使用目的与申请的信息项不相称",
        today=date(2026, 4, 2),
    )
    assert rejected.status == "rejected"
    assert list_grants(engine, application_id=app_id) == []


def test_an_expired_operator_authorization_stops_grants_and_new_applications(engine, catalog):
    setup_world(engine, catalog, valid_to=date(2026, 6, 30))
    app_id = _passed(engine, catalog, date(2026, 4, 1)).application_id
    review(engine, BUREAU, catalog, app_id, reviewer="bureau", approve=True, today=date(2026, 4, 2))
    review(
        engine,
        HEALTH_OFFICE,
        catalog,
        app_id,
        reviewer="department",
        department_id=HEALTH,
        approve=True,
        today=date(2026, 4, 2),
    )
    assert len(live_grants(engine, date(2026, 6, 30))) == 1
    assert live_grants(engine, date(2026, 7, 1)) == []
    with pytest.raises(AuthorizationError, match="已于 2026-06-30 到期"):
        _submit(engine, catalog, date(2026, 7, 1))


def test_the_period_end_expires_the_application_and_its_grant(lite, catalog):
    setup_world(lite, catalog)
    app_id = _passed(lite, catalog, date(2026, 4, 1)).application_id
    apply_deemed_approvals(lite, catalog, date(2026, 4, 20))
    assert get_application(lite, app_id).status == "deemed_approved"
    outcome = apply_deemed_approvals(lite, catalog, date(2027, 4, 2))  # the period was 365 days
    assert outcome.expired == [app_id]
    assert get_application(lite, app_id).status == "expired"
    assert all(g.revoked_at is not None for g in list_grants(lite, application_id=app_id))


def test_roles_and_scopes_are_checked_and_every_decision_is_audited(lite, catalog):
    from assets.accounts.authorize import AccessDenied

    setup_world(lite, catalog)
    day = date(2026, 4, 1)
    with pytest.raises(AccessDenied):  # a department office does not submit for a merchant
        submit_application(
            lite,
            "t_market_office",
            catalog,
            merchant_id=MERCHANT_ID,
            scenario="s",
            purpose="p",
            method="sandbox",
            period_start=day,
            period_end=day,
            safeguards="x",
            items=ITEMS,
            today=day,
        )
    app_id = _submit(lite, catalog, day).application_id
    with pytest.raises(AccessDenied):  # the merchant does not check its own application
        comply(lite, MERCHANT, catalog, app_id, passed=True, today=day)
    comply(lite, COMPLIANCE, catalog, app_id, passed=True, today=day)
    with pytest.raises(AccessDenied):  # another department's office
        review(
            lite,
            "t_market_office",
            catalog,
            app_id,
            reviewer="department",
            department_id=HEALTH,
            approve=True,
            today=day,
        )
    with pytest.raises(AccessDenied):  # a department office is not the bureau
        review(lite, HEALTH_OFFICE, catalog, app_id, reviewer="bureau", approve=True, today=day)
    review(
        lite,
        HEALTH_OFFICE,
        catalog,
        app_id,
        reviewer="department",
        department_id=HEALTH,
        approve=False,
        reason="申请的信息项超出场景所需",
        today=day,
    )
    audited = [
        (e.actor, e.role, e.action, e.reason)
        for e in entries(lite, target_prefix=f"authorization/application/{app_id}")
    ]
    assert audited == [
        (MERCHANT, "merchant_user", "application_submit", None),
        (COMPLIANCE, "operator_compliance", "application_compliance_pass", None),
        (
            HEALTH_OFFICE,
            "department_office",
            "application_review_reject",
            "申请的信息项超出场景所需",
        ),
        (HEALTH_OFFICE, "department_office", "application_decided", "审核未通过"),
    ]
