"""Validation of registered catalog entries against 第八条, with reasons addressed to the department.

Each registration is checked on its own: a rejected entry carries its reasons (in Chinese, for the
source department that registered it) and never stops the valid ones. The 第八条 fields are checked
first so a department reads "缺少数据摘要" rather than a parser message; whatever else the catalog model
refuses (column names, rule types …) is translated from its validation errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from assets.catalog_sync.registry import Registration
from assets.common.catalog import CatalogEntry, Frequency, Openness
from assets.common.city import City

ENTRY_FIELDS: tuple[str, ...] = (
    "数据目录名称",
    "信息资源提供方",
    "数据摘要",
    "信息项",
    "更新频率",
    "开放属性",
    "分类",
)
ITEM_FIELDS: tuple[str, ...] = ("信息项名称", "column", "type", "规则")
CLASSIFICATION_FIELDS: tuple[str, ...] = ("门类", "业务属性")
# 分级 is optional in an entry; when given it names a GB/T 43697 grade (一般数据 may carry a sub-level).
GRADE_PREFIXES: tuple[str, ...] = ("核心数据", "重要数据", "一般数据")

_PATTERN_HINTS = {
    "dataset_id": "应以小写英文字母开头，只含小写字母、数字和下划线",
    "column": "应以小写英文字母开头，只含小写字母、数字和下划线",
}


@dataclass(frozen=True)
class ValidationResult:
    """The outcome for one registration: the entry when valid, else the reasons it was rejected."""

    county_code: str
    dataset_id: str
    entry: CatalogEntry | None
    reasons: tuple[str, ...]
    department_id: str | None  # the department the reasons are addressed to, when known
    content_hash: str = ""
    source: str = ""  # the registration's path relative to the data directory, for the record
    title: str | None = None  # 数据目录名称 as registered, when given

    @property
    def valid(self) -> bool:
        return self.entry is not None and not self.reasons

    @property
    def key(self) -> str:
        return f"{self.county_code}/{self.dataset_id}"


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | Sequence):
        return len(value) == 0
    return False


def _item_label(index: int, item: object) -> str:
    name = item.get("信息项名称") if isinstance(item, Mapping) else None
    named = f"（{name}）" if isinstance(name, str) and name.strip() else ""
    return f"第{index + 1}个信息项{named}"


def _where(loc: Sequence[int | str], raw: Mapping[str, Any]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        following = loc[i + 1] if i + 1 < len(loc) else None
        if part == "信息项" and isinstance(following, int):
            items = raw.get("信息项")
            item = items[following] if isinstance(items, list) and following < len(items) else None
            parts.append(_item_label(following, item))
            i += 2
            continue
        if part == "rules" and isinstance(following, int):
            parts.append(f"第{following + 1}条校验规则（rules）")
            i += 2
            continue
        parts.append(f"“{part}”" if isinstance(part, str) else f"第{part + 1}项")
        i += 1
    return "的".join(parts) or "条目"


def _translate(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    where = _where(loc, raw)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    shown = value if isinstance(value, str | int | float | bool) else None
    if kind == "missing":
        return f"缺少{where}"
    if kind == "extra_forbidden":
        return f"{where}不是目录条目的字段，请删除或更正"
    if kind in ("string_too_short", "too_short"):
        return f"{where}不能为空"
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(loc[-1]) if loc else "", f"应符合格式 {ctx.get('pattern')}")
        return f"{where}“{shown}”格式不正确，{hint}"
    if kind in ("literal_error", "enum"):
        expected = (
            str(ctx.get("expected", "")).replace("'", "").replace(" or ", "、").replace(", ", "、")
        )
        return f"{where}“{shown}”不在允许的取值中（{expected}）"
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return f"{where}: {message}" if loc else message
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{where}的值“{shown}”类型不正确"
    return f"{where}: {error.get('msg', kind)}"


def _article8_reasons(raw: Mapping[str, Any], city: City) -> tuple[list[str], set[tuple]]:
    """Reasons for the 第八条 fields, and the error locations they already cover."""
    reasons: list[str] = []
    covered: set[tuple] = set()
    for field in ENTRY_FIELDS:
        if _blank(raw.get(field)):
            reasons.append(f"缺少“{field}”（第八条要求登记）")
            covered.add((field,))

    provider = raw.get("信息资源提供方")
    known = {d.id for d in city.departments}
    if not _blank(provider) and provider not in known:
        listed = "、".join(f"{d.id}（{d.name}）" for d in city.departments)
        reasons.append(f"信息资源提供方“{provider}”不是登记的数源部门，应为以下之一：{listed}")
        covered.add(("信息资源提供方",))

    for field, allowed in (("更新频率", Frequency), ("开放属性", Openness)):
        value = raw.get(field)
        if not _blank(value) and value not in {m.value for m in allowed}:
            values = "、".join(m.value for m in allowed)
            reasons.append(f"{field}“{value}”不在允许的取值中（{values}）")
            covered.add((field,))

    classification = raw.get("分类")
    if not _blank(classification):
        if not isinstance(classification, Mapping):
            reasons.append("“分类”应写明门类和业务属性，例如 {门类: 公共管理, 业务属性: 信访}")
        else:
            for key in CLASSIFICATION_FIELDS:
                if _blank(classification.get(key)):
                    reasons.append(f"“分类”缺少{key}（分类分级指南要求）")
            grade = classification.get("分级")
            if grade is not None and not str(grade).startswith(GRADE_PREFIXES):
                grades = "、".join(GRADE_PREFIXES)
                reasons.append(f"“分类”的分级“{grade}”应为{grades}之一（GB/T 43697）")
        covered.add(("分类",))

    items = raw.get("信息项")
    if not _blank(items):
        if not isinstance(items, list):
            reasons.append("“信息项”应为列表，每项写明信息项名称、column、type 和规则")
            covered.add(("信息项",))
        else:
            for index, item in enumerate(items):
                label = _item_label(index, item)
                if not isinstance(item, Mapping):
                    reasons.append(f"{label}应写明信息项名称、column、type 和规则")
                    covered.add(("信息项", index))
                    continue
                for key in ITEM_FIELDS:
                    if _blank(item.get(key)):
                        reasons.append(f"{label}缺少“{key}”")
                        covered.add(("信息项", index, key))
                        if key == "规则":
                            covered.add(("信息项", index, "rule"))
    return reasons, covered


def _is_covered(loc: tuple, covered: set[tuple]) -> bool:
    return any(loc[: len(prefix)] == prefix for prefix in covered)


def validate_document(
    raw: object,
    city: City,
    *,
    dataset_id: str | None = None,
    county_code: str | None = None,
) -> tuple[CatalogEntry | None, list[str]]:
    """Check one parsed entry document; ``(entry, [])`` when valid, ``(None, reasons)`` otherwise.

    ``dataset_id`` is the registration's file name (must equal the entry's id); ``county_code`` the
    registry folder (must be a county of the city).
    """
    reasons: list[str] = []
    if county_code is not None and county_code not in city.county_codes:
        codes = "、".join(f"{c.code}（{c.name}）" for c in city.counties)
        reasons.append(f"登记目录“{county_code}”不是本市的县（区）代码，应为以下之一：{codes}")
    if not isinstance(raw, Mapping):
        reasons.append("目录条目文件应为 YAML 映射（字段名: 值）")
        return None, reasons

    article8, covered = _article8_reasons(raw, city)
    reasons.extend(article8)
    declared_id = raw.get("dataset_id")
    if dataset_id is not None and not _blank(declared_id) and declared_id != dataset_id:
        reasons.append(f"文件名 {dataset_id}.yaml 与 dataset_id“{declared_id}”不一致")

    entry: CatalogEntry | None = None
    try:
        entry = CatalogEntry.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            if _is_covered(loc, covered):
                continue
            reason = _translate(error, raw)
            if reason not in reasons:
                reasons.append(reason)
    if reasons:
        return None, reasons
    return entry, []


def validate_registration(registration: Registration, city: City) -> ValidationResult:
    raw: object = None
    parse_error: str | None = registration.problem
    try:
        raw = None if parse_error else registration.load()
    except UnicodeDecodeError:
        parse_error = "文件不是 UTF-8 编码，请以 UTF-8 保存"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（第{mark.line + 1}行）" if mark is not None else ""
        parse_error = f"文件不是有效的 YAML{where}，请检查缩进和冒号"
    if parse_error is not None:
        entry, reasons = None, [parse_error]
    else:
        entry, reasons = validate_document(
            raw,
            city,
            dataset_id=registration.dataset_id,
            county_code=registration.county_code,
        )
    provider = raw.get("信息资源提供方") if isinstance(raw, Mapping) else None
    department = provider if provider in {d.id for d in city.departments} else None
    title = raw.get("数据目录名称") if isinstance(raw, Mapping) else None
    return ValidationResult(
        county_code=registration.county_code,
        dataset_id=registration.dataset_id,
        entry=entry,
        reasons=tuple(reasons),
        department_id=department,
        content_hash=registration.content_hash,
        source=f"{registration.path.parent.parent.name}/{registration.key}.yaml",
        title=title if isinstance(title, str) and title.strip() else None,
    )


def validate_registry(registrations: Iterable[Registration], city: City) -> list[ValidationResult]:
    return [validate_registration(r, city) for r in registrations]


def rejection_notice(result: ValidationResult, city: City) -> str:
    """The message to the department: who, which entry, and each reason, numbered."""
    try:
        county = city.county(result.county_code)
    except KeyError:
        county = None
    if result.department_id and county is not None:
        addressee = city.department(result.department_id).name_in(county)
    elif county is not None:
        addressee = county.data_bureau
    else:
        addressee = city.city.data_bureau
    title = f"（{result.title}）" if result.title else ""
    lines = [
        f"{addressee}：",
        f"贵单位登记的资源目录条目 {result.dataset_id}{title}未通过审核，未纳入全市目录，"
        "请按以下意见修改后重新登记：",
    ]
    lines += [f"{n}. {reason}" for n, reason in enumerate(result.reasons, start=1)]
    return "\n".join(lines)
