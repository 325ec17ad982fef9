"""Statistical disclosure control of results leaving the platform, as trusted research environments
do it (SACRO; its Python package ``acro`` is the reference and ``tests/test_exports_sdc.py`` checks
that these rules flag exactly the cells ``acro`` flags on the same microdata).

Aggregates, per cell, from the microdata behind it (one row per contributing record):

- frequency: fewer contributors than the threshold (acro ``safe_threshold``, default 10);
- N-K dominance: the largest N contributions make up K or more of the cell total (acro ``safe_nk_n``
  2, ``safe_nk_k`` 0.9);
- p-ratio: what is left after the two largest contributions is less than p × the largest, so a
  contributor could estimate another's value closely (acro ``safe_pratio_p`` 0.1);
- negative contributions (dominance undefined), missing values and MIN/MAX (each one contributor's
  value) are noted for the human checker, as acro's "review" status.

Record-level results must be k-anonymous over their quasi-identifiers (the platform's k).

Both can instead suppress what fails (cells emptied, rows of small classes removed), each suppression
with its reason, so the rest can go. Rules are vectorized pandas: one groupby per rule, whatever the
number of cells. Reasons name the cell by its key values (masked of digit runs), never a contribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.common.masking import mask_digit_runs
from assets.desensitization.kanonymity import class_sizes
from assets.exports.lineage import AggregateShape

DOMINANCE_FUNCTIONS = ("sum", "avg")
SINGLE_VALUE_FUNCTIONS = ("min", "max")
MISSING = "（空）"


@dataclass(frozen=True)
class Thresholds:
    frequency: int = 10
    nk_n: int = 2
    nk_k: float = 0.90
    p_ratio: float = 0.10
    k: int = 5


@dataclass
class Finding:
    rule: str  # frequency | nk_dominance | p_ratio | k_anonymity
    cell: str  # the cell or class, in words
    column: str | None
    reason: str


@dataclass
class SdcOutcome:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: int = 0
    suppressed: list[Finding] = field(default_factory=list)  # suppressed instead of refused
    frame: pd.DataFrame | None = None  # the result after suppression

    @property
    def passed(self) -> bool:
        return not self.findings


def _text(values: pd.Series) -> pd.Series:
    return mask_digit_runs(values.astype("string").fillna(MISSING)).fillna(MISSING)


def _label(keys: Sequence[str], names: Mapping[str, str], row: pd.Series) -> str:
    if not keys:
        return "单元格（全部记录）"
    return "单元格（" + "，".join(f"{names.get(k, k)}={row[k]}" for k in keys) + "）"


def cell_statistics(
    micro: pd.DataFrame, keys: Sequence[str], value_columns: Sequence[str]
) -> pd.DataFrame:
    """Per cell: ``n`` and, per value column, ``<col>:total``, ``:top1``, ``:top2`` (sum of the two
    largest), ``:negative`` (count), ``:missing`` (count)."""
    frame = micro.copy()
    cell_keys = list(keys)
    if not cell_keys:
        frame["__cell"] = 0
        cell_keys = ["__cell"]
    for key in cell_keys:
        frame[key] = _text(frame[key])
    stats = frame.groupby(cell_keys, sort=True, dropna=False).size().rename("n").to_frame()
    for column in value_columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        work = frame[cell_keys].assign(__v=values)
        grouped = work.groupby(cell_keys, sort=True, dropna=False)["__v"]
        stats[f"{column}:total"] = grouped.sum(min_count=1)
        stats[f"{column}:negative"] = (
            work.assign(__neg=values < 0).groupby(cell_keys, sort=True, dropna=False)["__neg"].sum()
        )
        stats[f"{column}:missing"] = grouped.size() - grouped.count()
        ranked = work.dropna(subset=["__v"]).sort_values("__v", ascending=False, kind="stable")
        rank = ranked.groupby(cell_keys, sort=False, dropna=False).cumcount()
        top1 = ranked[rank == 0].groupby(cell_keys, dropna=False)["__v"].sum()
        top2 = ranked[rank <= 1].groupby(cell_keys, dropna=False)["__v"].sum()
        stats[f"{column}:top1"] = top1.reindex(stats.index).fillna(0.0)
        stats[f"{column}:top2"] = top2.reindex(stats.index).fillna(0.0)
    return stats.reset_index()


def _topn(stats: pd.DataFrame, column: str, n: int) -> pd.Series:
    """Sum of the n largest contributions (n = 1 or 2 from the statistics kept)."""
    return stats[f"{column}:top1"] if n <= 1 else stats[f"{column}:top2"]


def check_aggregate(
    result: pd.DataFrame,
    micro: pd.DataFrame,
    shape: AggregateShape,
    thresholds: Thresholds,
    *,
    suppress: bool,
) -> SdcOutcome:
    """The cells of ``result`` (an aggregate) checked on their microdata ``micro``."""
    outcome = SdcOutcome()
    output_of_key = {v: k for k, v in shape.key_of_output.items()}
    dominance: list[tuple[str, str]] = []  # (output column, micro value column)
    for output, entries in shape.values.items():
        for function, column in entries:
            if column is None:
                continue
            if function in DOMINANCE_FUNCTIONS:
                dominance.append((output, column))
            elif function in SINGLE_VALUE_FUNCTIONS:
                outcome.notes.append(
                    f"列 {output} 为 {function.upper()}，公布的是单个贡献者的取值，请人工复核"
                )
    stats = cell_statistics(micro, shape.keys, [c for _, c in dominance])
    keys = list(shape.keys) or ["__cell"]
    if shape.mappable and shape.keys and len(result):
        present = pd.DataFrame({key: _text(result[output_of_key[key]]) for key in shape.keys})
        stats = stats.merge(present.drop_duplicates(), on=list(shape.keys), how="right")
        stats["n"] = stats["n"].fillna(0).astype(int)
    outcome.cells = len(stats)
    names = {key: output_of_key.get(key, key) for key in keys}
    failing = pd.Series(False, index=stats.index)

    small = stats["n"] < thresholds.frequency
    for _, row in stats[small].iterrows():
        outcome.findings.append(
            Finding(
                "frequency",
                _label(shape.keys, names, row),
                None,
                f"{_label(shape.keys, names, row)}只有 {int(row['n'])} 个贡献者（记录），"
                f"少于频数阈值 {thresholds.frequency}",
            )
        )
    failing |= small
    for output, column in dominance:
        total = stats[f"{column}:total"].astype(float)
        negative = stats[f"{column}:negative"].fillna(0) > 0
        if negative.any():
            outcome.notes.append(f"列 {output} 有单元格含负值，支配性规则不适用，请人工复核")
        missing = stats[f"{column}:missing"].fillna(0)
        if (missing > 0).any():
            outcome.notes.append(f"列 {output} 有 {int(missing.sum())} 个贡献值为空，计算时被忽略")
        positive = (total > 0) & ~negative
        share = (_topn(stats, column, thresholds.nk_n) / total.where(positive)).fillna(0.0)
        nk = positive & (share >= thresholds.nk_k) & ~small
        top1 = stats[f"{column}:top1"].astype(float)
        rest = total - stats[f"{column}:top2"].astype(float)
        ratio = (rest / top1.where(top1 > 0)).fillna(np.inf)
        pr = positive & (ratio < thresholds.p_ratio) & ~small
        for index, row in stats[nk].iterrows():
            single = float(top1[index] / total[index])
            who, pct = (
                ("1 个贡献者", single)
                if single >= thresholds.nk_k
                else (f"最大的 {thresholds.nk_n} 个贡献者", float(share[index]))
            )
            cell = _label(shape.keys, names, row)
            outcome.findings.append(
                Finding(
                    "nk_dominance",
                    cell,
                    output,
                    f"{cell}的 {output} 由{who}支配：占合计的 {pct:.1%}，"
                    f"达到 N-K 支配阈值（N={thresholds.nk_n}，K={thresholds.nk_k:.0%}）",
                )
            )
        for _, row in stats[pr & ~nk].iterrows():
            cell = _label(shape.keys, names, row)
            outcome.findings.append(
                Finding(
                    "p_ratio",
                    cell,
                    output,
                    f"{cell}的 {output}：除最大的两个贡献外其余合计不到最大贡献的 "
                    f"{thresholds.p_ratio:.0%}（p 比例规则），可据以估算单个贡献者的数值",
                )
            )
        failing |= nk | pr
    if suppress:
        outcome.frame = _suppress_cells(result, stats[failing], shape, output_of_key)
        if outcome.findings and outcome.frame is None:
            outcome.notes.append("单元格键不全在结果列中，无法定位要压制的单元格")
        elif outcome.frame is not None:
            outcome.suppressed, outcome.findings = outcome.findings, []
    else:
        outcome.frame = result
    return outcome


def _suppress_cells(
    result: pd.DataFrame,
    failing: pd.DataFrame,
    shape: AggregateShape,
    output_of_key: Mapping[str, str],
) -> pd.DataFrame | None:
    """The result with every non-key column of the failing cells emptied (acro's suppression)."""
    if failing.empty:
        return result
    if not shape.mappable or not shape.keys:
        return None
    frame = result.copy()
    key_text = pd.DataFrame({key: _text(frame[output_of_key[key]]) for key in shape.keys})
    marks = key_text.merge(
        failing[list(shape.keys)].drop_duplicates().assign(__bad=True),
        on=list(shape.keys),
        how="left",
    )["__bad"].eq(True)
    bad = marks.to_numpy(dtype=bool)
    value_columns = [c for c in frame.columns if c not in shape.key_of_output]
    for column in value_columns:
        frame[column] = frame[column].astype(object).where(~bad, None)
    return frame


def check_records(
    result: pd.DataFrame, quasi_identifiers: Sequence[str], k: int, *, suppress: bool
) -> SdcOutcome:
    """A record-level result: every combination of its quasi-identifiers shared by ≥ k rows."""
    outcome = SdcOutcome(frame=result)
    if not quasi_identifiers or result.empty:
        outcome.notes.append(
            "结果不含准标识符，k-匿名不适用" if not quasi_identifiers else "结果为空"
        )
        return outcome
    text = pd.DataFrame({c: _text(result[c]) for c in quasi_identifiers})
    sizes = class_sizes(text, list(quasi_identifiers))
    small = sizes < k
    outcome.cells = int(text.drop_duplicates().shape[0])
    if not small.any():
        return outcome
    classes = (
        text[small].assign(__n=sizes[small]).drop_duplicates().sort_values("__n", kind="stable")
    )
    columns = "、".join(quasi_identifiers)
    findings = []
    for _, row in classes.iterrows():
        values = "，".join(f"{c}={row[c]}" for c in quasi_identifiers)
        findings.append(
            Finding(
                "k_anonymity",
                f"等价类（{values}）",
                columns,
                f"准标识符（{columns}）取值（{values}）只有 {int(row['__n'])} 条记录，少于 k={k}",
            )
        )
    if suppress:
        outcome.suppressed = findings
        outcome.frame = result.loc[~small].reset_index(drop=True)
        outcome.notes.append(f"压制了 {int(small.sum())} 条记录（所在等价类小于 k={k}）")
    else:
        outcome.findings = findings
    return outcome
