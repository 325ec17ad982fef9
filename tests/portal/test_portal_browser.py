"""A real browser: `publicdata portal` started on 127.0.0.1 (a free port) over a data directory the
pipeline made, headless Chromium from the distribution's package driven by Playwright through its
executable path. A county department clerk signs in, acknowledges a ticket, sees it acknowledged, and
cannot open another county's ticket; a merchant user submits a data-use application and finds it listed
with its due date; the browser fetches nothing from outside the portal."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets.storage.engine import get_engine
from assets.tickets import store
from tests.browser import chromium
from tests.portal.conftest import PASSWORD, PEOPLE

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_portal(data_dir: Path) -> Iterator[str]:
    """`publicdata portal --data-dir … --port …` as a process; yields its base URL."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("publicdata")),
        "portal",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # readiness, not a timing assertion: give up after ~2 minutes
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode(errors="replace"))
            if _answers(f"{base}/login"):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the portal did not answer")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def portal_url(portal_data) -> Iterator[str]:
    yield from start_portal(portal_data.settings.data_dir)


def test_clerk_acknowledges_a_ticket_in_chromium(portal_data, portal_url):
    own, other = portal_data.tickets["own"], portal_data.tickets["other_county"]
    requested: list[str] = []
    with chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        page.on("request", lambda request: requested.append(request.url))

        page.goto(f"{portal_url}/tickets/{own}")
        assert page.url.startswith(f"{portal_url}/login")  # signed out: sent to sign in
        page.fill("input[name=name]", PEOPLE["clerk"].name)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{portal_url}/tickets/{own}"  # back where the clerk wanted to go
        assert page.get_attribute("#ticket-status", "data-status") == "new"

        page.fill("input[name=comment]", "已收到，正在核对")
        with page.expect_navigation():
            page.click("#acknowledge")
        assert page.get_attribute("#ticket-status", "data-status") == "acknowledged"
        assert page.inner_text("#ticket-status") == "已确认"
        assert "已收到，正在核对" in page.inner_text("ol.history")

        with page.expect_navigation():
            page.click("text=← 返回工单列表")
        inbox = page.inner_text("table.grid")
        assert own in inbox and other not in inbox

        refused = page.goto(f"{portal_url}/tickets/{other}")
        assert refused is not None and refused.status == 403
        assert "无权访问" in page.inner_text("main")

    engine = get_engine(portal_data.settings.platform_url)
    assert store.get_ticket(engine, own).status.value == "acknowledged"
    assert store.get_ticket(engine, other).status.value == "new"
    outside = [url for url in requested if not url.startswith(portal_url + "/")]
    assert requested and not outside, outside


def test_merchant_submits_an_application_in_chromium(portal_data, portal_url):
    """A merchant user submits a data-use application and finds it listed with its due date."""
    from assets.authorization.applications import list_applications

    engine = get_engine(portal_data.settings.platform_url)
    before = {a.application_id for a in list_applications(engine)}
    requested: list[str] = []
    with chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{portal_url}/applications/new")
        page.fill("input[name=name]", PEOPLE["applicant"].name)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{portal_url}/applications/new"
        page.check("input[value='medical_institutions/beds']")
        page.check("input[value='medical_institutions/institution_name']")
        page.fill("input[name=scenario]", "医疗资源分布分析")
        page.fill("textarea[name=purpose]", "统计各县区医疗机构床位")
        page.fill("textarea[name=safeguards]", "只在沙箱内查询，结果经出域审核")
        with page.expect_navigation():
            page.click("#application-form button[type=submit]")
        assert page.get_attribute("#application-status", "data-status") == "submitted"
        (new,) = {a.application_id for a in list_applications(engine)} - before
        application = next(a for a in list_applications(engine) if a.application_id == new)
        due = application.current_due()
        assert due is not None
        assert f"{due.day.isoformat()} 前完成合规核查" in page.inner_text(".flash-ok")

        with page.expect_navigation():
            page.click("text=← 全部申请")
        (row,) = [r for r in page.locator("table.grid tbody tr").all_inner_texts() if new in r]
        assert "已受理，待合规核查" in row and due.day.isoformat() in row
    assert application.merchant_id == "yunshu" and {i.column for i in application.items} == {
        "beds",
        "institution_name",
    }
    outside = [url for url in requested if not url.startswith(portal_url + "/")]
    assert requested and not outside, outside
