"""Great Expectations Data Docs of the quality results: one site per dataset, rebuilt from each
partition's latest scrubbed result, with every delivered value escaped before GE renders it, every
script, style and font GE's pages take from CDNs replaced by a vendored copy (``docs_offline``), and
any page holding a script GE's own templates do not produce, or loading anything from outside the
site, refused."""

from __future__ import annotations

import copy
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from assets.common.documents import escape_html, script_injections
from assets.common.files import make_private, private_dir
from assets.quality.docs_offline import SITE_VENDOR, VENDORED, external_references, make_offline
from assets.quality.docs_views import SITE_INDEX_BUILDER, SITE_SECTION_BUILDERS
from assets.quality.suites import SUITES_DIR, load_suite
from assets.quality.validation import (
    DOCS_SITE,
    ValidationOutcome,
    _ephemeral_context,
    _run_name,
    _safe_id,
)

# What GE's own page templates put in a page: its inline scripts begin with these, its buttons call
# these handlers, its libraries are the vendored scripts (:func:`own_scripts`). Anything else came
# from a value.
GE_INLINE_SCRIPTS = ("function rowStyleLinks(", "$('#section-", "function showAllValidations(")
GE_HANDLERS = re.compile(
    r"clearTableFilters\('[\w-]+'\)|showAllValidations\(\)|hideSucceededValidations\(\)"
)
VENDORED_SCRIPTS = tuple(sorted(f for f in VENDORED.values() if f.endswith(".js")))


def own_scripts(page: Path, site: Path) -> tuple[str, ...]:
    """The ``src`` of each vendored script as a page of ``site`` names it (relative)."""
    vendor = Path(os.path.relpath(site / SITE_VENDOR, page.parent)).as_posix()
    return tuple(f"{vendor}/{name}" for name in VENDORED_SCRIPTS)


class UnsafeDataDocs(ValueError):
    """A built Data Docs page holds script-bearing markup GE's templates do not produce."""


def _escaped(tree: Any) -> Any:
    """Every string in a GE result structure, HTML-escaped (GE renders values as markup)."""
    if isinstance(tree, str):
        return escape_html(tree)
    if isinstance(tree, Mapping):
        return {key: _escaped(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [_escaped(value) for value in tree]
    return tree


def _for_html(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """A copy of a validation result whose values are escaped for GE's HTML renderer: examples,
    observed values and error messages come from what a department delivered."""
    safe = copy.deepcopy(result)
    for item in safe.results:
        if isinstance(item.result, Mapping):
            item.result = _escaped(item.result)
        if isinstance(item.exception_info, Mapping):
            item.exception_info = _escaped(item.exception_info)
    return safe


def _check_site(site: Path) -> None:
    """Refuse a built site any of whose pages holds a script GE did not put there, or any of whose
    pages or style sheets loads or links anything from outside the site."""
    for page in sorted(site.rglob("*.html")):
        found = script_injections(
            page.read_text(encoding="utf-8"),
            allowed_handlers=GE_HANDLERS,
            allowed_inline=GE_INLINE_SCRIPTS,
            allowed_sources=own_scripts(page, site),
        )
        if found:
            raise UnsafeDataDocs(
                f"Data Docs 页面 {page.relative_to(site).as_posix()} 含有非模板脚本"
                f"（{'、'.join(sorted(set(found)))}），未发布"
            )
    outside = external_references(site)
    if outside:
        raise UnsafeDataDocs(
            f"Data Docs 引用了站外地址（内网无法访问），未发布：{'；'.join(outside[:5])}"
        )


def _result_identifier(outcome: ValidationOutcome) -> ValidationResultIdentifier:
    period = outcome.period or "all"
    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=outcome.dataset_id),
        run_id=RunIdentifier(
            run_name=_run_name(outcome.county_code, outcome.period), run_time=outcome.validated_at
        ),
        batch_identifier=_safe_id(f"{outcome.dataset_id}-{outcome.county_code}-{period}"),
    )


def validation_page(outcome: ValidationOutcome, site_dir: Path) -> Path:
    """Where :func:`build_data_docs` puts the page of one validation."""
    return site_dir.joinpath("validations", *_result_identifier(outcome).to_tuple()).with_suffix(
        ".html"
    )


def build_data_docs(
    outcomes: Iterable[ValidationOutcome],
    site_dir: Path,
    *,
    suites_dir: Path = SUITES_DIR,
    suites: Mapping[str, Any] | None = None,
    overview: bool = False,
) -> Path:
    """Build GE Data Docs for the latest validation of each partition into ``site_dir``.

    Rendered only from the scrubbed results the outcomes keep, every value HTML-escaped (GE puts
    values into its pages as markup). The site is built beside ``site_dir``, made to load only
    vendored copies of GE's scripts, styles and fonts, checked for scripts GE's templates do not
    produce and for anything loaded or linked from outside (:class:`UnsafeDataDocs`), and swapped
    in whole, so readers never see a half-built or tampered site. With ``overview``, its pages
    link to the index across datasets beside it (:mod:`assets.quality.docs_index`). Returns
    ``index.html``.
    """
    latest: dict[tuple[str, str, str | None], ValidationOutcome] = {}
    for outcome in outcomes:
        key = (outcome.dataset_id, outcome.county_code, outcome.period)
        if key not in latest or outcome.validated_at > latest[key].validated_at:
            latest[key] = outcome

    site_dir = Path(site_dir)
    private_dir(site_dir.parent)
    building = site_dir.with_name(f".{site_dir.name}.building-{uuid.uuid4().hex}")
    context = _ephemeral_context()
    context.add_data_docs_site(
        DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(building),
            },
            # GE's views, each template compiled once per process (docs_views)
            "site_index_builder": SITE_INDEX_BUILDER,
            "site_section_builders": SITE_SECTION_BUILDERS,
        },
    )
    try:
        for dataset_id in sorted({o.dataset_id for o in latest.values()}):
            suite = (suites or {}).get(dataset_id) or load_suite(dataset_id, suites_dir)
            context.suites.add(suite)
        for outcome in latest.values():
            if outcome.ge_object is None:
                raise ValueError(
                    f"{outcome.dataset_id}: 校验结果不含 GE 结果对象，无法生成 Data Docs"
                )
            context.validation_results_store.set(
                _result_identifier(outcome), _for_html(outcome.ge_object)
            )
        context.build_data_docs(site_names=[DOCS_SITE])
        make_offline(building, overview=overview)
        _check_site(building)
        make_private(building)
        _swap_in(building, site_dir)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return site_dir / "index.html"


def _swap_in(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
