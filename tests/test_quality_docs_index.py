"""The index across all datasets' Data Docs (issue 12): ``<data dir>/quality/data_docs/index.html``, in
Chinese, one row per dataset × county with the latest period's counts, linking to pages that exist,
loading nothing from anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.quality.docs_offline import external_references, file_references
from assets.quality.results import docs_root, docs_site, rebuild_docs, results_dir, save_outcome
from assets.quality.validation import QualityValidator
from tests.quality_frames import COUNTY, OTHER_COUNTY, clean_frame, run

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> tuple[Path, dict]:
    """Three validations of 医疗机构 (中宁县 twice: a failing 2025-04, then 2025-05 with one failing
    rule; 海原县 clean) and one of 户籍人口 (中宁县), stored and built as a check would."""
    validator = QualityValidator()
    data = tmp_path_factory.mktemp("data")
    outcomes = {}

    def check(name, dataset_id, county, period, broken=False):
        frame = clean_frame(dataset_id, county=county)
        frame["period"] = period
        if broken:
            frame.loc[0, "grade"] = "特级"
        outcome = run(validator, frame, dataset_id, county_code=county)
        save_outcome(outcome, results_dir(data), period=period)
        rebuild_docs(results_dir(data), docs_site(data, dataset_id), dataset_id)
        outcomes[name] = outcome

    check("old", "medical_institutions", COUNTY, "2025-04", broken=True)
    check("failing", "medical_institutions", COUNTY, "2025-05", broken=True)
    check("clean", "medical_institutions", OTHER_COUNTY, "2025-05")
    check("household", "household_registration", COUNTY, "2025-05")
    return data, outcomes


def _rows(html: str) -> list[list[str]]:
    body = [tbody for tbody in re.findall(r"<tbody>(.*?)</tbody>", html, re.S)]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        for part in body
        for tr in re.findall(r"<tr>(.*?)</tr>", part, re.S)
    ]


def test_one_row_per_dataset_and_county_with_the_latest_period(home):
    data, outcomes = home
    index = docs_root(data) / "index.html"
    html = index.read_text(encoding="utf-8")
    assert "数据质量检查总览" in html
    for dataset_id in ("medical_institutions", "household_registration"):
        assert CATALOG[dataset_id].title in html
    rows = _rows(html)
    assert len(rows) == 3  # 医疗机构 × 2 counties, 户籍 × 1; the older 2025-04 is not listed
    by_key = {(r[0], r[1]): r for r in rows}
    failing = outcomes["failing"]
    row = by_key[("中宁县（640521）", "2025-05")]
    passed = sum(e.success for e in failing.expectations)
    assert row[3:8] == [
        str(failing.row_count),
        str(len(failing.expectations)),
        str(passed),
        str(len(failing.expectations) - passed),
        "0",
    ]
    assert len(failing.failures) >= 1 and row[8] == "✘ 未通过"
    assert by_key[("海原县（640522）", "2025-05")][8] == "✔ 通过"
    assert "共 2 个数据集、3 项县（区）检查，其中 1 项最近一期未通过" in html
    assert "2025-04" not in html


def test_every_link_of_the_index_leads_to_a_page_that_is_there(home):
    data, outcomes = home
    root = docs_root(data)
    index = root / "index.html"
    links = [url for where, url in file_references(index) if where == "<a href>"]
    assert len(links) == 2 + 3  # each dataset's site, each row's validation page
    for url in links:
        assert (root / url).is_file(), url
    assert any("validations/medical_institutions/county640522-period2025-05" in u for u in links)


def test_the_index_and_the_sites_load_nothing_from_anywhere(home):
    data, _ = home
    root = docs_root(data)
    assert external_references(root) == []
    html = (root / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html
    assert (root / "index.html").stat().st_mode & 0o077 == 0


def test_every_page_of_every_site_links_back_to_the_index(home):
    data, _ = home
    root = docs_root(data)
    pages = [p for p in root.glob("*/**/*.html")]
    assert len(pages) == 2 * 2 + 4  # index and suite page per site, a page per stored validation
    for page in pages:
        back = [
            url
            for where, url in file_references(page)
            if where == "<a href>" and url.endswith("index.html")
        ]
        assert any((page.parent / url).resolve() == (root / "index.html").resolve() for url in back)
        assert "← 数据质量检查总览" in page.read_text(encoding="utf-8")
