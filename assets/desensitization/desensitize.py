"""Desensitization (脱敏) of a governed dataset for the operation platform.

``desensitize`` is the only way to obtain a ``DesensitizedFrame``; the operation-zone writer accepts
nothing else, so data that skipped this step cannot be published. Per column the policy chooses an
action from the column's sensitivity level and personal-data type; then k-anonymity is enforced over
the quasi-identifiers (the catalog's, plus addresses reduced to townships); provenance that points at
a file row (``source_row``, ``source_file``, ``file_checksum``) is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pandas as pd

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.city import City, load_city
from assets.common.identifiers import mobile_valid
from assets.common.masking import mask_generic, mask_phone, mask_series
from assets.common.pii import FORMAT_PII
from assets.common.text import STRING, as_text
from assets.desensitization.generalize import (
    Hierarchy,
    date_text,
    hierarchy_for,
    to_amount_band,
    to_month,
    to_year,
)
from assets.desensitization.kanonymity import enforce_k_anonymity
from assets.desensitization.policy import Action, DesensitizationPolicy
from assets.desensitization.pseudonymize import key_id, pseudonymize

Transformation = Literal["masked", "pseudonymized", "generalized", "kept", "suppressed"]

# Provenance that identifies a file row; the rest (county, period, department, batch, time) stays.
ROW_IDENTIFYING_PROVENANCE: tuple[str, ...] = ("source_row", "source_file", "file_checksum")


class ProhibitedDatasetError(ValueError):
    """第四条: a 禁止开放 resource is never prepared for the operation platform."""


@dataclass(frozen=True)
class DesensitizationReport:
    """What desensitization did to one dataset; holds no data values."""

    dataset_id: str
    rows_in: int
    rows_out: int
    k: int | None  # smallest published class over the quasi-identifiers; None = not applicable
    k_threshold: int
    suppressed: int  # rows removed to reach k
    quasi_identifiers: tuple[str, ...]
    generalization_levels: Mapping[str, str]
    transformations: Mapping[str, Transformation]
    actions: Mapping[str, Action]
    levels: Mapping[str, str]
    dropped_columns: tuple[str, ...]
    key_id: str

    @property
    def meets_threshold(self) -> bool:
        return self.k is None or self.k >= self.k_threshold

    def as_metadata(self) -> dict[str, object]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "k": self.k,
            "k_threshold": self.k_threshold,
            "suppressed": self.suppressed,
            "quasi_identifiers": list(self.quasi_identifiers),
            "generalization_levels": dict(self.generalization_levels),
            "transformations": dict(self.transformations),
            "key_id": self.key_id,
        }


_CONSTRUCTION_TOKEN = object()


@dataclass(frozen=True)
class DesensitizedFrame:
    """A frame that went through ``desensitize``, with its report. Only ``desensitize`` builds one."""

    frame: pd.DataFrame
    report: DesensitizationReport
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _CONSTRUCTION_TOKEN:
            raise TypeError("DesensitizedFrame 只能由 desensitize() 生成")

    @property
    def dataset_id(self) -> str:
        return self.report.dataset_id


def effective_pii(item: CatalogItem, detected: Mapping[str, str] | None) -> str | None:
    """The column's personal-data type: declared, else detected, else implied by its format."""
    if item.pii:
        return item.pii
    found = (detected or {}).get(item.column)
    if found and found != "none":
        return found
    return FORMAT_PII.get(item.format or "")


# formats whose values are category codes (regions, industries, organisations), not personal data
CATEGORICAL_FORMATS = frozenset({"division_code", "industry_code", "uscc"})


def _value_text(values: pd.Series, item: CatalogItem) -> pd.Series:
    """A column as the text it was delivered as (typed dates back to ISO days)."""
    if item.type == "date":
        return date_text(values)
    return as_text(values)


def _mask(values: pd.Series, item: CatalogItem, pii: str | None) -> pd.Series:
    text = _value_text(values, item)
    if pii:
        return mask_series(text, pii).astype(STRING)
    return mask_generic(text).astype(STRING)


def _generalize_once(
    values: pd.Series, item: CatalogItem, policy: DesensitizationPolicy, level: str
) -> tuple[pd.Series, Transformation]:
    """Generalization of a column outside k-anonymity (not a quasi-identifier)."""
    if item.type == "date":
        step = to_year if policy.generalization.date == "year" else to_month
        return step(values), "generalized"
    if item.type in ("integer", "decimal"):
        return to_amount_band(values, policy.generalization.amount_bands), "generalized"
    if item.enum or item.enum_ref or item.format in CATEGORICAL_FORMATS or level in ("L1", "L2"):
        # a code list is already a generalization: its values name categories, not people; and
        # non-personal internal text (an enterprise's name) is what merchants come for — the
        # blocking leak scan still stops any identifier hiding in it
        return as_text(values).astype(STRING), "kept"
    # free text has no hierarchy: hiding most of it is the only safe generalization
    return mask_generic(as_text(values)).astype(STRING), "masked"


def _mask_mobiles_only(values: pd.Series) -> pd.Series:
    """A landline-or-mobile column: institutions' landlines are public, mobiles are personal."""
    text = as_text(values)
    mobile = mobile_valid(text).to_numpy()
    return text.mask(mobile, mask_phone(text)).astype(STRING)


def desensitize(
    frame: pd.DataFrame,
    entry: CatalogEntry,
    *,
    levels: Mapping[str, str] | None,
    policy: DesensitizationPolicy,
    key: bytes,
    detected: Mapping[str, str] | None = None,
    city: City | None = None,
) -> DesensitizedFrame:
    """Desensitize a governed frame for the operation platform.

    - ``levels``: sensitivity level per column from classification & grading (e.g. ``{"id_number":
      "L4"}``); columns it does not name, or all when None, get the policy's default level;
    - ``detected``: personal-data type per column from detection, used where the catalog declares
      none (so an undeclared phone column is still masked);
    - ``key``: the HMAC-SM3 pseudonymization key (``pseudonymize.load_key``);
    - ``city``: for addresses → townships and townships → counties (default: config/city.yaml).
    """
    if entry.is_prohibited:
        raise ProhibitedDatasetError(
            f"{entry.title}（{entry.dataset_id}）开放属性为禁止开放，不得进入运营平台"
        )
    city = city or load_city()
    source = frame.reset_index(drop=True)
    out = source.copy()
    transformations: dict[str, Transformation] = {}
    actions: dict[str, Action] = {}
    column_levels: dict[str, str] = {}
    hierarchies: list[Hierarchy] = []
    gen = policy.generalization

    for item in entry.items:
        col = item.column
        if col not in source.columns:
            continue
        pii = effective_pii(item, detected)
        level = (levels or {}).get(col) or policy.level_of(item, pii)
        action = policy.action_for(level=level, pii=pii)
        column_levels[col], actions[col] = level, action
        values = source[col]

        if action == "suppress":
            out[col] = pd.Series(pd.NA, index=source.index, dtype=STRING)
            transformations[col] = "suppressed"
        elif action == "mask":
            out[col] = _mask(values, item, pii)
            transformations[col] = "masked"
        elif action == "pseudonymize":
            out[col] = pseudonymize(_value_text(values, item), key)
            transformations[col] = "pseudonymized"
        elif item.quasi_identifier or (action == "generalize" and pii == "address"):
            hierarchies.append(
                hierarchy_for(
                    source,
                    entry,
                    item,
                    pii=pii,
                    generalize=action == "generalize",
                    city=city,
                    date_step=gen.date,
                    year_bands=gen.year_bands,
                    amount_bands=gen.amount_bands,
                )
            )
        elif action == "generalize":
            out[col], transformations[col] = _generalize_once(values, item, policy, level)
        elif item.format == "phone" and pii is None:
            out[col] = _mask_mobiles_only(values)
            transformations[col] = "masked" if mobile_valid(as_text(values)).any() else "kept"
        else:
            transformations[col] = "kept"

    result = enforce_k_anonymity(
        hierarchies,
        n_rows=len(source),
        index=source.index,
        k=policy.k_threshold,
        max_suppression_rate=policy.max_suppression_rate,
    )
    for h in hierarchies:
        level = result.levels[h.column]
        if level == 0 and h.exact_base:
            transformations[h.column] = "kept"
        else:
            out[h.column] = h.level(level)
            transformations[h.column] = "generalized"

    out = out.loc[result.kept].reset_index(drop=True)
    dropped = tuple(c for c in ROW_IDENTIFYING_PROVENANCE if c in out.columns)
    out = out.drop(columns=list(dropped))
    report = DesensitizationReport(
        dataset_id=entry.dataset_id,
        rows_in=len(source),
        rows_out=len(out),
        k=result.k,
        k_threshold=policy.k_threshold,
        suppressed=result.suppressed,
        quasi_identifiers=tuple(h.column for h in hierarchies),
        generalization_levels=MappingProxyType(dict(result.level_names)),
        transformations=MappingProxyType(transformations),
        actions=MappingProxyType(actions),
        levels=MappingProxyType(column_levels),
        dropped_columns=dropped,
        key_id=key_id(key),
    )
    return DesensitizedFrame(frame=out, report=report, _token=_CONSTRUCTION_TOKEN)


__all__ = [
    "DesensitizationReport",
    "DesensitizedFrame",
    "ProhibitedDatasetError",
    "desensitize",
    "effective_pii",
]
