"""The caches keyed by code — governance's slice cache (``governance/slice_cache.py``) and the publish's
county carry (``operation/carry.py``) — name the source files whose change must invalidate them
(``CODE_MODULES``). Code moved out of a listed module into a new one (as the identifiers' check
characters moved to ``common/check_chars.py``) would leave stale entries valid: so every module that a
listed one imports at run time is listed too, or is named below as not deciding the cached output."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assets.governance import slice_cache
from assets.operation import carry

ASSETS = Path(__file__).resolve().parents[1] / "assets"

# imported by the listed modules for what they do besides computing the cached rows
_PLUMBING = {
    "common/files.py",  # owner-only files, the sources digest itself
    "common/collector.py",
    "common/yamlfile.py",
    "storage/metadata.py",
    "storage/arrow_read.py",
    "storage/tables_authorization.py",
    "storage/tables_exports.py",
    "storage/tables_security.py",
    "storage/tables_workspace.py",
    "governance/records.py",  # the governed file's reading and writing, not its rows
    "landing/rejections.py",
}
NOT_DECIDING = {
    slice_cache: _PLUMBING
    | {
        "common/pii.py",
        "common/hashchain.py",
        "audit/log.py",
        "exchange/stamps.py",  # the slices' stamps are part of each entry's key
        "storage/dependents.py",  # the exchange layout's identifier quoting (its DDL)
        # the ingest's records and statuses, imported for the exchange slices' provenance
        "aggregation/holds.py",
        "aggregation/ingest.py",
        "aggregation/statuses.py",
        "landing/csv_file.py",
        "landing/limits.py",
        "landing/parsed.py",
        "landing/paths.py",
        # a read made ahead is the read made (tests/test_read_ahead.py)
        "landing/ahead_reads.py",
        "landing/read_ahead.py",
        "landing/reader.py",
        "landing/xls_limits.py",
        "landing/xlsx_file.py",
    },
    carry: _PLUMBING
    | {
        # the catalog entry and the city are part of the plan's fingerprint; governance's own code
        # decides the governed rows, whose slices' digests are in each county's key
        "common/catalog.py",
        "common/city.py",
        "common/pii.py",
        "common/reference.py",
        "landing/excel_numbers.py",
        # the leak scan (its detectors, and its read of the zone for the carried counties' rows)
        # judges the published rows after each publish, carried rows too: it decides no row
        "classification/detectors.py",
        "classification/hints.py",
        "classification/normalize.py",
        "operation/zone_scan.py",
        "storage/dependents.py",
        "storage/engine.py",
        "storage/tables.py",
        # the exchange's layout, imported with the governed slices' records (their row counts)
        "storage/exchange_layout.py",
    },
}


def _imported(relative: str) -> set[str]:
    """The modules of ``assets`` that ``relative`` imports when it runs (not under TYPE_CHECKING)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assets."):
                package = node.module.removeprefix("assets.").replace(".", "/")
                for alias in node.names:  # `from assets.x import module` or a name of x
                    module = f"{package}/{alias.name}.py"
                    found.add(module if (ASSETS / module).exists() else f"{package}.py")
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix("assets.").replace(".", "/") + ".py"
                    for a in node.names
                    if a.name.startswith("assets.")
                )
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)

    visit(ast.parse((ASSETS / relative).read_text(encoding="utf-8")).body)
    return {module for module in found if (ASSETS / module).exists()}


@pytest.mark.parametrize("cache", [slice_cache, carry], ids=["slice_cache", "carry"])
def test_every_module_the_cached_code_runs_is_in_its_version(cache):
    listed = set(cache.CODE_MODULES)
    assert all((ASSETS / module).exists() for module in listed), sorted(listed)
    reached, todo = set(), list(listed)
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += _imported(module)
    assert reached - listed - NOT_DECIDING[cache] == set()
    assert NOT_DECIDING[cache] <= reached - listed  # no stale entry here either
