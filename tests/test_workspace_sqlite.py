"""The workspace in the embedded SQLite zone: the same matrix as on PostgreSQL, enforced by the
read-only connection's authorizer — granted items readable; an ungranted item, an ungranted table and
the operation table itself denied with a Chinese message naming them; after expiry, exit and supply
suspension everything denied; the check fails on an allow-list entry without a live grant."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from assets.audit import log as audit
from assets.operation.suspension import suspend_supply
from assets.storage.engine import get_engine
from assets.storage.tables import workspace_access
from assets.workspace.credentials import issue_credentials
from assets.workspace.reconcile import check_privileges, merchant_query, reconcile
from assets.workspace.sqlite import WorkspaceDenied, WorkspaceError
from tests.workspace_fixtures import (
    GRANTED,
    MARKET,
    MARKET_TABLE,
    MEDICAL_TABLE,
    UNGRANTED,
    grant,
    publish_zone,
)

M1, M2 = "m0001", "m0002"


@pytest.fixture
def zones(tmp_path: Path) -> tuple[sa.Engine, sa.Engine]:
    platform_url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    operation = get_engine(f"sqlite:///{tmp_path / 'operation.sqlite'}")
    publish_zone(operation, platform_url)
    return get_engine(platform_url), operation


def _query(zones, grants, sql: str, merchant: str = M1):
    platform, operation = zones
    return merchant_query(platform, operation, grants, merchant, sql, actor=f"merchant:{merchant}")


def test_merchant_reads_its_grant_and_nothing_else(zones):
    platform, operation = zones
    grants = [grant("g1", M1), grant("g2", M2, MARKET, ("entity_name",))]
    outcome = reconcile(platform, operation, grants, merchants=[M1, M2])
    assert {c.action for c in outcome.changes} == {"access_granted"}

    result = _query(zones, grants, "SELECT * FROM medical_institutions ORDER BY beds")
    assert result.columns == list(GRANTED) and len(result.rows) == 11 and not result.truncated
    assert _query(zones, grants, "SELECT count(*) FROM medical_institutions").rows == [(11,)]
    by_county = _query(
        zones, grants, "SELECT county_code, sum(beds) FROM medical_institutions GROUP BY 1"
    )
    assert len(by_county.rows) == 2

    denied = {
        f"SELECT {UNGRANTED} FROM medical_institutions": f"字段 {UNGRANTED} 不存在或没有授权",
        f"SELECT {UNGRANTED} FROM {MEDICAL_TABLE}": f"运营平台表 {MEDICAL_TABLE} 不能直接查询",
        f"SELECT * FROM {MEDICAL_TABLE}": f"运营平台表 {MEDICAL_TABLE} 不能直接查询",
        f"SELECT count(*) FROM {MEDICAL_TABLE}": f"运营平台表 {MEDICAL_TABLE} 不能直接查询",
        f"SELECT * FROM {MARKET_TABLE}": f"表 {MARKET_TABLE}",
        f"SELECT m.* FROM medical_institutions m JOIN {MARKET_TABLE} x USING (county_code)": (
            f"表 {MARKET_TABLE}"
        ),
        "SELECT * FROM market_entities": "表或视图 market_entities 不存在或没有授权",
        # SQLite asks the authorizer nothing about USING / NATURAL join columns: the bytecode check
        "SELECT count(*) FROM medical_institutions JOIN operation_market_entities USING (county_code)": (
            f"表 {MARKET_TABLE}"
        ),
        "SELECT count(*) FROM medical_institutions NATURAL JOIN operation_market_entities": (
            f"表 {MARKET_TABLE}"
        ),
        "SELECT sql FROM sqlite_master": "表 sqlite_master",
        f"PRAGMA table_info({MARKET_TABLE})": "PRAGMA",
        "ATTACH DATABASE ':memory:' AS other": "ATTACH",
        "CREATE TEMP TABLE copy AS SELECT * FROM medical_institutions": "没有授权",
    }
    for sql, named in denied.items():
        with pytest.raises(WorkspaceDenied, match="没有授权|不能直接查询") as refused:
            _query(zones, grants, sql)
        assert named in str(refused.value), (sql, str(refused.value))
    with pytest.raises(WorkspaceDenied, match=f"DELETE {MEDICAL_TABLE}"):
        _query(zones, grants, f"DELETE FROM {MEDICAL_TABLE}")
    with pytest.raises(WorkspaceError, match="查询无法执行"):
        _query(zones, grants, "SELECT 1; SELECT 2")

    # the other merchant reads its own grant only
    assert _query(zones, grants, "SELECT * FROM market_entities", M2).columns == ["entity_name"]
    with pytest.raises(WorkspaceDenied):
        _query(zones, grants, "SELECT institution_name FROM medical_institutions", M2)

    logged = [e.action for e in audit.entries(platform, target_prefix=f"workspace/{M1}")]
    assert logged.count("workspace_query") == 3 and "workspace_query_denied" in logged
    assert "workspace_access_granted" in logged


def test_results_stay_in_the_workspace(zones):
    platform, operation = zones
    grants = [grant("g1", M1)]
    reconcile(platform, operation, grants, merchants=[M1])
    result = merchant_query(
        platform, operation, grants, M1, "SELECT * FROM medical_institutions", actor="m", max_rows=4
    )
    assert len(result.rows) == 4 and result.truncated
    with pytest.raises(WorkspaceError, match="没有数据库账号"):
        issue_credentials(platform, operation, M1, actor="engineer:test")


def test_expiry_exit_and_suspension_deny_everything(zones):
    platform, operation = zones
    medical, market = grant("g1", M1), grant("g3", M1, MARKET, ("entity_name", "county_code"))
    reconcile(platform, operation, [medical, market], merchants=[M1])
    assert len(_query(zones, [medical, market], "SELECT * FROM market_entities").rows) == 2

    # expiry of g1: denied at once (the live grants bound the allow-list), then reconciled away
    with pytest.raises(WorkspaceDenied, match="medical_institutions"):
        _query(zones, [market], "SELECT institution_name FROM medical_institutions")
    outcome = reconcile(platform, operation, [market], merchants=[M1])
    assert [c.action for c in outcome.changes] == ["access_revoked"]
    assert outcome.changes[0].grant_id == "g1"

    # supply suspension with withdrawal: the grant is no longer live and its table is gone
    suspend_supply(
        platform,
        operation,
        dataset_id=MARKET,
        reason="发现风险",
        actor="bureau:t",
        withdraw_published=True,
    )
    with pytest.raises(WorkspaceDenied):
        _query(zones, [], "SELECT * FROM market_entities")
    with pytest.raises(WorkspaceDenied, match="尚未同步到工作区"):
        _query(zones, [market], "SELECT * FROM market_entities")  # even were it still listed live
    reconcile(platform, operation, [], merchants=[M1])
    assert check_privileges(platform, operation, [], merchants=[M1]).passed

    # exit: no live grant, no allow-list
    reconcile(platform, operation, [], merchants=[])
    for sql in ("SELECT * FROM medical_institutions", f"SELECT * FROM {MEDICAL_TABLE}"):
        with pytest.raises(WorkspaceDenied, match="没有生效中的数据使用授权"):
            _query(zones, [], sql)
    with platform.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(workspace_access)).scalar()
            == 0
        )


def test_check_fails_on_an_allow_list_entry_without_a_live_grant(zones):
    platform, operation = zones
    grants = [grant("g1", M1)]
    reconcile(platform, operation, grants, merchants=[M1])
    check = check_privileges(platform, operation, grants, merchants=[M1])
    assert check.passed
    assert sorted(check.readable[M1]) == sorted(f"{MEDICAL_TABLE}.{c}" for c in GRANTED)

    with platform.begin() as connection:  # an entry made by hand, outside the reconciler
        connection.execute(
            workspace_access.insert().values(
                grant_id="g1",
                column_name=UNGRANTED,
                merchant_id=M1,
                dataset_id="medical_institutions",
                table_name=MEDICAL_TABLE,
                applied_at=sa.func.now(),
            )
        )
    check = check_privileges(platform, operation, grants, merchants=[M1])
    assert not check.passed
    assert f"{MEDICAL_TABLE}.{UNGRANTED}" in check.description()
    # the enforced allow-list is bounded by the live grants: the entry opens nothing
    with pytest.raises(WorkspaceDenied):
        _query(zones, grants, f"SELECT {UNGRANTED} FROM medical_institutions")
    reconcile(platform, operation, grants, merchants=[M1])
    assert check_privileges(platform, operation, grants, merchants=[M1]).passed
