"""Reading a suite file whole, or not at all.

Great Expectations builds a suite from JSON by looking each expectation's ``type`` up in its
registry; a type nobody registered is logged as an error and *dropped*, and the suite that comes
back silently checks less (without the project's custom expectations: 28 of 132 rules). Here every
type is looked up first, and a suite that cannot be built whole is an error naming the missing
types; a suite that comes back shorter than its file is an error too.

This module registers nothing itself (so a test can load suites in an interpreter where the custom
expectations are not registered); ``assets.quality.suites`` imports ``assets.quality.expectations``
before it loads anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.expectations.registry import list_registered_expectation_implementations

CUSTOM_EXPECTATIONS_MODULE = "assets.quality.expectations"


class SuiteLoadError(ValueError):
    """A suite file that cannot be loaded whole; says which file and which expectation types."""

    def __init__(self, path: Path, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.missing = missing


def suite_types(raw: dict[str, Any]) -> list[str]:
    return [str(expectation.get("type")) for expectation in raw.get("expectations", [])]


def unregistered_types(raw: dict[str, Any]) -> tuple[str, ...]:
    """Expectation types the suite uses that GX's registry does not hold, sorted."""
    registered = set(list_registered_expectation_implementations())
    return tuple(sorted(set(suite_types(raw)) - registered))


def load_suite_file(path: Path) -> gx.ExpectationSuite:
    """The suite in ``path`` with every one of its expectations, or :class:`SuiteLoadError`."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteLoadError(path, f"质量规则文件不是有效的 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise SuiteLoadError(path, "质量规则文件应为 JSON 对象")
    missing = unregistered_types(raw)
    if missing:
        raise SuiteLoadError(
            path,
            f"质量规则使用了未注册的期望类型: {', '.join(missing)}"
            f"（先 import {CUSTOM_EXPECTATIONS_MODULE} 注册本项目的自定义期望）",
            missing,
        )
    suite = gx.ExpectationSuite(**raw)
    expected = len(suite_types(raw))
    if len(suite.expectations) != expected:
        raise SuiteLoadError(
            path,
            f"质量规则只载入了 {len(suite.expectations)} / {expected} 条，文件中有无法构建的规则",
        )
    return suite
