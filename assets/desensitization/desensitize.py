"""Desensitization (脱敏) of a governed dataset for the operation platform.

``desensitize`` is the only way to obtain a ``DesensitizedFrame``; the operation-zone writer accepts
nothing else, so data that skipped this step cannot be published. Per column the policy chooses an
action from the column's sensitivity level and personal-data type; then k-anonymity is enforced over
the quasi-identifiers (the catalog's, plus addresses reduced to townships); provenance that points at
a file row (``source_row``, ``source_file``, ``file_checksum``) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from assets.common.catalog import CatalogEntry, CatalogItem
from assets.common.city import City
from assets.common.identifiers import mobile_valid
from assets.common.masking import mask_generic, mask_phone, mask_series
from assets.common.text import STRING, as_text
from assets.desensitization.generalize import date_text, to_amount_band, to_month, to_year
from assets.desensitization.plan import (
    DesensitizationPlan,
    ProhibitedDatasetError,
    Transformation,
    effective_pii,
    hierarchy_of,
    plan_desensitization,
)
from assets.desensitization.policy import Action, DesensitizationPolicy
from assets.desensitization.pseudonymize import key_id, pseudonymize

# Provenance that identifies a file row; the rest (county, period, department, batch, time) stays.
ROW_IDENTIFYING_PROVENANCE: tuple[str, ...] = ("source_row", "source_file", "file_checksum")


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


def apply_plan(
    plan: DesensitizationPlan, frame: pd.DataFrame, start: int = 0
) -> tuple[pd.DataFrame, dict[str, Transformation]]:
    """Desensitize the governed rows ``start`` … ``start + len(frame) - 1`` by the plan: the rows
    k-anonymity keeps, every column transformed, the row-identifying provenance dropped; and what was
    done to each column (in these rows)."""
    source = frame.reset_index(drop=True)
    if start + len(source) > plan.rows_in:
        raise ValueError("脱敏计划之外的行：治理后数据在计划之后发生了变化")
    out = source.copy()
    transformations: dict[str, Transformation] = {}
    generalized: dict[str, Transformation] = {}
    for p in plan.columns:
        col, item, values = p.column, p.item, source[p.column]
        if p.kind == "suppress":
            out[col] = pd.Series(pd.NA, index=source.index, dtype=STRING)
            transformations[col] = "suppressed"
        elif p.kind == "mask":
            out[col] = _mask(values, item, p.pii)
            transformations[col] = "masked"
        elif p.kind == "pseudonymize":
            out[col] = pseudonymize(_value_text(values, item), plan.key)
            transformations[col] = "pseudonymized"
        elif p.kind == "hierarchy":
            h = hierarchy_of(p, source, plan.entry, plan.policy, plan.city)
            level = plan.hierarchy_levels[col]
            if level == 0 and h.exact_base:
                generalized[col] = "kept"
            else:
                out[col] = h.level(level)
                generalized[col] = "generalized"
        elif p.kind == "generalize":
            out[col], transformations[col] = _generalize_once(values, item, plan.policy, p.level)
        elif p.kind == "mobiles":
            out[col] = _mask_mobiles_only(values)
            transformations[col] = "masked" if mobile_valid(as_text(values)).any() else "kept"
        else:
            transformations[col] = "kept"
    transformations.update(generalized)  # after the others, as the report always listed them
    out = out.loc[plan.kept[start : start + len(source)]].reset_index(drop=True)
    dropped = [c for c in ROW_IDENTIFYING_PROVENANCE if c in out.columns]
    return out.drop(columns=dropped), transformations


def plan_report(
    plan: DesensitizationPlan,
    transformations: Mapping[str, Transformation],
    *,
    rows_in: int,
    rows_out: int,
    suppressed: int,
    dropped: Sequence[str],
) -> DesensitizationReport:
    return DesensitizationReport(
        dataset_id=plan.entry.dataset_id,
        rows_in=rows_in,
        rows_out=rows_out,
        k=plan.k,
        k_threshold=plan.policy.k_threshold,
        suppressed=suppressed,
        quasi_identifiers=tuple(p.column for p in plan.columns if p.kind == "hierarchy"),
        generalization_levels=MappingProxyType(dict(plan.level_names)),
        transformations=MappingProxyType(dict(transformations)),
        actions=MappingProxyType({p.column: p.action for p in plan.columns}),
        levels=MappingProxyType({p.column: p.level for p in plan.columns}),
        dropped_columns=tuple(dropped),
        key_id=key_id(plan.key),
    )


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
    - ``key``: the HMAC-SM3 pseudonymization key (``pseudonym_key.load_key``);
    - ``city``: for addresses → townships and townships → counties (default: config/city.yaml).

    The whole frame at once: ``plan_desensitization`` then ``apply_plan``; ``desensitize_batches``
    does the same a chunk of rows at a time.
    """
    plan = plan_desensitization(
        frame, entry, levels=levels, policy=policy, key=key, detected=detected, city=city
    )
    out, transformations = apply_plan(plan, frame)
    report = plan_report(
        plan,
        transformations,
        rows_in=plan.rows_in,
        rows_out=len(out),
        suppressed=plan.suppressed,
        dropped=[c for c in ROW_IDENTIFYING_PROVENANCE if c in frame.columns],
    )
    return DesensitizedFrame(frame=out, report=report, _token=_CONSTRUCTION_TOKEN)


class DesensitizedBatches:
    """The governed rows of a dataset desensitized by one plan, a chunk at a time: iterating yields a
    ``DesensitizedFrame`` per chunk (the operation-zone writer takes nothing else); ``report`` is
    the whole dataset's once every chunk has been taken. Only ``desensitize_batches`` builds one."""

    def __init__(
        self,
        plan: DesensitizationPlan,
        chunks: Iterable[pd.DataFrame] | Iterable[tuple[int, pd.DataFrame]],
        token: object,
        positioned: bool = False,
    ) -> None:
        if token is not _CONSTRUCTION_TOKEN:
            raise TypeError("DesensitizedBatches 只能由 desensitize_batches() 生成")
        self.plan = plan
        self._chunks = chunks
        self._positioned = positioned
        # what was done to each column in each county's rows (a chunk's counties all get its)
        self.by_county: dict[str, dict[str, Transformation]] = {}
        self._report: DesensitizationReport | None = None
        self._started = False

    @property
    def dataset_id(self) -> str:
        return self.plan.entry.dataset_id

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        return tuple(p.column for p in self.plan.columns if p.kind == "hierarchy")

    @property
    def k_threshold(self) -> int:
        return self.plan.policy.k_threshold

    @property
    def report(self) -> DesensitizationReport:
        if self._report is None:
            raise RuntimeError("脱敏尚未完成：报告在全部行处理之后才有")
        return self._report

    def __iter__(self) -> Iterator[DesensitizedFrame]:
        if self._started:
            raise RuntimeError("脱敏分块只能读取一次")
        self._started = True
        plan, start, rows_out = self.plan, 0, 0
        transformations: dict[str, Transformation] = {}
        dropped: list[str] = []
        for item in self._chunks:
            if self._positioned:  # (first row, rows): only some of the rows, in order
                at, chunk = item
                if at < start:
                    raise ValueError(f"{self.dataset_id}: 脱敏分块的行位置不是递增的")
                start = at
            else:
                chunk = item
            out, done = apply_plan(plan, chunk, start)
            merge_transformations(transformations, done)
            if "county_code" in chunk.columns:
                for county in chunk["county_code"].dropna().unique():
                    merge_transformations(self.by_county.setdefault(str(county), {}), done)
            dropped = [c for c in ROW_IDENTIFYING_PROVENANCE if c in chunk.columns]
            kept = int(plan.kept[start : start + len(chunk)].sum())
            report = plan_report(
                plan,
                done,
                rows_in=len(chunk),
                rows_out=len(out),
                suppressed=len(chunk) - kept,
                dropped=dropped,
            )
            start += len(chunk)
            rows_out += len(out)
            yield DesensitizedFrame(frame=out, report=report, _token=_CONSTRUCTION_TOKEN)
        if self._positioned:  # the rows not given are the caller's to account for
            rows_out = int(plan.kept.sum())
        elif start != plan.rows_in:
            raise ValueError(
                f"{self.dataset_id}: 脱敏计划有 {plan.rows_in} 行，分块共 {start} 行：治理后数据已变化"
            )
        self._report = plan_report(
            plan,
            transformations,
            rows_in=plan.rows_in,
            rows_out=rows_out,
            suppressed=plan.suppressed,
            dropped=dropped,
        )


def merge_transformations(
    into: dict[str, Transformation], done: Mapping[str, Transformation]
) -> dict[str, Transformation]:
    """What was done to each column over rows of which ``into`` and ``done`` each say it for some:
    a column is masked if it is in any of them."""
    for col, what in done.items():
        if into.get(col) != "masked":
            into[col] = what
    return into


def desensitize_batches(
    plan: DesensitizationPlan,
    chunks: Iterable[pd.DataFrame] | Iterable[tuple[int, pd.DataFrame]],
    *,
    positioned: bool = False,
) -> DesensitizedBatches:
    """The governed rows, given in order as ``chunks``, desensitized by ``plan`` chunk by chunk.
    ``positioned``: the chunks are (first row, rows) pairs of some of the rows only, in order (the
    operation publish carries the others over from the published table: ``operation.carry``); the
    report's ``rows_out`` is still the whole dataset's."""
    return DesensitizedBatches(plan, chunks, _CONSTRUCTION_TOKEN, positioned)


__all__ = [
    "DesensitizationPlan",
    "DesensitizationReport",
    "DesensitizedBatches",
    "DesensitizedFrame",
    "ProhibitedDatasetError",
    "apply_plan",
    "desensitize",
    "desensitize_batches",
    "effective_pii",
    "plan_desensitization",
]
