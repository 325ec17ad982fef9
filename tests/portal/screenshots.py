"""Screenshots of the portal for the README, taken with the distribution's headless Chromium.

    .venv/bin/python -m tests.portal.screenshots DATA_DIR docs/screenshots

DATA_DIR is a directory `make run` (or `publicdata demo`) made: its demo accounts' passwords are read
from ``secrets/demo_accounts.txt``. The portal is started on a free port and stopped afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from assets.storage.engine import get_engine
from assets.tickets import store
from orchestration.settings import Settings
from tests.portal.test_portal_browser import chromium_path, start_portal

CLERK = "demo_public_security_640521"
BUREAU = "demo_bureau"


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
    portal = start_portal(data_dir)
    base = next(portal)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")

            def shot(name: str, full_page: bool = False) -> None:
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
            browser.close()
    finally:
        portal.close()
    return shots


if __name__ == "__main__":
    for written in take(Path(sys.argv[1]), Path(sys.argv[2])):
        sys.stdout.write(f"{written}\n")
