"""Issue 12 / issue 11: Data Docs that work on an intranet. Real Data Docs, built from real validations,
load nothing from outside the site (no ``src``/``href``/``url(...)``/``@import`` pointing out, in any
page or style sheet), every file they refer to is there, the vendored files are exactly the ones GE's
templates ask for, and a site that would load from outside is refused."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import great_expectations
import pytest

from assets.quality.data_docs import UnsafeDataDocs, _check_site, build_data_docs, validation_page
from assets.quality.docs_offline import (
    GE_IMAGE_FILES,
    GE_IMAGES,
    SITE_VENDOR,
    VENDOR_DIR,
    VENDORED,
    external_references,
    file_references,
    is_external,
)
from assets.quality.validation import QualityValidator, ValidationOutcome
from tests.quality_frames import clean_frame, run

GE_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
# what a delivered value may look like: it reaches the pages as text, never as a reference
URL_VALUE = '<link rel="stylesheet" href="https://cdn.example.org/x.css">'
# the links GE's inline scripts hand to bootstrap-table (the index's results list)
_SCRIPT_LINKS = re.compile(r"'_table_row_link_path': '([^']*)'|href=\"([^\"]*)\"")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[ValidationOutcome]]:
    validator = QualityValidator()
    root = tmp_path_factory.mktemp("docs")
    frame = clean_frame("medical_institutions")
    frame.loc[0, "grade"] = URL_VALUE
    outcomes = [
        run(validator, frame, "medical_institutions"),
        run(validator, clean_frame("household_registration"), "household_registration"),
    ]
    for outcome in outcomes:
        build_data_docs([outcome], root / outcome.dataset_id)
    return root, outcomes


def _site_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file()]


def _local_target(source: Path, url: str) -> Path | None:
    """The file a local reference names (None for a same-page anchor or inline data)."""
    if url.startswith("#") or url.lower().startswith("data:") or not url:
        return None
    path = unquote(urlsplit(url).path)
    return (source.parent / path).resolve() if path else None


def test_no_data_docs_file_loads_or_links_anything_outside(built):
    root, outcomes = built
    files = _site_files(root)
    pages = [p for p in files if p.suffix == ".html"]
    sheets = [p for p in files if p.suffix == ".css"]
    assert len(pages) == 3 * len(outcomes)  # index, suite, validation per site
    assert len(sheets) >= 8  # GE's own and the vendored style sheets
    references = 0
    for path in pages + sheets:
        found = file_references(path)
        references += len(found)
        outside = [(where, url) for where, url in found if is_external(url)]
        assert outside == [], (path, outside)
    assert references > 100
    for site in (root / o.dataset_id for o in outcomes):
        assert external_references(site) == []
        text = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
        for url in (*VENDORED, "great-expectations-web-assets", "greatexpectations.io"):
            assert url not in text


def test_every_file_a_page_or_style_sheet_refers_to_is_there(built):
    root, outcomes = built
    checked = 0
    for path in _site_files(root):
        if path.suffix not in (".html", ".css"):
            continue
        site = root / path.relative_to(root).parts[0]
        references = [url for _, url in file_references(path)]
        if path.suffix == ".html":  # the results list's links, which GE's scripts render
            text = path.read_text(encoding="utf-8")
            references += [a or b for a, b in _SCRIPT_LINKS.findall(text)]
        for url in references:
            target = _local_target(path, url)
            if target is None:
                continue
            assert target.is_file(), (path.relative_to(root), url)
            assert target.is_relative_to(site.resolve()), (path.relative_to(root), url)
            checked += 1
    assert checked > 100


def test_every_page_has_a_favicon_that_is_there(built):
    root, outcomes = built
    for outcome in outcomes:
        site = root / outcome.dataset_id
        page = validation_page(outcome, site)
        for path in (site / "index.html", page, *site.glob("expectations/*.html")):
            icons = [
                url
                for where, url in file_references(path)
                if where == "<link href>" and "ico" in url
            ]
            assert len(icons) == 1, path
            assert _local_target(path, icons[0]) == (site / "static/images/favicon.ico").resolve()
            assert (site / "static/images/favicon.ico").is_file()


def test_a_value_that_looks_like_a_reference_stays_text(built):
    root, outcomes = built
    page = validation_page(outcomes[0], root / "medical_institutions")
    html = page.read_text(encoding="utf-8")
    assert "cdn.example.org" in html  # shown to the reader...
    assert "<link rel" not in html.split("</head>", 1)[1]  # ...as text, never as markup


def test_the_vendored_files_are_what_ge_templates_ask_for():
    """Every URL GE's templates load is vendored (a GE upgrade that adds one fails here, not on an
    intranet), with the same bytes the CDN serves where GE pins them with an integrity hash."""
    templates = "".join(p.read_text(encoding="utf-8") for p in GE_TEMPLATES.glob("*.j2"))
    loaded = set(
        re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=\"(https?://[^\"{]+)\"", templates)
    )
    assert loaded == set(VENDORED)
    for url, integrity in re.findall(
        r"src=\"(https?://[^\"]+)\" integrity=\"(sha384-[^\"]+)\"", templates
    ):
        digest = hashlib.sha384((VENDOR_DIR / VENDORED[url]).read_bytes()).digest()
        assert f"sha384-{base64.b64encode(digest).decode()}" == integrity, url
    assert "great-expectations-web-assets" in templates  # GE's logo, mapped to its local copy
    assert set(GE_IMAGE_FILES) >= {"logo-long.png", "full_logo_dark.png"}
    assert GE_IMAGES.fullmatch(
        "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1"
    )


def test_each_vendored_package_carries_its_licence():
    packages = sorted(d for d in VENDOR_DIR.iterdir() if d.is_dir())
    assert len(packages) == 11
    for package in packages:
        assert list(package.glob("LICENSE*")), package.name
    used = {Path(f).parts[0] for f in VENDORED.values()}
    assert used == {p.name for p in packages}  # nothing vendored that no page uses


@pytest.mark.parametrize(
    "page, name",
    [
        ('<link rel="stylesheet" href="https://cdn.example.org/x.css">', "index.html"),
        ('<script src="//cdn.example.org/x.js"></script>', "index.html"),
        ("<style>@import 'https://cdn.example.org/x.css';</style>", "index.html"),
        ('<div style="background: url(http://cdn.example.org/x.png)"></div>', "index.html"),
        ('<img srcset="a.png 1x, https://cdn.example.org/b.png 2x">', "index.html"),
        ('<a href="https://example.org/">x</a>', "index.html"),
        (".x { background: url('https://cdn.example.org/x.png') }", "static/styles/x.css"),
    ],
)
def test_a_site_that_loads_from_outside_is_refused(tmp_path, page, name):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(f"<html><head></head><body>{page}</body></html>")
    with pytest.raises(UnsafeDataDocs, match="站外|非模板脚本"):
        _check_site(tmp_path)


def test_a_site_with_only_local_references_passes_the_check(tmp_path):
    (tmp_path / "index.html").write_text(
        f'<html><head><script src="{SITE_VENDOR.as_posix()}/jquery-3.7.1/jquery.min.js"></script>'
        '<link rel="stylesheet" href="static/a.css"></head>'
        '<body><a href="#top">top</a><img src="data:image/png;base64,AA=="></body></html>'
    )
    _check_site(tmp_path)


@pytest.mark.slow
def test_the_pages_work_from_disk_in_chromium_with_the_network_cut_off(built):
    """Opened as files (a copy on a laptop, an intranet share), with every non-file request
    refused: the index's results list is rendered (bootstrap-table), the validation page's
    pass/fail icons have their font."""
    from tests.browser import chromium, fenced_context

    root, outcomes = built
    site = root / outcomes[0].dataset_id
    refused: list[str] = []
    failed: list[str] = []

    with chromium() as browser:
        page = fenced_context(browser, "file://", refused).new_page()
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto((site / "index.html").as_uri())
        rows = page.locator("table.ge-index-page-validation-results-table tbody tr")
        rows.first.wait_for()
        assert rows.count() == 1 and outcomes[0].dataset_id in rows.first.inner_text()
        assert not outcomes[0].success and rows.first.locator("i.fa-times").count() == 1

        page.goto(validation_page(outcomes[0], site).as_uri())
        assert page.locator("table tbody tr").count() > 5
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
        icon = page.locator("i.fa-check-circle").first.bounding_box()
        assert icon is not None and icon["width"] > 0
    assert refused == [] and failed == [], (refused, failed)
