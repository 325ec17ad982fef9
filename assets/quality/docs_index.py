"""The index across all datasets' Data Docs, in Chinese: ``<data dir>/quality/data_docs/index.html``
lists, for every dataset, each county's latest checked period — rows, rules passed / failed / not
run, the verdict — linking to that validation's page and to the dataset's own GE site. A plain page
(no script, nothing loaded from anywhere), so it opens from the portal and from disk alike."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from assets.common.documents import html_environment
from assets.common.files import create_private_file
from assets.common.workdays import CHINA_TZ
from assets.quality.data_docs import validation_page
from assets.quality.validation import ValidationOutcome

INDEX_NAME = "index.html"
_TEMPLATES = html_environment(Path(__file__).parent / "templates")


@dataclass(frozen=True)
class IndexRow:
    county: str
    period: str
    validated_at: str
    row_count: int
    rules: int
    passed: int
    failed: int
    errors: int
    success: bool
    page: str | None


@dataclass(frozen=True)
class IndexDataset:
    dataset_id: str
    title: str
    site: str
    rows: tuple[IndexRow, ...]


def _row(outcome: ValidationOutcome, root: Path, county_name: Callable[[str], str]) -> IndexRow:
    page = validation_page(outcome, root / outcome.dataset_id)
    errors = sum(1 for e in outcome.expectations if e.error is not None)
    passed = sum(1 for e in outcome.expectations if e.success)
    return IndexRow(
        county=county_name(outcome.county_code),
        period=outcome.period or "全部",
        validated_at=outcome.validated_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
        row_count=outcome.row_count,
        rules=len(outcome.expectations),
        passed=passed,
        failed=len(outcome.expectations) - passed - errors,
        errors=errors,
        success=outcome.success,
        page=page.relative_to(root).as_posix() if page.exists() else None,
    )


def write_docs_index(
    latest: Iterable[ValidationOutcome],
    root: Path,
    *,
    titles: Mapping[str, str],
    county_name: Callable[[str], str] = str,
) -> Path:
    """Write ``root/index.html`` from each dataset's county-latest validations (``latest``: one per
    dataset × county); returns its path. The page is replaced atomically."""
    by_dataset: dict[str, list[ValidationOutcome]] = {}
    for outcome in latest:
        by_dataset.setdefault(outcome.dataset_id, []).append(outcome)
    datasets = [
        IndexDataset(
            dataset_id=dataset_id,
            title=titles.get(dataset_id, dataset_id),
            site=f"{dataset_id}/index.html",
            rows=tuple(
                _row(o, root, county_name) for o in sorted(outcomes, key=lambda o: o.county_code)
            ),
        )
        for dataset_id, outcomes in sorted(by_dataset.items())
    ]
    html = _TEMPLATES.get_template("docs_index.html.j2").render(
        datasets=datasets,
        checks=sum(len(d.rows) for d in datasets),
        failing=sum(1 for d in datasets for r in d.rows if not r.success),
    )
    path = Path(root) / INDEX_NAME
    partial = create_private_file(path.with_name(f".{path.name}.{os.getpid()}.part"))
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    return path
