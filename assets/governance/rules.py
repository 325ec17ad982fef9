"""Typing and the catalog's hard rules (硬性规则), evaluated vectorized over a whole frame.

``evaluate_rules`` returns one boolean column per rule (True = the row violates it); ``rule_registry``
describes every rule id: the columns it reads, its reason code, the GB/T 36344-2018 quality dimension and a
Chinese explanation. Governance quarantines on it; the quality stage can reuse it as the plain-pandas
baseline of its expectation suites.

Rules judge what they are given: pass ``standardize(frame, entry).frame`` to judge as governance does, or
the delivered text to measure how normative the delivery itself was. Each rule fires only on values the
earlier rules accept (a missing value is only ``required``; a malformed ID number is only ``format``, not
also ``id_birth_date``), so a row's reason codes name its actual problems once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd

from assets.common import identifiers
from assets.common.catalog import CatalogEntry, CatalogItem, CrossFieldRule
from assets.common.city import City
from assets.common.quality import Dimension
from assets.common.reference import ENUM_REFERENCES
from assets.common.text import as_text, format_dates, map_distinct
from assets.governance.standardize import damage_sensitive, excel_damaged, repeats_values

PARTITION_COLUMNS: tuple[str, ...] = ("county_code", "period")


class Reason(StrEnum):
    """Reason codes of rule violations (≤ 32 characters: they are stored as codes)."""

    MISSING_REQUIRED = "missing_required"
    INVALID_TYPE = "invalid_type"
    EXCEL_DAMAGED = "excel_damaged"
    INVALID_FORMAT = "invalid_format"
    NOT_IN_ENUM = "not_in_enum"
    BELOW_MIN = "below_min"
    ABOVE_MAX = "above_max"
    FUTURE_DATE = "future_date"
    DUPLICATE_VALUE = "duplicate_value"
    ID_BIRTH_DATE_MISMATCH = "id_birth_date_mismatch"
    ID_GENDER_MISMATCH = "id_gender_mismatch"
    DATE_ORDER = "date_order_violated"
    REGION_NOT_COUNTY = "region_not_county"
    TOWNSHIP_NOT_IN_COUNTY = "township_not_in_county"
    EMPTY_IFF = "empty_iff_violated"


@dataclass(frozen=True)
class RuleSpec:
    """What a rule id means: the columns it reads, its reason code, dimension and explanation."""

    rule_id: str
    kind: str
    columns: tuple[str, ...]
    reason_code: Reason
    dimension: Dimension
    description: str


# --- typing -------------------------------------------------------------------------------------

_INTEGER_TEXT = r"^[+-]?\d+(?:\.0+)?$"
_DECIMAL_TEXT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def type_column(values: pd.Series, item: CatalogItem) -> pd.Series:
    """A column typed per the catalog: date → datetime64, integer → Int64, decimal → Float64,
    string → Arrow text. Text that does not parse becomes <NA> (``type_violations`` tells which)."""
    if item.type == "date":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values.dt.tz_localize(None).dt.normalize() if values.dt.tz else values
        s = as_text(values)
        iso = s.where(s.str.fullmatch(_ISO_DATE).fillna(False).astype(bool))
        return pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    if item.type in ("integer", "decimal"):
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
            return values.astype("Int64" if item.type == "integer" else "Float64")
        s = as_text(values)
        pattern = _INTEGER_TEXT if item.type == "integer" else _DECIMAL_TEXT
        shaped = s.where(s.str.fullmatch(pattern).fillna(False).astype(bool))
        numbers = pd.to_numeric(shaped, errors="coerce").astype("Float64")
        if item.type == "integer":
            return numbers.round().astype("Int64")
        return numbers
    return as_text(values)


def _typed(values: pd.Series, item: CatalogItem) -> pd.Series:
    """``type_column``, once per distinct value for delivered text that repeats its values."""
    text = pd.api.types.is_object_dtype(values.dtype) or isinstance(values.dtype, pd.StringDtype)
    if text and item.type != "string" and repeats_values(item):
        return map_distinct(values, lambda distinct: type_column(distinct, item))
    return type_column(values, item)


def type_frame(frame: pd.DataFrame, entry: CatalogEntry) -> pd.DataFrame:
    """``frame`` with every catalog column typed; other columns (provenance) unchanged."""
    out = frame.copy(deep=False)  # every catalog column is replaced below; the rest is shared
    for item in entry.items:
        if item.column in frame.columns:
            out[item.column] = _typed(frame[item.column], item)
    return out


# --- item rules ---------------------------------------------------------------------------------

_DIVISION_CODE = r"^[1-9]\d{5}$"
_INDUSTRY_CODE = r"^[A-T]\d{2,4}$"
# CJK range written as literal characters: Arrow's RE2 knows no \u escapes
_CJK = "\u4e00-\u9fff"
_CERTIFICATE_NO = rf"^[{_CJK}]\(\d{{4}}\)[{_CJK}]+不动产权第\d{{7}}号$"


def _matches(s: pd.Series, pattern: str) -> pd.Series:
    return s.str.fullmatch(pattern).fillna(False).astype(bool)


FORMAT_VALIDATORS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "cn_id_number": identifiers.id_number_valid,
    "uscc": identifiers.uscc_valid,
    "cn_mobile": identifiers.mobile_valid,
    "phone": identifiers.phone_valid,
    "bank_card": identifiers.luhn_valid,
    "division_code": lambda s: _matches(as_text(s), _DIVISION_CODE),
    "industry_code": lambda s: _matches(as_text(s), _INDUSTRY_CODE),
    "certificate_no": lambda s: _matches(as_text(s), _CERTIFICATE_NO),
    "id_or_uscc": lambda s: identifiers.id_number_valid(s) | identifiers.uscc_valid(s),
}

FORMAT_NAMES: dict[str, str] = {
    "cn_id_number": "公民身份号码（GB 11643，含校验码）",
    "uscc": "统一社会信用代码（GB 32100，含校验码）",
    "cn_mobile": "中国大陆手机号码（11位）",
    "phone": "固定电话（区号-号码）或手机号码",
    "bank_card": "银行卡号（16至19位，Luhn校验）",
    "division_code": "行政区划代码（GB/T 2260，6位）",
    "industry_code": "国民经济行业代码（GB/T 4754）",
    "certificate_no": "不动产权证号",
    "id_or_uscc": "公民身份号码或统一社会信用代码",
}


def _fmt(number: float) -> str:
    return f"{number:g}"


def item_rules(item: CatalogItem) -> list[RuleSpec]:
    """The hard rules one catalog item declares, in evaluation order."""
    col, name = item.column, item.name
    specs: list[RuleSpec] = []

    def add(kind: str, reason: Reason, dimension: Dimension, description: str) -> None:
        specs.append(RuleSpec(f"{kind}:{col}", kind, (col,), reason, dimension, description))

    if item.required:
        add("required", Reason.MISSING_REQUIRED, Dimension.COMPLETENESS, f"{name}为必填项，但为空")
    if item.type != "string":
        kind_zh = {"date": "日期", "integer": "整数", "decimal": "数值"}[item.type]
        add("type", Reason.INVALID_TYPE, Dimension.CONFORMITY, f"{name}不是有效的{kind_zh}")
    if damage_sensitive(item):
        add(
            "excel_damaged",
            Reason.EXCEL_DAMAGED,
            Dimension.ACCURACY,
            f"{name}被表格软件存成了数值（科学计数法或带小数），原始数字已丢失，无法恢复",
        )
    if item.format:
        add(
            "format",
            Reason.INVALID_FORMAT,
            Dimension.CONFORMITY,
            f"{name}不符合{FORMAT_NAMES[item.format]}格式",
        )
    if item.enum or item.enum_ref:
        allowed = "、".join(item.enum) if item.enum else "56个民族"
        add("enum", Reason.NOT_IN_ENUM, Dimension.CONFORMITY, f"{name}不在允许值（{allowed}）之内")
    if item.min is not None:
        op = "大于" if item.min_exclusive else "不小于"
        add("min", Reason.BELOW_MIN, Dimension.ACCURACY, f"{name}应{op}{_fmt(item.min)}")
    if item.max is not None:
        add("max", Reason.ABOVE_MAX, Dimension.ACCURACY, f"{name}应不大于{_fmt(item.max)}")
    if item.not_future:
        add("not_future", Reason.FUTURE_DATE, Dimension.TIMELINESS, f"{name}晚于基准日期")
    if item.unique:
        add(
            "unique",
            Reason.DUPLICATE_VALUE,
            Dimension.ACCURACY,
            f"{name}在同一县（区）同一数据期内重复",
        )
    return specs


# per cross-field check: reason code, dimension, and the explanation (names[i] = the i-th column's
# Chinese item name; values = the rule's listed values)
_CROSS_CHECKS: dict[str, tuple[Reason, Dimension, str]] = {
    "id_birth_date": (
        Reason.ID_BIRTH_DATE_MISMATCH,
        Dimension.CONSISTENCY,
        "{names[1]}与{names[0]}第7至14位不一致",
    ),
    "id_gender": (
        Reason.ID_GENDER_MISMATCH,
        Dimension.CONSISTENCY,
        "{names[1]}与{names[0]}第17位（奇数为男、偶数为女）不一致",
    ),
    "date_order": (Reason.DATE_ORDER, Dimension.TIMELINESS, "{names[1]}早于{names[0]}"),
    "region_is_county": (
        Reason.REGION_NOT_COUNTY,
        Dimension.CONSISTENCY,
        "{names[0]}不等于交付县（区）的行政区划代码",
    ),
    "township_in_county": (
        Reason.TOWNSHIP_NOT_IN_COUNTY,
        Dimension.CONSISTENCY,
        "{names[0]}不是交付县（区）的乡镇",
    ),
    "empty_iff": (
        Reason.EMPTY_IFF,
        Dimension.CONSISTENCY,
        "{names[1]}为{values}时{names[0]}应为空，否则必填",
    ),
}


def _cross_spec(rule: CrossFieldRule, entry: CatalogEntry) -> RuleSpec:
    if rule.check not in _CROSS_CHECKS:
        raise ValueError(f"未知的跨字段校验: {rule.check}")
    reason, dimension, template = _CROSS_CHECKS[rule.check]
    names = [entry.item(c).name for c in rule.columns]
    explanation = template.format(names=names, values="、".join(rule.values or ()))
    return RuleSpec(
        f"{rule.check}:{'+'.join(rule.columns)}",
        rule.check,
        rule.columns,
        reason,
        dimension,
        explanation,
    )


def rule_registry(entry: CatalogEntry) -> dict[str, RuleSpec]:
    """Every rule id of a dataset, in evaluation order, with what it means."""
    specs = [spec for item in entry.items for spec in item_rules(item)]
    specs += [_cross_spec(rule, entry) for rule in entry.rules]
    return {spec.rule_id: spec for spec in specs}


# --- evaluation ---------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], rule_id: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"规则 {rule_id} 需要列 {', '.join(missing)}，但数据中没有")


def _as_bool(result: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """A plain bool Series; an unknown (<NA>) outcome counts as not violated — the rule that makes a
    value unknown (required, type, format) reports it instead."""
    if isinstance(result, pd.Series):
        result = result.astype("boolean").fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.asarray(result, dtype=bool), index=index)


class _Evaluator:
    """The text and typed views of one frame, shared by all its rules."""

    def __init__(self, frame: pd.DataFrame, entry: CatalogEntry, city: City, as_of: date) -> None:
        self.frame = frame
        self.entry = entry
        self.city = city
        self.as_of = pd.Timestamp(as_of)
        self.typed = type_frame(frame, entry)
        self.text = {
            item.column: as_text(frame[item.column])
            for item in entry.items
            if item.column in frame.columns
        }
        self._id_valid: dict[str, pd.Series] = {}
        self._damaged: dict[str, np.ndarray] = {}

    def damaged(self, col: str) -> np.ndarray:
        """Where a column's values have a float's shape, computed once for its excel_damaged and
        format rules."""
        if col not in self._damaged:
            self._damaged[col] = excel_damaged(self.text[col]).to_numpy()
        return self._damaged[col]

    def id_valid(self, col: str) -> pd.Series:
        """GB 11643 validity of a column, computed once for the format and cross-field rules."""
        if col not in self._id_valid:
            self._id_valid[col] = identifiers.id_number_valid(self.text[col])
        return self._id_valid[col]

    def format_ok(self, col: str, fmt: str) -> pd.Series:
        if fmt == "cn_id_number":
            return self.id_valid(col)
        if fmt == "id_or_uscc":
            return self.id_valid(col) | identifiers.uscc_valid(self.text[col])
        return FORMAT_VALIDATORS[fmt](self.text[col])

    def item(self, spec: RuleSpec) -> pd.Series:
        col = spec.columns[0]
        _require_columns(self.frame, (col,), spec.rule_id)
        item = self.entry.item(col)
        text, typed = self.text[col], self.typed[col]
        present = text.notna().to_numpy()
        kind = spec.kind
        if kind == "required":
            result = ~present
        elif kind == "type":
            result = present & typed.isna().to_numpy()
        elif kind == "excel_damaged":
            result = self.damaged(col)
        elif kind == "format":
            damaged = (
                self.damaged(col) if damage_sensitive(item) else np.zeros(len(text), dtype=bool)
            )
            ok = self.format_ok(col, item.format or "").to_numpy()
            result = present & ~damaged & ~ok
        elif kind == "enum":
            allowed = list(item.enum or ENUM_REFERENCES[item.enum_ref or ""])
            result = present & ~text.isin(allowed).fillna(False).to_numpy(dtype=bool)
        elif kind in ("min", "max"):
            numbers = typed.astype("Float64")
            if kind == "min":
                bad = numbers <= item.min if item.min_exclusive else numbers < item.min
            else:
                bad = numbers > item.max
            result = bad.fillna(False).to_numpy(dtype=bool)
        elif kind == "not_future":
            result = (typed > self.as_of).fillna(False).to_numpy(dtype=bool)
        elif kind == "unique":
            keys = [c for c in PARTITION_COLUMNS if c in self.frame.columns]
            probe = pd.DataFrame({k: self.frame[k] for k in keys} | {"__value": text})
            repeated = probe.duplicated(keep=False).to_numpy()
            result = present & repeated
        else:  # pragma: no cover - item_rules and this dispatch are written together
            raise ValueError(spec.kind)
        return _as_bool(result, self.frame.index)

    def column_valid(self, col: str, violations: pd.DataFrame) -> pd.Series:
        """Present and not violating this column's type / excel / format / enum rules."""
        ok = self.text[col].notna().to_numpy(dtype=bool).copy()
        for kind in ("type", "excel_damaged", "format", "enum"):
            rule_id = f"{kind}:{col}"
            if rule_id in violations:
                ok &= ~violations[rule_id].to_numpy(dtype=bool)
        return pd.Series(ok, index=self.frame.index)

    def county(self, rule_id: str) -> pd.Series:
        _require_columns(self.frame, ("county_code",), rule_id)
        return as_text(self.frame["county_code"])

    def cross(self, spec: RuleSpec, rule: CrossFieldRule, violations: pd.DataFrame) -> pd.Series:
        _require_columns(self.frame, spec.columns, spec.rule_id)
        cols = spec.columns
        ok = [self.column_valid(c, violations) for c in cols]
        if rule.check == "id_birth_date":
            id_text, born = self.text[cols[0]], self.typed[cols[1]]
            mask = ok[0] & ok[1] & self.id_valid(cols[0])
            digits = id_text.str.slice(6, 14)
            result = mask & (digits != format_dates(born, "%Y%m%d")).fillna(True)
        elif rule.check == "id_gender":
            id_text, gender = self.text[cols[0]], self.text[cols[1]]
            mask = ok[0] & ok[1] & self.id_valid(cols[0])
            odd = pd.to_numeric(id_text.str.slice(16, 17), errors="coerce") % 2 == 1
            expected = pd.Series(np.where(odd.fillna(False), "男", "女"), index=gender.index)
            result = mask & gender.isin(["男", "女"]).fillna(False) & (gender != expected)
        elif rule.check == "date_order":
            first, second = self.typed[cols[0]], self.typed[cols[1]]
            result = ok[0] & ok[1] & (first > second).fillna(False)
        elif rule.check == "region_is_county":
            county = self.county(spec.rule_id)
            result = ok[0] & (self.text[cols[0]] != county).fillna(True)
        elif rule.check == "township_in_county":
            county = self.county(spec.rule_id)
            pairs = {f"{c.code}|{t}" for c in self.city.counties for t in c.townships}
            key = county.fillna("") + "|" + self.text[cols[0]]
            result = ok[0] & ~key.isin(list(pairs)).fillna(False)
        elif rule.check == "empty_iff":
            target, condition = self.text[cols[0]], self.text[cols[1]]
            should_be_empty = condition.isin(list(rule.values or ())).fillna(False)
            result = condition.notna() & (target.isna() != should_be_empty)
        else:  # pragma: no cover
            raise ValueError(rule.check)
        return _as_bool(result, self.frame.index)


def evaluate_rules(
    frame: pd.DataFrame, entry: CatalogEntry, *, city: City, as_of: date
) -> pd.DataFrame:
    """One boolean column per rule id of ``rule_registry(entry)`` (True = the row violates it).

    ``frame`` holds the catalog columns as text (standardized or as delivered) or already typed, plus
    ``county_code`` (and ``period``) for the partition-scoped rules. ``as_of`` is the reference day of
    ``not_future``. The index of the result is the index of ``frame``.
    """
    return evaluate_and_type(frame, entry, city=city, as_of=as_of)[0]


def evaluate_and_type(
    frame: pd.DataFrame, entry: CatalogEntry, *, city: City, as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``evaluate_rules`` and ``type_frame(frame, entry)``, which the rules read anyway (typing is
    value by value: the typed rows of any subset are those rows of it)."""
    registry = rule_registry(entry)
    ev = _Evaluator(frame, entry, city, as_of)
    violations = pd.DataFrame(index=frame.index)
    cross_rules = {f"{r.check}:{'+'.join(r.columns)}": r for r in entry.rules}
    for rule_id, spec in registry.items():
        if rule_id in cross_rules:
            violations[rule_id] = ev.cross(spec, cross_rules[rule_id], violations)
        else:
            violations[rule_id] = ev.item(spec)
    return violations, ev.typed


def violation_summary(violations: pd.DataFrame, registry: dict[str, RuleSpec]) -> pd.DataFrame:
    """Per rule id: reason code, dimension, columns, explanation and how many rows violate it."""
    counts = violations.sum()
    return pd.DataFrame(
        [
            {
                "rule_id": rule_id,
                "reason_code": str(spec.reason_code),
                "dimension": str(spec.dimension),
                "columns": ",".join(spec.columns),
                "description": spec.description,
                "violations": int(counts.get(rule_id, 0)),
            }
            for rule_id, spec in registry.items()
        ]
    )
