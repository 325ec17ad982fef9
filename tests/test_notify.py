"""Notices to source departments, received by a real HTTP server on loopback."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assets.common.notify import channel_label, resolve_channel
from assets.common.workdays import DuePolicy
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.tickets import deliveries, intake
from assets.tickets import store as store
from assets.tickets.notify import notify_departments, render_notice
from assets.tickets.rules import Action, Finding

T0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
RAW_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
RAW_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class Receiver:
    """A webhook on 127.0.0.1 that records every POST (path and JSON body)."""

    def __init__(self, status: int = 200) -> None:
        received: list[tuple[str, dict]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def failing_receiver() -> Iterator[Receiver]:
    server = Receiver(status=500)
    yield server
    server.close()


@pytest.fixture
def engine(db_url):
    ensure_platform_schema(db_url)
    return get_engine(db_url)


def city_with_channel(city, url: str, department_id: str = "public_security"):
    departments = tuple(
        d.model_copy(update={"channels": (url,)}) if d.id == department_id else d
        for d in city.departments
    )
    return city.model_copy(update={"departments": departments})


def open_tickets(engine, county_code: str = "640521") -> list[str]:
    findings = [
        Finding(
            rule_id="household_registration.format.id_number",
            expectation="公民身份号码为18位且校验码符合 GB 11643",
            columns=("id_number",),
            dimension="规范性",
            severity="高",
            failed_count=4,
            total=200,
            examples=(
                {"source_row": 12, "value": "6405**********0018"},
                # a value that slipped through unmasked: the ticket must still not carry it
                {"source_row": 15, "value": "640521199001011234"},
            ),
            fix="请对照居民身份证原件核对号码，更正后重新报送。",
        ),
        Finding(
            rule_id="household_registration.format.phone",
            expectation="联系电话为中国大陆手机号码",
            columns=("phone",),
            dimension="规范性",
            severity="低",
            failed_count=2,
            total=200,
            examples=({"source_row": 9, "value": "13812345678"},),
            fix="请更正为11位手机号码。",
        ),
    ]
    result = intake.sync_findings(
        engine,
        dataset_id="household_registration",
        county_code=county_code,
        department_id="public_security",
        period="2026-09",
        findings=findings,
        passed_rule_ids=(),
        checked_at=T0,
        due_policy=DuePolicy(),
    )
    return list(result.opened)


def test_notice_arrives_on_loopback_without_raw_personal_data(engine, city, catalog, receiver):
    ids = open_tickets(engine)
    channel = f"json://127.0.0.1:{receiver.port}/hooks/${{HOOK_NAME}}"
    configured = city_with_channel(city, channel)

    results = notify_departments(
        engine, configured, catalog, now=T0, environ={"HOOK_NAME": "public-security"}
    )

    assert [r.department_id for r in results] == ["public_security"]
    assert results[0].delivered
    assert len(receiver.received) == 1
    path, payload = receiver.received[0]
    assert path == "/hooks/public-security"
    text = f"{payload['title']}\n{payload['message']}"
    for ticket_id in ids:
        assert ticket_id in text
    assert "中宁县公安局" in text
    assert "户籍人口信息" in text
    assert "公民身份号码（id_number）" in text
    assert "2026-10-19" in text  # due date
    assert "请对照居民身份证原件核对号码" in text  # how to fix
    assert "第12行 6405**********0018" in text
    assert "138****5678" in text
    assert not RAW_ID.search(text), text
    assert not RAW_PHONE.search(text), text

    log = deliveries.delivery_log(engine, department_id="public_security")
    assert [(row["ok"], row["channel"], sorted(row["ticket_ids"])) for row in log] == [
        (True, channel, sorted(ids))
    ]
    ticket = store.get_ticket(engine, ids[0])
    assert ticket.notice_pending is None
    assert ticket.history[-1].action is Action.NOTIFY

    # nothing new: nothing sent
    assert notify_departments(engine, configured, catalog, environ={"HOOK_NAME": "x"}) == []
    assert len(receiver.received) == 1


def test_escalation_is_announced_again(engine, city, catalog, receiver):
    ids = open_tickets(engine)
    configured = city_with_channel(city, f"json://127.0.0.1:{receiver.port}/hook")
    notify_departments(engine, configured, catalog, environ={})
    store.escalate_overdue(engine, date(2026, 10, 20), city=city, at=T0 + timedelta(days=8))
    notify_departments(engine, configured, catalog, environ={})
    assert len(receiver.received) == 2
    message = receiver.received[1][1]["message"]
    assert "逾期升级" in receiver.received[1][1]["title"]
    assert "中宁县数据局" in message
    assert all(ticket_id in message for ticket_id in ids)


def test_unset_placeholder_keeps_tickets_pending(engine, city, catalog, receiver):
    ids = open_tickets(engine)
    configured = city_with_channel(city, f"json://127.0.0.1:{receiver.port}/${{HOOK_TOKEN}}")
    results = notify_departments(engine, configured, catalog, environ={})
    assert not results[0].delivered
    assert "HOOK_TOKEN" in (results[0].deliveries[0].error or "")
    assert receiver.received == []
    assert store.get_ticket(engine, ids[0]).notice_pending == "new"
    assert [row["ok"] for row in deliveries.delivery_log(engine)] == [False]


def test_failed_post_is_recorded_and_retried_next_time(engine, city, catalog, failing_receiver):
    ids = open_tickets(engine)
    configured = city_with_channel(city, f"json://127.0.0.1:{failing_receiver.port}/hook")
    results = notify_departments(engine, configured, catalog, environ={})
    assert len(failing_receiver.received) == 1  # it did arrive, and was refused
    assert not results[0].delivered
    assert results[0].deliveries[0].error
    assert store.get_ticket(engine, ids[0]).notice_pending == "new"
    notify_departments(engine, configured, catalog, environ={})
    assert len(failing_receiver.received) == 2


def test_department_without_channels_is_skipped(engine, city, catalog):
    ids = open_tickets(engine)
    assert notify_departments(engine, city, catalog, environ={}) == []
    assert store.get_ticket(engine, ids[0]).notice_pending == "new"


def test_resolve_channel_and_label_hide_secrets():
    env = {"DING_TOKEN": "s3cr3t-token"}
    assert resolve_channel("dingtalk://${DING_TOKEN}/", env) == "dingtalk://s3cr3t-token/"
    with pytest.raises(ValueError, match="OTHER"):
        resolve_channel("dingtalk://${OTHER}/", env)
    assert channel_label("dingtalk://${DING_TOKEN}/") == "dingtalk://${DING_TOKEN}/"
    assert "hunter2" not in channel_label("json://user:hunter2@127.0.0.1:8080/hook")


def test_rejected_file_notice_names_the_file_not_row_counts(engine, city, catalog):
    ticket = intake.open_file_rejection_ticket(
        engine,
        dataset_id="medical_institutions",
        county_code="640522",
        department_id="health",
        period="2026-Q3",
        reason_code="missing_column",
        reason="缺少必填信息项：统一社会信用代码",
        checked_at=T0,
        due_policy=DuePolicy(),
        relative_path="landing/640522/medical_institutions/2026-Q3.xlsx",
    )
    title, body = render_notice(city.department("health"), [ticket], city, catalog)
    assert "新建 1 个" in title
    assert "海原县卫生健康局" in body and "医疗" in body
    assert "本期文件被拒收" in body and "不符合：" not in body
    assert "报送文件：landing/640522/medical_institutions/2026-Q3.xlsx" in body
    assert "表头" in body  # the 规范性 fix text
