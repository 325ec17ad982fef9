"""The desensitization plan of a dataset (脱敏计划): what is done to each column — decided from the
catalog, the classification and the policy alone — and, over all the dataset's rows, the
generalization level of every quasi-identifier and which rows k-anonymity keeps. Applying the plan
(``desensitize.apply_plan``) works row by row, so a dataset can be desensitized a chunk at a time
with the same outcome as all at once; only the quasi-identifier columns are needed whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.city import City, load_city
from assets.common.pii import FORMAT_PII
from assets.desensitization.generalize import Hierarchy, hierarchy_for
from assets.desensitization.kanonymity import enforce_k_anonymity
from assets.desensitization.policy import Action, DesensitizationPolicy

Transformation = Literal["masked", "pseudonymized", "generalized", "kept", "suppressed"]


class ProhibitedDatasetError(ValueError):
    """第四条: a 禁止开放 resource is never prepared for the operation platform."""


def effective_pii(item: CatalogItem, detected: Mapping[str, str] | None) -> str | None:
    """The column's personal-data type: declared, else detected, else implied by its format."""
    if item.pii:
        return item.pii
    found = (detected or {}).get(item.column)
    if found and found != "none":
        return found
    return FORMAT_PII.get(item.format or "")


@dataclass(frozen=True)
class ColumnPlan:
    """What desensitization does to one governed column; decided from the catalog, the
    classification and the policy alone, never from the values."""

    item: CatalogItem
    pii: str | None
    level: str
    action: Action
    # suppress | mask | pseudonymize | hierarchy (k-anonymity) | generalize | mobiles | keep
    kind: str

    @property
    def column(self) -> str:
        return self.item.column


def plan_columns(
    entry: CatalogEntry,
    columns: Sequence[str],
    *,
    levels: Mapping[str, str] | None,
    policy: DesensitizationPolicy,
    detected: Mapping[str, str] | None = None,
) -> list[ColumnPlan]:
    """Per catalog column present in ``columns``, in catalog order, what desensitization does."""
    present = set(columns)
    plans: list[ColumnPlan] = []
    for item in entry.items:
        if item.column not in present:
            continue
        pii = effective_pii(item, detected)
        level = (levels or {}).get(item.column) or policy.level_of(item, pii)
        action = policy.action_for(level=level, pii=pii)
        if action in ("suppress", "mask", "pseudonymize"):
            kind = str(action)
        elif item.quasi_identifier or (action == "generalize" and pii == "address"):
            kind = "hierarchy"
        elif action == "generalize":
            kind = "generalize"
        elif item.format == "phone" and pii is None:
            kind = "mobiles"
        else:
            kind = "keep"
        plans.append(ColumnPlan(item, pii, level, action, kind))
    return plans


def plan_inputs(plans: Sequence[ColumnPlan], columns: Sequence[str]) -> list[str]:
    """The governed columns k-anonymity reads over the whole dataset: the quasi-identifiers (and the
    county, which addresses and townships generalize to)."""
    needed = [p.column for p in plans if p.kind == "hierarchy"]
    if needed and "county_code" in columns:
        needed.append("county_code")
    return needed


@dataclass(frozen=True)
class DesensitizationPlan:
    """Desensitization of one dataset decided over all its rows: the column actions, the
    generalization level of every quasi-identifier and which rows k-anonymity keeps. Applying it
    (``apply_plan``) is row by row, so it may be applied to the rows in chunks."""

    entry: CatalogEntry
    columns: tuple[ColumnPlan, ...]
    policy: DesensitizationPolicy
    key: bytes
    city: City
    rows_in: int
    kept: np.ndarray  # bool per governed row, in order
    hierarchy_levels: Mapping[str, int]
    level_names: Mapping[str, str]
    k: int | None
    suppressed: int


def hierarchy_of(
    plan: ColumnPlan, source: pd.DataFrame, entry: CatalogEntry, policy, city: City
) -> Hierarchy:
    gen = policy.generalization
    return hierarchy_for(
        source,
        entry,
        plan.item,
        pii=plan.pii,
        generalize=plan.action == "generalize",
        city=city,
        date_step=gen.date,
        year_bands=gen.year_bands,
        amount_bands=gen.amount_bands,
    )


def plan_desensitization(
    frame: pd.DataFrame,
    entry: CatalogEntry,
    *,
    columns: Sequence[str] | None = None,
    levels: Mapping[str, str] | None,
    policy: DesensitizationPolicy,
    key: bytes,
    detected: Mapping[str, str] | None = None,
    city: City | None = None,
) -> DesensitizationPlan:
    """Decide the desensitization of a governed dataset. ``frame`` holds every row of it, with at
    least the columns ``plan_inputs`` names; ``columns`` are all the governed columns (default: the
    frame's). Arguments as for ``desensitize``."""
    if entry.is_prohibited:
        raise ProhibitedDatasetError(
            f"{entry.title}（{entry.dataset_id}）开放属性为禁止开放，不得进入运营平台"
        )
    city = city or load_city()
    source = frame.reset_index(drop=True)
    plans = plan_columns(
        entry,
        list(columns) if columns is not None else [str(c) for c in source.columns],
        levels=levels,
        policy=policy,
        detected=detected,
    )
    hierarchies = [
        hierarchy_of(p, source, entry, policy, city) for p in plans if p.kind == "hierarchy"
    ]
    result = enforce_k_anonymity(
        hierarchies,
        n_rows=len(source),
        index=source.index,
        k=policy.k_threshold,
        max_suppression_rate=policy.max_suppression_rate,
    )
    return DesensitizationPlan(
        entry=entry,
        columns=tuple(plans),
        policy=policy,
        key=key,
        city=city,
        rows_in=len(source),
        kept=np.asarray(result.kept, dtype=bool),
        hierarchy_levels=MappingProxyType(dict(result.levels)),
        level_names=MappingProxyType(dict(result.level_names)),
        k=result.k,
        suppressed=result.suppressed,
    )
