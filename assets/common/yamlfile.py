"""Reading a YAML document into a pydantic model, with errors that name the file and say why (in
Chinese): the catalog entries, the classification scheme and the desensitization policy all load so."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(
    path: Path, model: type[M], *, what: str, error: type[ValueError] = ValueError
) -> M:
    """``model`` validated from the YAML mapping in ``path``; ``error`` (naming the file and ``what``
    it should hold) when it cannot be read, is not a mapping or does not validate."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path.name}: 无法读取{what}: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{path.name}: {what}应为 YAML 映射")
    try:
        return model.model_validate(raw)
    except ValueError as exc:
        raise error(f"{path.name}: {exc}") from exc
