"""The quality Data Docs as the portal serves them: the pages run in a CSP sandbox (an opaque origin),
so their own scripts, styles and fonts must be allowed to cross to it, or the results list stays empty
and the pass/fail icons blank. Checked in headless Chromium with every request outside the portal
refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import chromium, fenced_context
from tests.portal.conftest import PASSWORD, PEOPLE, portal_client
from tests.portal.test_portal_browser import start_portal

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]

FONT = "static/vendor/fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2"


def test_data_docs_files_may_cross_to_the_sandboxed_pages_and_nothing_else_does(portal_data):
    site = "/quality-docs/household_registration"
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        font = client.get(f"{site}/{FONT}")  # requested without the session, as the sandbox does
        assert font.status_code == 200
        assert font.headers["cross-origin-resource-policy"] == "cross-origin"
        assert font.headers["access-control-allow-origin"] == "*"
        assert "sandbox" in font.headers["content-security-policy"]
        browser.sign_in("bureau")
        page = client.get(f"{site}/index.html")
        assert page.status_code == 200
        assert page.headers["cross-origin-resource-policy"] == "same-origin"
        assert "access-control-allow-origin" not in page.headers
        catalog = client.get("/catalog/catalog.json")
        assert catalog.headers["cross-origin-resource-policy"] == "same-origin"
        assert "access-control-allow-origin" not in catalog.headers
        login = client.get("/login")
        assert login.headers["cross-origin-resource-policy"] == "same-origin"


@pytest.fixture
def portal_url(portal_data) -> Iterator[str]:
    yield from start_portal(portal_data.settings.data_dir)


def test_data_docs_show_their_results_in_chromium_with_nothing_from_outside(portal_url):
    outside: list[str] = []
    failed: list[str] = []
    with chromium() as browser:
        page = fenced_context(browser, portal_url + "/", outside).new_page()
        # the Data Docs' own files (the portal's pages have their own tests)
        page.on(
            "requestfailed",
            lambda request: failed.append(request.url) if "/quality-docs/" in request.url else None,
        )
        page.goto(f"{portal_url}/login")
        page.fill("input[name=name]", PEOPLE["bureau"].name)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")

        page.goto(f"{portal_url}/quality-docs/household_registration/index.html")
        rows = page.locator("table.ge-index-page-validation-results-table tbody tr")
        rows.first.wait_for()  # bootstrap-table (a vendored script) renders the results list
        assert rows.count() >= 1 and "household_registration" in rows.first.inner_text()

        with page.expect_navigation():
            rows.first.click()  # GE's own row link, to the validation's page
        assert "/validations/" in page.url
        assert page.locator("table tbody tr").count() > 5
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
        icon = page.locator("i.fas").first.bounding_box()
        assert icon is not None and icon["width"] > 0
    assert outside == [] and failed == [], (outside, failed)
