"""Reading a YAML document, and a YAML document into a pydantic model, with errors that name the file
and say why (in Chinese): the catalog entries, the city, the classification scheme, the desensitization
policy, the calendars, the export checks and the fees all load so."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# libyaml's loader when PyYAML has it (about ten times faster; the same documents), else Python's
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> object:
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


def read_yaml_mapping(
    path: Path,
    *,
    what: str,
    error: type[ValueError] = ValueError,
    empty_ok: bool = False,
) -> dict[str, Any]:
    """The YAML mapping in ``path``; ``error`` (naming the file and ``what`` it should hold) when it
    cannot be read or is not a mapping. ``empty_ok``: an empty file is an empty mapping."""
    path = Path(path)
    try:
        raw = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path.name}: 无法读取{what}: {exc}") from exc
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{path.name}: {what}应为 YAML 映射")
    return raw


def load_yaml_model(
    path: Path,
    model: type[M],
    *,
    what: str,
    error: type[ValueError] = ValueError,
    empty_ok: bool = False,
) -> M:
    """``model`` validated from the YAML mapping in ``path``; ``error`` (naming the file and ``what``
    it should hold) when it cannot be read, is not a mapping or does not validate."""
    raw = read_yaml_mapping(path, what=what, error=error, empty_ok=empty_ok)
    try:
        return model.model_validate(raw)
    except ValueError as exc:
        raise error(f"{Path(path).name}: {exc}") from exc
