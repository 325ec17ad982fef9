"""live_grants: a grant is live only while the operator's authorization, the merchant, its signature of
the current agreement, the grant's period and the dataset's supply all hold (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest

from assets.authorization import agreements, merchants, operator
from assets.authorization.grants import all_merchants, create_grant, live_grants
from assets.authorization.records import Actor, AuthorizationError, utc_now
from assets.operation.suspension import resume_supply, suspend_supply
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.authorization_helpers import (
    AGREEMENT_BODY,
    BUREAU,
    MERCHANT,
    MERCHANT_ID,
    OPERATOR,
    ensure_accounts,
    valid_uscc,
)


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def _setup(engine, *, mode="whole", domains=(), scenarios=()):
    ensure_accounts(engine)
    operator.create_authorization(
        engine,
        BUREAU,
        unit_name="中卫市数据运营有限公司",
        agreement_no="ZW-SQYY-2026-001",
        mode=mode,
        domains=domains,
        scenarios=scenarios,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    merchant = merchants.register_merchant(
        engine,
        OPERATOR,
        name="宁夏云数科技有限公司",
        uscc=valid_uscc("91640500MA76"),
        contact_name="王经理",
        contact_phone="13900001111",
        qualifications=["营业执照", "数据安全管理制度"],
        today=date(2026, 3, 2),
        merchant_id=MERCHANT_ID,
    )
    merchants.decide_merchant(engine, OPERATOR, merchant.merchant_id, approve=True)
    version = agreements.draft_version(engine, OPERATOR, AGREEMENT_BODY)
    agreements.decide_version(engine, BUREAU, version.id, approve=True)
    agreements.sign(engine, MERCHANT, merchant.merchant_id, version.id)
    with engine.begin() as connection:
        grant_id = create_grant(
            connection,
            Actor(OPERATOR),
            application_id="a0001",
            merchant_id=merchant.merchant_id,
            dataset_id="medical_institutions",
            columns=("institution_name", "grade", "beds"),
            domains=("社会民生", "医疗卫生"),
            scenario="医疗资源分布分析",
            valid_from=date(2026, 4, 1),
            valid_to=date(2026, 9, 30),
            at=utc_now(),
        )
    return merchant.merchant_id, grant_id


def test_a_grant_is_live_within_its_period(engine):
    merchant_id, grant_id = _setup(engine)
    live = live_grants(engine, date(2026, 4, 1))
    assert [(g.grant_id, g.merchant_id, g.dataset_id, g.columns) for g in live] == [
        (grant_id, merchant_id, "medical_institutions", ("institution_name", "grade", "beds"))
    ]
    assert live_grants(engine, date(2026, 9, 30))
    assert live_grants(engine, date(2026, 3, 31)) == []
    assert live_grants(engine, date(2026, 10, 1)) == []
    assert [(m.merchant_id, m.status) for m in all_merchants(engine)] == [(merchant_id, "approved")]


def test_an_expired_or_revoked_operator_authorization_stops_every_grant(engine):
    _setup(engine)
    with engine.begin() as connection:
        create_grant(
            connection,
            Actor(OPERATOR),
            application_id="a0002",
            merchant_id=MERCHANT_ID,
            dataset_id="market_entities",
            columns=("uscc",),
            domains=("经济建设",),
            scenario="x",
            valid_from=date(2026, 1, 1),
            valid_to=date(2027, 6, 30),
            at=utc_now(),
        )
    assert len(live_grants(engine, date(2026, 12, 31))) == 1
    assert live_grants(engine, date(2027, 1, 1)) == []  # the authorization ended on 2026-12-31
    assert len(live_grants(engine, date(2026, 5, 1))) == 2
    operator.revoke_authorization(engine, BUREAU, 1, reason="运营机构严重违约")
    assert live_grants(engine, date(2026, 5, 1)) == []


@pytest.mark.parametrize(
    ("mode", "domains", "scenarios", "live"),
    [
        ("domain", ["医疗卫生"], [], True),
        ("domain", ["社会民生"], [], True),
        ("domain", ["经济建设"], [], False),
        ("scenario", [], ["医疗资源分布分析"], True),
        ("scenario", [], ["其他场景"], False),
    ],
)
def test_domain_and_scenario_authorizations_cover_only_their_grants(
    engine, mode, domains, scenarios, live
):
    _setup(engine, mode=mode, domains=domains, scenarios=scenarios)
    assert bool(live_grants(engine, date(2026, 5, 1))) is live


def test_a_new_agreement_version_stops_grants_until_the_merchant_signs_it(engine):
    merchant_id, _ = _setup(engine)
    version = agreements.draft_version(
        engine, OPERATOR, AGREEMENT_BODY + "\n第二版：增加模型出域条款。"
    )
    assert live_grants(engine, date(2026, 5, 1))  # a draft changes nothing
    with pytest.raises(AuthorizationError, match="现行"):
        agreements.sign(engine, MERCHANT, merchant_id, version.id)
    agreements.decide_version(engine, BUREAU, version.id, approve=True)
    assert live_grants(engine, date(2026, 5, 1)) == []
    agreements.sign(engine, MERCHANT, merchant_id, version.id)
    assert live_grants(engine, date(2026, 5, 1))


def test_whole_dataset_suspension_stops_the_grant_a_county_suspension_does_not(engine, db_url):
    _setup(engine)
    day = date(2026, 5, 1)
    suspend_supply(
        engine,
        engine,
        dataset_id="medical_institutions",
        county_code="640521",
        reason="风险",
        actor="b",
    )
    assert live_grants(engine, day)
    suspend_supply(engine, engine, dataset_id="medical_institutions", reason="风险", actor="b")
    assert live_grants(engine, day) == []
    resume_supply(engine, dataset_id="medical_institutions", reason="已整改", actor="b")
    assert live_grants(engine, day)


def test_exit_revokes_every_grant_and_is_reported(engine):
    from assets.audit.log import entries

    merchant_id, grant_id = _setup(engine)
    revoked = merchants.exit_merchant(engine, OPERATOR, merchant_id, reason="主动申请退出")
    assert revoked == [grant_id]
    assert live_grants(engine, date(2026, 5, 1)) == []
    assert [(m.merchant_id, m.status) for m in all_merchants(engine)] == [(merchant_id, "exited")]
    actions = [e.action for e in entries(engine, target_prefix="authorization/")]
    assert {"merchant_exit", "merchant_exit_report", "grant_revoke"} <= set(actions)
    with pytest.raises(AuthorizationError, match="已于"):
        merchants.exit_merchant(engine, OPERATOR, merchant_id, reason="再次")


def test_merchant_registration_checks_the_uscc_check_character(engine):
    ensure_accounts(engine)
    good = valid_uscc("91640500MA76")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(AuthorizationError, match="校验码错误"):
        merchants.register_merchant(
            engine,
            OPERATOR,
            name="某公司",
            uscc=bad,
            contact_name="李",
            contact_phone="13900001111",
            qualifications=["营业执照"],
            today=date(2026, 3, 2),
        )
    merchant = merchants.register_merchant(
        engine,
        OPERATOR,
        name="某公司",
        uscc=good,
        contact_name="李",
        contact_phone="13900001111",
        qualifications=["营业执照"],
        today=date(2026, 2, 13),
    )
    record = merchant.as_record()
    assert record["contact_phone"] != "13900001111"  # masked
    # 5 working days from Friday 13 February 2026 across the Spring Festival (14 Feb is 调休上班)
    assert record["due_date"] == "2026-02-27" and record["due_date_provisional"] is False
    with pytest.raises(AuthorizationError, match="理由"):
        merchants.decide_merchant(engine, OPERATOR, merchant.merchant_id, approve=False, reason=" ")
