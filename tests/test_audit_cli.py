"""``publicdata audit list | verify | head | purge`` through click's CliRunner (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.audit import log as audit
from assets.storage.engine import get_engine, is_postgres
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli import main
from tests.helpers import add_account


@pytest.fixture
def home(tmp_path, db_url, monkeypatch):
    for name in ("PUBLICDATA_HOME", "PUBLICDATA_DATABASE_URL", "PUBLICDATA_TODAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUBLICDATA_PLATFORM_URL", db_url)
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    for i, (actor, action) in enumerate(
        [("alice", "supply_suspend"), ("bob", "ticket_acknowledge"), ("alice", "supply_resume")]
    ):
        with engine.begin() as connection:
            audit.record(
                connection,
                actor=actor,
                role="bureau",
                action=action,
                target=f"t/{i}",
                at=datetime(2026, 3, 1 + 10 * i, tzinfo=UTC),
            )
    add_account(db_url, "auditor", "engineer")
    add_account(db_url, "shop", "merchant_user", merchant_id="m1")
    return tmp_path


def cli(home, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["audit", *args, "--data-dir", str(home)])
    assert result.exit_code == code, result.output
    return result.output


def test_list_filters_and_json(home):
    rows = json.loads(cli(home, "list", "--as", "auditor", "--json"))
    assert [r["action"] for r in rows][:3] == [
        "supply_suspend",
        "ticket_acknowledge",
        "supply_resume",
    ]
    alice = json.loads(cli(home, "list", "--as", "auditor", "--json", "--actor", "alice"))
    assert [r["target"] for r in alice] == ["t/0", "t/2"]
    assert {r["role"] for r in alice} == {"bureau"} and all(len(r["hash"]) == 64 for r in alice)
    recent = json.loads(cli(home, "list", "--as", "auditor", "--json", "--since", "2026-03-05"))
    assert [r["target"] for r in recent][:2] == ["t/1", "t/2"] and "t/0" not in str(recent)
    one = json.loads(
        cli(home, "list", "--as", "auditor", "--json", "--action", "ticket_acknowledge")
    )
    assert [r["actor"] for r in one] == ["bob"]
    assert "共" in cli(home, "list", "--as", "auditor")
    refused = cli(home, "list", "--as", "shop", code=1)
    assert "拒绝" in refused and "audit.read" in refused


def test_verify_exit_status_names_the_first_bad_record(home, db_url):
    output = cli(home, "verify", "--as", "auditor")
    assert "审计日志完整" in output
    seq, digest = audit.head(get_engine(db_url))
    assert digest in output
    assert json.loads(cli(home, "head", "--as", "auditor", "--json")) == {
        "seq": seq,
        "hash": digest,
    }
    engine = get_engine(db_url)
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        connection.execute(sa.text("UPDATE audit_log SET target = 't/x' WHERE target = 't/1'"))
    bad_seq = next(e.seq for e in audit.entries(engine) if e.target == "t/x")
    output = cli(home, "verify", "--as", "auditor", code=1)
    assert f"第 {bad_seq} 条" in output and "被修改" in output
    report = json.loads(cli(home, "verify", "--as", "auditor", "--json", code=1))
    assert report["ok"] is False and report["first_bad"]["seq"] == bad_seq


def test_purge_respects_retention(home, monkeypatch):
    monkeypatch.setenv("PUBLICDATA_TODAY", "2026-06-30")
    assert "至少保留 6 个月" in cli(
        home, "purge", "--before", "2026-03-15", "--as", "auditor", code=1
    )
    monkeypatch.setenv("PUBLICDATA_TODAY", "2026-12-31")
    output = cli(home, "purge", "--before", "2026-03-15", "--as", "auditor")
    assert "已归档并清理" in output and "audit/archive/" in output
    assert "归档文件 1 个" in cli(home, "verify", "--archives", "--as", "auditor")
