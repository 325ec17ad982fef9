"""The automatic checks every export passes before a person looks at it (第二十三条 出域核查, 第二十八条).

Each check is ``{name, passed, reason}``; a failing reason names the column, the cell or the class:

- ``within_application`` — the application is the merchant's, granted (approved or deemed approved),
  today lies in its period, the product's scenario is the application's, and the query reads only
  the application's items;
- ``within_grant`` — the query's lineage (``lineage.analyze``: tables and columns resolved from the
  SQL) stays inside the merchant's live grants; a file's columns named like catalog items must be
  granted items;
- ``no_personal_data`` — the classification detectors over every column: a cleartext ID number,
  mobile or bank card in any cell (check digits verified, decoys ignored), an e-mail address, or a
  column of names or addresses;
- ``not_reversible`` — no pseudonym (HMAC-SM3, 52 base32 characters) or hash-like column, and no
  output column computed row by row from a direct identifier (a pseudonymized ID number, a name …):
  such a column is one-to-one with a published identifier, a join key back to the person;
- ``disclosure_control`` — ``sdc.py``: aggregates by frequency, N-K dominance and p-ratio per cell,
  record-level results by k-anonymity over their quasi-identifiers (or those cells / rows suppressed).

When one of the first two fails the query is not run, and the data checks say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from assets.authorization.applications import GRANTED_STATUSES, Application
from assets.classification.detectors import (
    LABELS,
    contains_identifier,
    detect_column,
    match_email,
)
from assets.common.catalog import CatalogEntry
from assets.common.masking import mask_digit_runs, mask_value
from assets.common.pii import LEAK_TYPES
from assets.exports.lineage import LineageError, QueryPlan
from assets.exports.sdc import SdcOutcome, Thresholds, check_aggregate, check_records
from assets.products.register import Product

CHECK_LABELS = {
    "within_application": "在申请的用途与期限之内",
    "within_grant": "在授权范围之内",
    "no_personal_data": "不含明文个人信息",
    "not_reversible": "不可逆（无假名、无一一对应的标识）",
    "disclosure_control": "统计披露控制",
}
DIRECT_IDENTIFIERS = ("cn_id_number", "cn_mobile_phone", "bank_card", "person_name", "email")
PSEUDONYM_PATTERN = r"^[a-z2-7]{52}$"
HASH_PATTERN = r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$"
COLUMN_CLAIMS = ("person_name", "address")  # claimed per column, not per value
MAX_NAMED = 5  # reasons name this many columns / cells, then count the rest
NOT_RUN = "未执行：结果未生成（申请或授权范围核查未通过）"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str

    def as_record(self) -> dict[str, object]:
        return {
            "name": self.name,
            "passed": self.passed,
            "reason": self.reason,
            "label": CHECK_LABELS[self.name],
        }


def _join(reasons: list[str]) -> str:
    shown = reasons[:MAX_NAMED]
    more = f"；另有 {len(reasons) - MAX_NAMED} 项" if len(reasons) > MAX_NAMED else ""
    return "；".join(shown) + more


def check(name: str, problems: list[str], ok: str) -> Check:
    return Check(name, not problems, _join(problems) if problems else ok)


@dataclass
class Screening:
    checks: list[Check] = field(default_factory=list)
    frame: pd.DataFrame | None = None  # what would be released (after any suppression)
    result_kind: str | None = None
    report: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


def application_problems(
    application: Application | None,
    product: Product,
    merchant_id: str,
    today: date,
    reads: Mapping[str, tuple[str, ...]] | None = None,
) -> list[str]:
    if application is None:
        return ["没有这个数据使用申请"]
    problems = []
    if application.merchant_id != merchant_id:
        problems.append(f"申请 {application.application_id} 不是数据商 {merchant_id} 的申请")
    if application.status not in GRANTED_STATUSES:
        problems.append(
            f"申请 {application.application_id} 的状态为“{application.status_label}”，未获批准"
        )
    if not application.period_start <= today <= application.period_end:
        problems.append(
            f"申请 {application.application_id} 的使用期限为 {application.period_start} 至 "
            f"{application.period_end}，今天 {today} 不在期限内"
        )
    if product.merchant_id != merchant_id:
        problems.append(f"产品 {product.product_id} 不是数据商 {merchant_id} 的产品")
    if product.status != "active":
        problems.append(f"产品 {product.product_id} 已下架")
    if product.scenario.strip() != application.scenario.strip():
        problems.append(
            f"产品的应用场景“{product.scenario}”与申请的应用场景“{application.scenario}”不符"
        )
    for dataset, columns in sorted((reads or {}).items()):
        allowed = set(application.columns(dataset))
        if not allowed:
            problems.append(f"数据集 {dataset} 不在申请 {application.application_id} 的范围内")
            continue
        for column in columns:
            if column not in allowed:
                problems.append(
                    f"{dataset}.{column} 不在申请 {application.application_id} 的信息项之内"
                )
    return problems


def lineage_problems(error: LineageError) -> list[str]:
    return list(error.reasons)


def personal_data_problems(frame: pd.DataFrame) -> list[str]:
    problems = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "biufcmM":
            continue
        text = values.astype("string")
        present = text.notna()
        if not present.any():
            continue
        found = contains_identifier(text.where(present, None))
        for pii_type in LEAK_TYPES:
            hits = found.index[found[pii_type].to_numpy(dtype=bool)]
            if len(hits):
                first = hits[0]
                position = int(frame.index.get_loc(first)) + 1
                shown = mask_digit_runs(pd.Series([str(text.loc[first])])).iloc[0]
                problems.append(
                    f"列 {column} 第 {position} 行含明文{LABELS[pii_type]}（{shown}）"
                    + (f"，共 {len(hits)} 处" if len(hits) > 1 else "")
                )
        emails = match_email(text.where(present, None)).fillna(False).to_numpy(dtype=bool)
        if emails.any():
            first = int(emails.argmax())
            shown = mask_value(text.iloc[first], "email")
            problems.append(f"列 {column} 第 {first + 1} 行含电子邮箱（{shown}）")
        detection = detect_column(text, str(column))
        if detection.pii_type in COLUMN_CLAIMS:
            problems.append(f"列 {column} 疑似{LABELS[detection.pii_type]}：{detection.evidence}")
    return problems


def reversible_problems(
    frame: pd.DataFrame,
    plan: QueryPlan | None,
    catalog: Mapping[str, CatalogEntry],
    transformations: Mapping[str, Mapping[str, str]],
) -> list[str]:
    problems = []
    for column in frame.columns:
        text = frame[column].astype("string").str.strip()
        pseudonyms = int(text.str.fullmatch(PSEUDONYM_PATTERN).fillna(False).sum())
        if pseudonyms:
            problems.append(
                f"列 {column} 为假名列（{pseudonyms} 个 HMAC-SM3 假名，52 位 base32），"
                "假名是关联回个人的键，不能出域"
            )
            continue
        hashes = int(text.str.fullmatch(HASH_PATTERN).fillna(False).sum())
        if hashes:
            problems.append(
                f"列 {column} 含 {hashes} 个疑似散列值（十六进制摘要），可能由标识符计算而来，不能出域"
            )
    if plan is None:
        return problems
    for output in plan.outputs:
        if output.aggregated:
            continue
        for dataset, column in output.sources:
            entry = catalog.get(dataset)
            item = next((i for i in entry.items if i.column == column), None) if entry else None
            transformation = transformations.get(dataset, {}).get(column)
            if transformation == "pseudonymized" or (item and item.pii in DIRECT_IDENTIFIERS):
                label = LABELS.get(item.pii, item.name) if item and item.pii else column
                how = "已假名化" if transformation == "pseudonymized" else "已掩码"
                problems.append(
                    f"列 {output.name} 逐行取自 {dataset}.{column}（{label}，{how}），"
                    "与发布的直接标识一一对应，可关联回个人"
                )
                break
    return problems


def quasi_identifiers_of(
    frame: pd.DataFrame,
    plan: QueryPlan | None,
    catalog: Mapping[str, CatalogEntry],
    published_qis: Mapping[str, tuple[str, ...]],
    datasets: list[str],
) -> list[str]:
    """Output columns that carry a quasi-identifier: by lineage for a query, by name for a file."""

    def is_qi(dataset: str, column: str) -> bool:
        entry = catalog.get(dataset)
        declared = bool(
            entry and any(i.column == column and i.quasi_identifier for i in entry.items)
        )
        return declared or column in published_qis.get(dataset, ())

    if plan is not None:
        return [
            o.name
            for o in plan.outputs
            if not o.aggregated and any(is_qi(d, c) for d, c in o.sources)
        ]
    names = {}
    for dataset in datasets:
        entry = catalog.get(dataset)
        for item in entry.items if entry else ():
            if is_qi(dataset, item.column):
                names[item.column] = names[item.name] = True
    return [c for c in frame.columns if str(c) in names]


def disclosure_check(outcome: SdcOutcome, kind: str) -> Check:
    if outcome.findings:
        return check("disclosure_control", [f.reason for f in outcome.findings], "")
    if outcome.suppressed:
        unit = "单元格" if kind == "aggregate" else "等价类"
        return Check(
            "disclosure_control",
            True,
            f"已压制 {len(outcome.suppressed)} 个不达标的{unit}："
            + _join([f.reason for f in outcome.suppressed]),
        )
    if kind == "records" and not outcome.cells and outcome.notes:
        return Check("disclosure_control", True, outcome.notes[0])
    what = f"{outcome.cells} 个单元格" if kind == "aggregate" else f"{outcome.cells} 个等价类"
    return Check("disclosure_control", True, f"{what}均达标")


def disclosure_control(
    result: pd.DataFrame,
    micro: pd.DataFrame | None,
    plan: QueryPlan | None,
    thresholds: Thresholds,
    qis: list[str],
    *,
    suppress: bool,
) -> tuple[SdcOutcome, str]:
    if plan is not None and plan.aggregate is not None and micro is not None:
        return check_aggregate(result, micro, plan.aggregate, thresholds, suppress=suppress), (
            "aggregate"
        )
    return check_records(result, qis, thresholds.k, suppress=suppress), "records"


def count_column_outcome(
    frame: pd.DataFrame, count_column: str, thresholds: Thresholds, *, suppress: bool
) -> SdcOutcome:
    """A file aggregate: cells are its rows, ``count_column`` their contributors. Magnitudes in a
    file cannot be checked for dominance (no microdata), so other numeric columns are refused."""
    outcome = SdcOutcome(frame=frame, cells=len(frame))
    counts = pd.to_numeric(frame[count_column], errors="coerce")
    others = [
        c
        for c in frame.columns
        if c != count_column and pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.9
    ]
    from assets.exports.sdc import Finding

    for column in others:
        outcome.findings.append(
            Finding(
                "nk_dominance",
                f"列 {column}",
                column,
                f"列 {column} 为汇总数值，文件不含明细，无法核查支配性：请以查询方式申请出域",
            )
        )
    small = counts.isna() | (counts < thresholds.frequency)
    keys = [c for c in frame.columns if c != count_column and c not in others]
    labelled = []
    for index in frame.index[small.to_numpy()]:
        cell = "，".join(f"{k}={frame.at[index, k]}" for k in keys) or f"第 {index + 1} 行"
        value = counts[index]
        labelled.append(
            Finding(
                "frequency",
                f"单元格（{cell}）",
                count_column,
                f"单元格（{cell}）只有 {0 if pd.isna(value) else int(value)} 个贡献者，"
                f"少于频数阈值 {thresholds.frequency}",
            )
        )
    if suppress and labelled and not others:
        outcome.suppressed = labelled
        outcome.frame = frame.loc[~small.to_numpy()].reset_index(drop=True)
    else:
        outcome.findings.extend(labelled)
    return outcome
