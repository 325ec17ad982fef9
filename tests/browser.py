"""The distribution's Chromium for the browser tests and the screenshot script, driven by Playwright
through its executable path (never a downloaded browser build)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def chromium_path() -> str:
    """The distribution's Chromium (`apt-get install chromium`; .ci/run installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium: .ci/run installs the Debian package chromium")
        pytest.skip("no chromium on this machine (apt-get install -y chromium)")
    return found


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed on the way out."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def fenced_context(browser: Any, allowed_prefix: str, refused: list[str]) -> Any:
    """A zh-CN browser context that lets through only requests under ``allowed_prefix``; every
    other request is aborted and its URL appended to ``refused``."""

    def fence(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(allowed_prefix):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context = browser.new_context(locale="zh-CN")
    context.route("**/*", fence)
    return context
