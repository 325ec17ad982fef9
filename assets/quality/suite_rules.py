"""The expectations a catalog entry implies: the rules behind each dataset's quality suite.

Each catalog item rule becomes an expectation (required, format with check characters, enum,
range, not-future, uniqueness), the business key a compound-uniqueness expectation, and each
cross-field ``rule`` the expectation the catalog cannot express itself (one table of cross-field
checks, as governance has). :mod:`assets.quality.suites` writes them as the suite files.

Every expectation's ``meta`` carries:
- ``rule_id``: stable across regenerations, ``<dataset_id>.<kind>.<column>[+<column>…]``
  (``<dataset_id>.columns_present.table`` for the table's columns);
- ``dimension``: the GB/T 36344 quality dimension (规范性 完整性 准确性 一致性 时效性 可访问性);
- ``severity``: 高 / 中 / 低 (GE's own ``severity`` is set to critical / warning / info to match):
  - 高: the record cannot be identified, attributed or counted correctly — a missing required
    value or column, a broken identifier check character (ID number, USCC, bank card, certificate
    number), a duplicate key, an ID number contradicting the birth date or gender, a region code
    that is not the delivering county's;
  - 中: a value is wrong but the record stays usable — enum, range, date and number format,
    division and industry codes, future dates, date order, township, conditional emptiness,
    format of a required phone number;
  - 低: optional contact data in a wrong format;
- ``columns``: the canonical columns the rule reads, and ``fix``: how the department fixes it.

Partition-dependent values are GE suite parameters, supplied at validation time, so one suite
file serves every county: ``county_codes`` (the partition's county code, as a one-item list),
``townships`` (that county's townships) and ``as_of`` (ISO date for not-future checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from assets.common.catalog import (
    CatalogEntry,
    CatalogItem,
    CrossFieldRule,
)
from assets.common.quality import Dimension, Severity
from assets.common.reference import ENUM_REFERENCES
from assets.quality.expectations import (
    ExpectColumnValuesToBeNumericBetween,
    ExpectColumnValuesToMatchCatalogFormat,
    ExpectColumnValuesToNotBeBlank,
    ExpectColumnValuesToNotBeFutureDates,
    ExpectMulticolumnValuesIdNumberToMatchBirthDate,
    ExpectMulticolumnValuesIdNumberToMatchGender,
    ExpectMulticolumnValuesToBeChronological,
    ExpectMulticolumnValuesToBeEmptyExactlyWhenInSet,
)

SOURCE_ROW = "source_row"

PARAM_COUNTY_CODES = "county_codes"
PARAM_TOWNSHIPS = "townships"
PARAM_AS_OF = "as_of"
SUITE_PARAMETERS = (PARAM_COUNTY_CODES, PARAM_TOWNSHIPS, PARAM_AS_OF)


# format name → (what the value must look like, how the department fixes it)
_FORMAT_TEXT: dict[str, tuple[str, str]] = {
    "cn_id_number": (
        "18位公民身份号码，第7至14位为真实出生日期，第18位校验码符合GB 11643（0-9或大写X）",
        "请对照居民身份证原件核对号码，更正错位、漏位、多位或校验码错误（末位小写x应写为大写X）。",
    ),
    "uscc": (
        "18位统一社会信用代码，字符和校验码符合GB 32100（不使用I、O、Z、S、V）",
        "请对照营业执照或登记机关信息核对代码，更正错录字符和校验码。",
    ),
    "bank_card": (
        "16至19位数字的银行卡号，末位符合Luhn校验",
        "请与本人或代发银行核对银行卡号，更正错录数字；卡已注销的请更新为有效卡号。",
    ),
    "cn_mobile": (
        "11位中国大陆手机号码（1开头，第2位为3至9）",
        "请与本人核实手机号码，只填写一个11位号码，不加区号、空格、分隔符或备注文字。",
    ),
    "phone": (
        "固定电话（区号-号码，如0955-7012345）或11位手机号码",
        "请核实联系电话，固定电话写作“区号-号码”，手机写11位数字，只填写一个号码，不加备注文字。",
    ),
    "division_code": (
        "6位GB/T 2260行政区划代码",
        "请填写6位数字的行政区划代码，不带名称、空格或其他字符。",
    ),
    "industry_code": (
        "GB/T 4754国民经济行业代码：一个门类字母（A至T）加2至4位数字，如C1511",
        "请按GB/T 4754-2017核对行业代码，门类字母用大写，后接2至4位数字，不带行业名称。",
    ),
    "certificate_no": (
        "不动产权证号，形如 宁(2025)中宁县不动产权第0001234号",
        "请按不动产权证书原件的证号填写，年份4位、顺序号7位，不漏字、不加空格。",
    ),
    "id_or_uscc": (
        "自然人为公民身份号码（GB 11643），单位为统一社会信用代码（GB 32100），校验码正确",
        "请对照权利人的身份证或营业执照核对证件号码，更正错录字符和校验码。",
    ),
    "iso_date": (
        "YYYY-MM-DD格式的真实日期（如2024-01-05）",
        "请统一按YYYY-MM-DD填写日期（如2024-01-05），不使用2024/1/5、20240105、"
        "2024年1月5日或Excel日期序号等写法，并确认日期真实存在。",
    ),
    "decimal": (
        "阿拉伯数字（可带小数点）",
        "请只填写数值，不带单位、千分位逗号、空格或中文（如填写12.5，不填写“12.5元”）。",
    ),
    "integer": (
        "整数",
        "请只填写整数，不带单位、小数、空格或中文（如填写120，不填写“120张”）。",
    ),
}

_HIGH_FORMATS = {"cn_id_number", "uscc", "bank_card", "certificate_no", "id_or_uscc"}
_CONTACT_FORMATS = {"cn_mobile", "phone"}


def _q(item: CatalogItem) -> str:
    return f"「{item.name}」"


def _expectation(
    entry: CatalogEntry,
    cls: type[Expectation],
    *,
    kind: str,
    columns: Sequence[str],
    dimension: Dimension,
    severity: Severity,
    description: str,
    fix: str,
    rule_key: str | None = None,
    **kwargs: Any,
) -> Expectation:
    rule_id = f"{entry.dataset_id}.{kind}.{rule_key or '+'.join(columns)}"
    return cls(
        **kwargs,
        description=description,
        notes=f"整改方法：{fix}",
        severity=severity.ge_severity,
        meta={
            "rule_id": rule_id,
            "kind": kind,
            "dimension": dimension.value,
            "severity": severity.value,
            "columns": list(columns),
            "fix": fix,
        },
    )


def _columns_present(entry: CatalogEntry) -> Expectation:
    columns = [*entry.columns, SOURCE_ROW]
    return _expectation(
        entry,
        gx.expectations.ExpectTableColumnsToMatchSet,
        kind="columns_present",
        rule_key="table",
        columns=entry.columns,
        dimension=Dimension.COMPLETENESS,
        severity=Severity.HIGH,
        description="报送数据包含目录登记的全部信息项",
        fix="报送文件缺少目录登记的信息项列。请按目录的信息项名称补齐表头和该列数据后重新报送。",
        column_set=columns,
        exact_match=False,
    )


@dataclass(frozen=True)
class _ItemRule:
    """One rule a catalog item implies: what :func:`_expectation` needs besides the column."""

    kind: str
    cls: type[Expectation]
    dimension: Dimension
    severity: Severity
    description: str
    fix: str
    arguments: dict[str, Any] = field(default_factory=dict)


def _required(item: CatalogItem, name: str) -> _ItemRule | None:
    if not item.required:
        return None
    return _ItemRule(
        "required",
        ExpectColumnValuesToNotBeBlank,
        Dimension.COMPLETENESS,
        Severity.HIGH,
        f"{name}为必填项，不能为空",
        f"{name}为必填项，存在空值或只有空格。请在业务系统中补录后重新报送。",
    )


def _format(item: CatalogItem, name: str) -> _ItemRule | None:
    format_name = item.format or {
        "date": "iso_date",
        "decimal": "decimal",
        "integer": "integer",
    }.get(item.type)
    if not format_name:
        return None
    shape, how = _FORMAT_TEXT[format_name]
    if format_name in _HIGH_FORMATS:
        severity = Severity.HIGH
    elif format_name in _CONTACT_FORMATS and not item.required:
        severity = Severity.LOW
        how += "无法核实的可留空。"
    else:
        severity = Severity.MEDIUM
    return _ItemRule(
        "format",
        ExpectColumnValuesToMatchCatalogFormat,
        Dimension.CONFORMITY,
        severity,
        f"{name}应为{shape}",
        f"{name}格式不符合要求，应为{shape}。{how}",
        {"format": format_name},
    )


def _enum(item: CatalogItem, name: str) -> _ItemRule | None:
    if not (item.enum or item.enum_ref):
        return None
    values = list(item.enum or ENUM_REFERENCES[item.enum_ref or ""])
    if item.enum_ref == "ethnicities":
        allowed = "GB/T 3304规定的56个民族名称之一（如“汉族”“回族”，须带“族”字）"
    else:
        allowed = "以下值之一：" + "、".join(values)
    return _ItemRule(
        "enum",
        gx.expectations.ExpectColumnValuesToBeInSet,
        Dimension.CONFORMITY,
        Severity.MEDIUM,
        f"{name}取值为{allowed}",
        f"{name}只能取{allowed}。请按标准值更正简称、别称、错别字和多余空格后重新报送。",
        {"value_set": values},
    )


def _range(item: CatalogItem, name: str) -> _ItemRule | None:
    if item.min is None and item.max is None:
        return None
    bounds = []
    if item.min is not None:
        bounds.append(f"{'大于' if item.min_exclusive else '不小于'}{item.min:g}")
    if item.max is not None:
        bounds.append(f"不大于{item.max:g}")
    rng = "且".join(bounds)
    return _ItemRule(
        "range",
        ExpectColumnValuesToBeNumericBetween,
        Dimension.ACCURACY,
        Severity.MEDIUM,
        f"{name}应{rng}",
        f"{name}应{rng}。请核对原始记录中的数值和计量单位（元、万元、平方米、度等）后更正。",
        {"min_value": item.min, "max_value": item.max, "strict_min": item.min_exclusive},
    )


def _not_future(item: CatalogItem, name: str) -> _ItemRule | None:
    if not item.not_future:
        return None
    return _ItemRule(
        "not_future",
        ExpectColumnValuesToNotBeFutureDates,
        Dimension.TIMELINESS,
        Severity.MEDIUM,
        f"{name}不晚于数据校验日期",
        f"{name}晚于数据校验日期，不可能发生。请核对原始记录，更正录错的年、月、日后重新报送。",
        {"as_of": {"$PARAMETER": PARAM_AS_OF}},
    )


_DUPLICATE_FIX = "请核查是否重复登记或重复导出，删除多余的行或更正录错的{what}后重新报送。"


def _unique(item: CatalogItem, name: str) -> _ItemRule | None:
    if not item.unique:
        return None
    return _ItemRule(
        "unique",
        gx.expectations.ExpectColumnValuesToBeUnique,
        Dimension.ACCURACY,
        Severity.HIGH,
        f"{name}在同一期数据中唯一",
        f"{name}在同一期数据中出现重复（所有重复行都列出）。" + _DUPLICATE_FIX.format(what="号码"),
    )


# the rules of one item, in the order the suite lists them (one table, as governance has)
_ITEM_RULES: tuple[Callable[[CatalogItem, str], _ItemRule | None], ...] = (
    _required,
    _format,
    _enum,
    _range,
    _not_future,
    _unique,
)


def _item_expectations(entry: CatalogEntry, item: CatalogItem) -> list[Expectation]:
    name = _q(item)
    rules = (make(item, name) for make in _ITEM_RULES)
    return [
        _expectation(
            entry,
            rule.cls,
            kind=rule.kind,
            columns=[item.column],
            dimension=rule.dimension,
            severity=rule.severity,
            description=rule.description,
            fix=rule.fix,
            column=item.column,
            **rule.arguments,
        )
        for rule in rules
        if rule is not None
    ]


def _business_key(entry: CatalogEntry) -> list[Expectation]:
    key = list(entry.business_key)
    if len(key) < 2:  # a one-column key is the item's own `unique` rule
        return []
    names = "".join(_q(entry.item(c)) for c in key)
    return [
        _expectation(
            entry,
            gx.expectations.ExpectCompoundColumnsToBeUnique,
            kind="business_key",
            columns=key,
            dimension=Dimension.ACCURACY,
            severity=Severity.HIGH,
            description=f"{names}的组合（业务主键）在同一期数据中唯一",
            fix=f"{names}的组合在同一期数据中出现重复（所有重复行都列出）。"
            + _DUPLICATE_FIX.format(what="项"),
            column_list=key,
        )
    ]


@dataclass(frozen=True)
class _CrossCheck:
    """How a cross-field check of the catalog becomes an expectation. ``description`` and ``fix`` are
    templates over ``first``/``second`` (the quoted item names) and ``listed`` (the rule's values)."""

    cls: type[Expectation]
    dimension: Dimension
    severity: Severity
    description: str
    fix: str
    arguments: Callable[[list[str], CrossFieldRule], dict[str, Any]]


def _column_list(cols: list[str], rule: CrossFieldRule) -> dict[str, Any]:
    return {"column_list": cols}


def _in_parameter(parameter: str) -> Callable[[list[str], CrossFieldRule], dict[str, Any]]:
    return lambda cols, rule: {"column": cols[0], "value_set": {"$PARAMETER": parameter}}


def _column_list_and_values(cols: list[str], rule: CrossFieldRule) -> dict[str, Any]:
    return {"column_list": cols, "value_set": list(rule.values or ())}


# per cross-field check, as governance's _CROSS_CHECKS does for its rules
_CROSS_CHECKS: dict[str, _CrossCheck] = {
    "id_birth_date": _CrossCheck(
        ExpectMulticolumnValuesIdNumberToMatchBirthDate,
        Dimension.CONSISTENCY,
        Severity.HIGH,
        "{second}与{first}第7至14位一致",
        "{second}与{first}第7至14位不一致。请对照居民身份证原件确认哪一项录错并更正。",
        _column_list,
    ),
    "id_gender": _CrossCheck(
        ExpectMulticolumnValuesIdNumberToMatchGender,
        Dimension.CONSISTENCY,
        Severity.HIGH,
        "{second}与{first}第17位一致（奇数为男，偶数为女）",
        "{second}与{first}第17位不一致（第17位奇数为男、偶数为女）。"
        "请对照居民身份证原件确认哪一项录错并更正。",
        _column_list,
    ),
    "date_order": _CrossCheck(
        ExpectMulticolumnValuesToBeChronological,
        Dimension.TIMELINESS,
        Severity.MEDIUM,
        "{second}不早于{first}",
        "{second}早于{first}，时间先后矛盾。请核对两个日期，更正录错的一项。",
        _column_list,
    ),
    "region_is_county": _CrossCheck(
        gx.expectations.ExpectColumnValuesToBeInSet,
        Dimension.CONSISTENCY,
        Severity.HIGH,
        "{first}等于报送县（区）的行政区划代码",
        "{first}不是报送县（区）的行政区划代码。请核实记录是否属于本县（区）：属于的更正代码，"
        "不属于的从本县（区）报送数据中移除，由所属县（区）报送。",
        _in_parameter(PARAM_COUNTY_CODES),
    ),
    "township_in_county": _CrossCheck(
        gx.expectations.ExpectColumnValuesToBeInSet,
        Dimension.CONSISTENCY,
        Severity.MEDIUM,
        "{first}为报送县（区）所辖乡镇",
        "{first}不是报送县（区）所辖乡镇的标准名称。请按乡镇标准全称更正（“镇”“乡”不可省略，不用简称或旧称）；"
        "属于其他县（区）的记录请移交所属县（区）报送。",
        _in_parameter(PARAM_TOWNSHIPS),
    ),
    "empty_iff": _CrossCheck(
        ExpectMulticolumnValuesToBeEmptyExactlyWhenInSet,
        Dimension.CONSISTENCY,
        Severity.MEDIUM,
        "{second}为{listed}时{first}为空，其他情况{first}必填",
        "{second}为{listed}时{first}应为空，其他情况必须填写。请核对{second}和{first}，更正录错的一项。",
        _column_list_and_values,
    ),
}


def _cross_field(entry: CatalogEntry, rule: CrossFieldRule) -> Expectation:
    check = _CROSS_CHECKS.get(rule.check)
    if check is None:
        raise ValueError(f"{entry.dataset_id}: 未知的校验规则 {rule.check}")
    cols = list(rule.columns)
    names = {
        "first": _q(entry.item(cols[0])),
        "second": _q(entry.item(cols[1])) if len(cols) > 1 else "",
        "listed": "、".join(rule.values or ()),
    }
    return _expectation(
        entry,
        check.cls,
        kind=rule.check,
        columns=cols,
        dimension=check.dimension,
        severity=check.severity,
        description=check.description.format(**names),
        fix=check.fix.format(**names),
        **check.arguments(cols, rule),
    )


def expectations_for(entry: CatalogEntry) -> list[Expectation]:
    """All expectations of a dataset, in a stable order: table, items, business key, rules."""
    out = [_columns_present(entry)]
    for item in entry.items:
        out.extend(_item_expectations(entry, item))
    out.extend(_business_key(entry))
    out.extend(_cross_field(entry, rule) for rule in entry.rules)
    return out
