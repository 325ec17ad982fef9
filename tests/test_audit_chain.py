"""The tamper-evident audit log (issue 10): the SM3 hash chain, ``verify`` naming the first bad record
after a modification, deletion, insertion or reordering, the database's append-only guards, concurrent
appends, and the retention purge with its archive; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from assets.audit import log as audit
from assets.audit.retention import RetentionError, purge
from assets.audit.verify import verify_log
from assets.common.hashchain import GENESIS, record_hash
from assets.storage.engine import get_engine, is_postgres
from assets.storage.migrate import MIGRATIONS_DIR, ensure_platform_schema
from assets.storage.tables import audit_head, audit_log

T0 = datetime(2025, 1, 6, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _append(engine, n: int, *, start: datetime = T0, step=timedelta(days=7)) -> None:
    for i in range(n):
        with engine.begin() as connection:
            audit.record(
                connection,
                actor=f"user{i % 3}",
                role="bureau" if i % 2 else None,
                action="supply_suspend" if i % 2 else "ticket_acknowledge",
                target=f"operation/dataset{i}",
                reason="发现风险：第" + str(i) + "次" if i % 2 else None,
                rows=i * 10 if i % 3 else None,
                detail={"n": i, "when": start, "中文": ["甲", 1.5]} if i % 2 else None,
                at=start + i * step,
            )


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    _append(engine, 6)
    return engine


def _tamper(engine, *statements: str, params: dict | None = None) -> None:
    """What someone with the database's owner rights (or the SQLite file) could do: switch the
    guards off, then change records."""
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            for trigger in ("audit_log_no_update", "audit_log_no_delete"):
                connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            connection.execute(sa.text(statement), params or {})


def _problem(engine):
    result = verify_log(engine)
    assert not result.ok
    return result.chain.problem


def test_an_untouched_log_verifies(engine):
    result = verify_log(engine)
    assert result.ok, result.chain.problem
    assert (result.chain.checked, result.chain.first_seq, result.chain.last_seq) == (6, 1, 6)
    assert result.chain.head_hash == audit.head(engine)[1]
    rows = audit.entries(engine)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert len(rows[0].hash) == 64


def test_modify_is_named(engine):
    _tamper(engine, "UPDATE audit_log SET actor = 'someone_else' WHERE seq = 3")
    problem = _problem(engine)
    assert (problem.seq, problem.kind) == (3, "modified")
    assert "第 3 条" in problem.message and "修改" in problem.message


def test_modify_with_a_recomputed_hash_breaks_the_next_link(engine):
    with engine.connect() as connection:
        row = dict(
            connection.execute(sa.select(audit_log).where(audit_log.c.seq == 3)).mappings().one()
        )
    forged = record_hash({**row, "reason": "无"})
    _tamper(
        engine,
        "UPDATE audit_log SET reason = '无', hash = :h WHERE seq = 3",
        params={"h": forged},
    )
    problem = _problem(engine)
    assert (problem.seq, problem.kind) == (4, "broken_link")


def test_delete_is_named(engine):
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 3")
    problem = _problem(engine)
    assert (problem.seq, problem.kind) == (4, "missing")
    assert "缺少第 3–3 条" in problem.message


def test_deleting_the_newest_record_shows_at_the_head(engine):
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 6")
    assert _problem(engine).kind == "head_mismatch"


def test_insert_is_named(engine):
    with engine.connect() as connection:
        before = dict(
            connection.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).mappings().one()
        )
    # renumber 3.. up by one, then put a well-formed record in at 3
    _tamper(
        engine,
        "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
        "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
    )
    forged = {
        "seq": 3,
        "at": datetime(2025, 1, 15, tzinfo=UTC),
        "actor": "intruder",
        "actor_role": "bureau",
        "action": "supply_resume",
        "target": "operation/dataset9",
        "reason": None,
        "rows": None,
        "detail": None,
        "prev_hash": before["hash"],
    }
    with engine.begin() as connection:
        connection.execute(audit_log.insert().values(**forged, hash=record_hash(forged)))
    problem = _problem(engine)
    assert (problem.seq, problem.kind) == (3, "inserted")
    assert "插入" in problem.message


def test_reorder_is_named(engine):
    _tamper(
        engine,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )
    problem = _problem(engine)
    assert (problem.seq, problem.kind) == (3, "reordered")
    assert "原为第 4 条" in problem.message


def test_the_database_refuses_update_delete_and_truncate(engine):
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        *(["TRUNCATE audit_log"] if is_postgres(engine) else []),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="审计日志只能追加"), engine.begin() as c:
            c.execute(sa.text(statement))
    assert verify_log(engine).ok


def test_concurrent_appends_do_not_fork_the_chain(db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(8):
                with engine.begin() as connection:
                    audit.record(connection, actor=f"w{k}", action="x", target=f"t/{k}/{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify_log(engine)
    assert result.ok, result.chain.problem
    assert result.chain.checked == 48 and audit.head(engine)[0] == 48


def test_purge_archives_and_the_chain_stays_verifiable(engine, tmp_path):
    _append(engine, 3, start=datetime(2026, 6, 1, tzinfo=UTC))  # seq 7–9 are recent
    with pytest.raises(RetentionError, match="至少保留 6 个月"):
        purge(
            engine, tmp_path, before=date(2026, 1, 1), today=date(2026, 6, 30), actor="e", role=None
        )
    result = purge(
        engine,
        tmp_path,
        before=date(2025, 2, 1),
        today=date(2026, 7, 1),
        actor="eng",
        role="engineer",
    )
    assert (result.from_seq, result.to_seq, result.records) == (1, 4, 4)  # 1-6 … 27 Jan
    archive = tmp_path / result.archive_file
    assert archive.is_file() and oct(archive.stat().st_mode & 0o777) == "0o600"
    assert [e.seq for e in audit.entries(engine)][:2] == [5, 6]
    checked = verify_log(engine, data_dir=tmp_path)
    assert checked.ok, (checked.chain.problem, checked.problems)
    assert checked.anchor.to_seq == 4 and checked.anchor.last_hash == result.anchor_hash
    assert checked.archives_checked == 1
    purged = audit.entries(engine, actions=("audit_purge",))
    assert [(e.actor, e.role, e.rows) for e in purged] == [("eng", "engineer", 4)]
    # a second purge continues from the anchor
    again = purge(
        engine, tmp_path, before=date(2025, 6, 1), today=date(2026, 7, 1), actor="e", role=None
    )
    assert (again.from_seq, again.to_seq) == (5, 6)
    assert verify_log(engine, data_dir=tmp_path).ok
    # records newer than an anchor still cannot be deleted; a changed archive is found
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_log WHERE seq = 7"))
    archive.write_text(archive.read_text().replace('"user1"', '"nobody"'))
    broken = verify_log(engine, data_dir=tmp_path)
    assert not broken.ok and "SM3" in broken.problems[0]
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 7")
    assert _problem(engine).kind == "missing"


def test_records_made_before_the_chain_are_chained_by_the_migration(db_url):
    engine = get_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        for i in range(3):
            connection.execute(
                sa.text(
                    "INSERT INTO audit_log (at, actor, action, target, detail) "
                    "VALUES (:at, :actor, 'old', 't', :detail)"
                ),
                {"at": T0 + timedelta(hours=i), "actor": f"old{i}", "detail": '{"k": 1}'},
            )
    ensure_platform_schema(db_url)
    result = verify_log(engine)
    assert result.ok, result.chain.problem
    assert result.chain.checked == 3
    with engine.begin() as connection:
        audit.record(connection, actor="new", action="x", target="t")
    assert verify_log(engine).chain.checked == 4
    with engine.connect() as connection:
        assert connection.execute(sa.select(audit_head.c.seq)).scalar() == 4


@pytest.mark.postgres
def test_the_application_role_can_only_read_and_append(pg_url):
    import uuid

    from tests.conftest import _server_engine

    ensure_platform_schema(pg_url)
    owner = get_engine(pg_url)
    _append(owner, 2)
    login = f"pd_app_{uuid.uuid4().hex[:8]}"
    server = _server_engine()
    with server.connect() as connection:
        connection.execute(
            sa.text(
                f"CREATE ROLE {login} LOGIN PASSWORD 'app-test-password' IN ROLE publicdata_app"
            )
        )
    app_url = sa.engine.make_url(pg_url).set(username=login, password="app-test-password")
    app = sa.create_engine(app_url)
    try:
        with app.begin() as connection:
            audit.record(connection, actor="app", action="x", target="t")
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with (
                pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
                app.begin() as c,
            ):
                c.execute(sa.text(statement))
        with app.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 3
        assert verify_log(owner).ok
    finally:
        app.dispose()
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE {login}"))
        server.dispose()
