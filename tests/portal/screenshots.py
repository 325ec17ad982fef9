"""Screenshots of the portal for the README, taken with the distribution's headless Chromium.

    .venv/bin/python -m tests.portal.screenshots DATA_DIR docs/screenshots

DATA_DIR is a directory `make run` (or `publicdata demo`) made: its demo accounts' passwords are read
from ``secrets/demo_accounts.txt``. The portal is started on a free port and stopped afterwards. The
merchant's screens act in the portal as a merchant would (the workspace reconciled first with
``publicdata workspace reconcile``; an application, a product, an export request and an incident are
added to DATA_DIR). A page showing anything like an ID number or a mobile phone number is refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page

from assets.storage.engine import get_engine
from assets.tickets import store
from orchestration.settings import Settings
from tests.browser import chromium
from tests.portal.test_portal_browser import start_portal

CLERK = "demo_public_security_640521"
BUREAU = "demo_bureau"
MERCHANT = "demo_merchant"
ENGINEER = "demo_engineer"
RAW_PERSONAL = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")


def _passwords(data_dir: Path) -> dict[str, str]:
    lines = (data_dir / "secrets" / "demo_accounts.txt").read_text(encoding="utf-8").splitlines()
    return {
        parts[0]: parts[1]
        for line in lines
        if not line.startswith("#")
        for parts in [line.split("\t")]
    }


def _sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def take(data_dir: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    passwords = _passwords(data_dir)
    settings = Settings.load(data_dir)
    tickets = store.list_tickets(
        get_engine(settings.platform_url),
        county_code="640521",
        department_id="public_security",
        status="open",
    )
    shots: list[Path] = []
    subprocess.run(  # the demo's live grant into the workspace, as the daily asset would
        [
            str(Path(sys.executable).with_name("publicdata")),
            "workspace",
            "reconcile",
            "--data-dir",
            str(data_dir),
            "--as",
            ENGINEER,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    portal = start_portal(data_dir)
    base = next(portal)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")

            def shot(name: str, full_page: bool = False) -> None:
                if RAW_PERSONAL.search(page.inner_text("body")):
                    raise SystemExit(f"{name}: the page shows an ID or phone number; no screenshot")
                path = out_dir / f"{name}.png"
                page.screenshot(path=str(path), full_page=full_page)
                shots.append(path)

            page.goto(f"{base}/login")
            shot("login")
            _sign_in(page, base, CLERK, passwords[CLERK])
            page.goto(f"{base}/tickets")
            shot("tickets")
            if tickets:
                page.goto(f"{base}/tickets/{tickets[0].id}")
                shot("ticket")
            page.goto(f"{base}/deliveries/upload")
            shot("upload")
            page.context.clear_cookies()
            _sign_in(page, base, BUREAU, passwords[BUREAU])
            page.goto(f"{base}/lineage")
            shot("lineage")
            page.goto(f"{base}/lineage/household_registration")
            page.set_viewport_size({"width": 1280, "height": 1500})
            shot("lineage_household", full_page=False)
            page.set_viewport_size({"width": 1280, "height": 760})
            page.goto(f"{base}/supply")
            shot("supply")
            page.context.clear_cookies()
            _merchant_screens(page, base, passwords[MERCHANT], shot)
            page.context.clear_cookies()
            _sign_in(page, base, BUREAU, passwords[BUREAU])
            page.goto(f"{base}/incidents")
            page.select_option("select[name=level]", "general")
            page.fill("input[name=title]", "工作区异常查询（演示）")
            page.fill(
                "textarea[name=description]", "同一账号短时间内多次查询未授权的表，已提醒数据商"
            )
            with page.expect_navigation():
                page.click("form[action='/incidents'] button[type=submit]")
            page.goto(f"{base}/incidents")
            shot("incidents")
    finally:
        portal.close()
    return shots


def _submit(page: Page, form: str) -> None:
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def _merchant_screens(page: Page, base: str, password: str, shot) -> None:
    """The demo merchant applies, queries its grant, registers a product and requests an export."""
    _sign_in(page, base, MERCHANT, password)
    page.goto(f"{base}/applications/new")
    page.locator("#application-form input[type=checkbox]").first.check()
    page.fill("input[name=scenario]", "公共服务资源分布分析（演示）")
    page.fill("textarea[name=purpose]", "统计各县区公共服务资源分布")
    page.fill("textarea[name=safeguards]", "沙箱隔离；查询留痕；结果出域前经审核与备案")
    shot("application_new")
    _submit(page, "#application-form")
    page.goto(f"{base}/applications")
    shot("applications")
    page.goto(f"{base}/workspace")
    view = page.inner_text("section.card h3 code")
    # organization codes can be all digits: shown items are chosen without them
    columns = [
        c for c in page.locator("section.card ul.list li code").all_inner_texts() if c != "uscc"
    ]
    page.fill("textarea[name=sql]", f"SELECT {', '.join(columns[:4])} FROM {view} LIMIT 8")
    _submit(page, "#workspace-form")
    shot("workspace")
    page.goto(f"{base}/products")
    page.fill("input[name=name]", "公共服务资源分布统计（演示）")
    page.select_option("select[name=use]", "public_good")
    page.fill("input[name=scenario]", "公共服务资源分布分析（演示）")
    _submit(page, "form[action='/products']")
    page.goto(f"{base}/exports/new")
    page.fill("input[name=recipient]", "中卫市某研究机构（演示）")
    page.fill("textarea[name=sql]", f"SELECT COUNT(*) AS 数量 FROM {view}")
    _submit(page, "#export-form")
    shot("export")


if __name__ == "__main__":
    for written in take(Path(sys.argv[1]), Path(sys.argv[2])):
        sys.stdout.write(f"{written}\n")
