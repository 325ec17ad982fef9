"""The portal's pages over a data directory the real pipeline made: the bureau's lineage (chain, runs,
checks, column lineage with the emptied birth date flagged), Data Docs and the catalog over HTTP without
path traversal, security headers and cookies, Chinese error pages, and no page that loads anything from
outside the portal."""

from __future__ import annotations

import io
import os
from html.parser import HTMLParser
from urllib.parse import urlsplit

import openpyxl
import pytest

from orchestration.portal.app import create_app
from orchestration.portal.security import SESSION_COOKIE
from tests.portal.conftest import portal_client

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portal")]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value:
                self.found.append((tag, name, value))
            if name == "style" and value and "url(" in value:
                self.found.append((tag, name, value))


def links(html: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.found


def is_local(value: str) -> bool:
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc and not value.startswith("//")


def test_lineage_of_household_registration(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("bureau")
        index = client.get("/lineage?q=户籍").text
        assert "户籍人口信息" in index and "医疗机构名录" not in index
        assert "户籍人口信息" in client.get("/lineage?q=公民身份号码").text

        page = client.get("/lineage/household_registration").text
        for stage in ("县（区）数源部门交付", "县（区）汇聚入库", "市政务数据共享交换平台"):
            assert stage in page
        assert "数据治理与分类分级" in page and "公共数据运营平台（可用不可见）" in page
        for county in ("沙坡头区", "中宁县", "海原县"):
            assert county in page
        # column lineage: 信息项 → columns, classification, grade, desensitization
        assert "公民身份号码" in page and "假名化（HMAC-SM3）" in page
        row = page.split("<td>出生日期</td>", 1)[1].split("</tr>", 1)[0]
        assert "<code>birth_date</code>" in row and "泛化" in row
        assert "脱敏后为空" in row
        warning = page.split("注意：", 1)[1].split("</div>", 1)[0]
        assert "“出生日期”" in warning and "虽已发布" in warning, warning
        name_row = page.split("<td>姓名</td>", 1)[1].split("</tr>", 1)[0]
        assert "掩码" in name_row and "脱敏后为空" not in name_row
        # runs and checks from the Dagster instance, linked to the Dagster UI
        assert "县区交付入库" in page and "治理、分类分级、脱敏与发布" in page
        assert "http://127.0.0.1:3000/runs/" in page
        assert "质量规则（Great Expectations）" in page and "k-匿名" in page

        prohibited = client.get("/lineage/petition_records").text
        assert "禁止开放" in prohibited
        assert client.get("/lineage/no_such_dataset").status_code == 404


def test_data_docs_and_catalog_over_http_without_traversal(portal_data):
    home = portal_data.settings.data_dir
    docs = home / "quality" / "data_docs"
    os.symlink(home / "secrets", docs / "household_registration" / "leak")
    (home / "operation" / "catalog" / ".hidden.json").write_text("{}")
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("bureau")
        index = client.get("/quality-docs/household_registration/index.html")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert "sandbox" in index.headers["content-security-policy"]
        listing = client.get("/quality-docs/").text
        assert "户籍人口信息" in listing
        assert 'href="/quality-docs/index.html"' in listing  # the index across datasets
        assert "数据质量检查总览" in client.get("/quality-docs/index.html").text
        catalog = client.get("/catalog/")
        assert catalog.status_code == 200 and "户籍人口信息" in catalog.text
        assert client.get("/catalog/catalog.json").headers["content-type"] == "application/json"
        for path in (
            "/quality-docs/%2e%2e/%2e%2e/zones/platform.sqlite",
            "/quality-docs/..%2f..%2fsecrets%2fpseudonym.key",
            "/quality-docs/household_registration/leak/pseudonym.key",
            "/quality-docs/household_registration/%00index.html",
            "/catalog/..%2f..%2fzones%2fplatform.sqlite",
            "/catalog/%2e%2e/%2e%2e/secrets/portal_session.key",
            "/catalog/.hidden.json",
            "/catalog/v0001/../../../ground_truth/manifest.json",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "页面不存在" in response.text


def test_supervision_reports_over_http(portal_data):
    folder = portal_data.settings.reports_dir / "supervision" / "operator" / "2026-10"
    folder.mkdir(parents=True)
    (folder / "operator_report.html").write_text("<h1>运营报告 2026-10</h1>", encoding="utf-8")
    openpyxl.Workbook().save(folder / "operator_report.xlsx")
    annual = portal_data.settings.reports_dir / "supervision" / "annual" / "2025"
    annual.mkdir(parents=True)
    openpyxl.Workbook().save(annual / "annual_evaluation.xlsx")
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("bureau")
        listing = client.get("/reports/").text
        rows = listing.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
        assert len(rows) == 2
        assert "2026-10" in rows[0] and "授权运营单位运营情况报告（第三十二条）" in rows[0]
        assert 'href="/reports/operator/2026-10/operator_report.html"' in rows[0]
        assert 'href="/reports/operator/2026-10/operator_report.xlsx"' in rows[0]
        assert "2025" in rows[1] and "年度评价数据（第三十三条）" in rows[1]
        xlsx = client.get("/reports/annual/2025/annual_evaluation.xlsx")
        assert xlsx.status_code == 200
        assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active is not None
        report = client.get("/reports/operator/2026-10/operator_report.html")
        assert report.status_code == 200 and "运营报告 2026-10" in report.text
        assert "sandbox" in report.headers["content-security-policy"]
        assert client.get("/reports/%2e%2e/%2e%2e/secrets/portal_session.key").status_code == 404
        browser.sign_in("clerk")
        assert client.get("/reports/operator/2026-10/operator_report.html").status_code == 403


def test_security_headers_and_session_cookie(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        page = client.get("/login")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()
    secure = portal_data.settings.model_copy(update={"portal_secure_cookies": True})
    from starlette.testclient import TestClient

    with TestClient(create_app(secure), base_url="https://testserver") as client:
        assert "; secure" in client.get("/login").headers["set-cookie"].lower()


def test_error_pages_are_chinese(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("clerk")
        missing = client.get("/no/such/page")
        assert missing.status_code == 404 and "页面不存在" in missing.text
        refused = client.get("/lineage")
        assert refused.status_code == 403 and "无权访问" in refused.text
        assert "查看数据血缘" in refused.text  # the accounts' reason names the action
        wrong_method = client.put("/tickets")
        assert wrong_method.status_code == 405 and "不支持" in wrong_method.text


def test_sign_in_failures_are_limited(portal_data):
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        for _ in range(5):
            response = client.post(
                "/login",
                data={"csrf_token": browser.token(), "name": "t_bureau", "password": "wrong"},
            )
            assert response.status_code == 401 and "账号或口令不正确" in response.text
        blocked = client.post(
            "/login",
            data={
                "csrf_token": browser.token(),
                "name": "t_bureau",
                "password": "portal-test-口令-2026",
            },
        )
        assert blocked.status_code == 429
        assert client.get("/", follow_redirects=False).status_code == 303


def test_no_page_loads_anything_from_outside(portal_data):
    tickets = portal_data.tickets
    pages = {
        None: ["/login", "/no/such/page"],
        "bureau": [
            "/",
            "/tickets",
            f"/tickets/{tickets['own']}",
            "/tickets/report",
            "/lineage",
            *[f"/lineage/{d}" for d in _datasets()],
            "/quality-docs/",
            "/supply",
            "/merchants",
            "/catalog/",
        ],
        "clerk": ["/", "/tickets", f"/tickets/{tickets['own']}", "/deliveries/upload", "/x"],
        "review": ["/merchant/register", "/merchants", "/applications"],
        "applicant": ["/applications", f"/applications/{tickets['application']}"],
    }
    dagster = portal_data.settings.dagster_ui_url
    outside: list[str] = []
    for who, paths in pages.items():
        browser = portal_client(portal_data.settings)
        with browser.client as client:
            if who:
                browser.sign_in(who)
            for path in paths:
                response = client.get(path)
                assert response.status_code in (200, 404), path
                assert "default-src 'self'" in response.headers["content-security-policy"]
                for tag, attribute, value in links(response.text):
                    navigation = tag == "a" and attribute == "href"
                    if is_local(value) or (navigation and (value + "/").startswith(dagster + "/")):
                        continue
                    outside.append(f"{path}: <{tag} {attribute}={value}>")
            css = client.get("/static/portal.css").text
            assert "url(" not in css and "@import" not in css
    assert not outside, outside


def _datasets() -> list[str]:
    from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog

    return sorted(load_catalog(SHIPPED_CATALOG_DIR))
