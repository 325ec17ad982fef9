"""Custom Great Expectations (1.x) for the catalog rules GE has no built-in expectation for.

Every rule is first a plain vectorized function over pandas Series (``True`` = the value is as
expected), so the benchmark and other stages can run the very same rules without GE; the metric
providers below only adapt those functions to GE's pandas execution engine.

Values arrive as delivered text. Each rule judges only what it is about: a value that cannot be
parsed as a number or an ISO date fails the *format* expectation and passes the range, not-future
and cross-field ones, so one defect is reported once, under the right dimension.

Importing this module registers the expectations with GE; load suites only after importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Literal

import pandas as pd
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (  # noqa: E501
    multicolumn_condition_partial,
)

from assets.common.check_chars import ID_NUMBER_PATTERN
from assets.common.identifiers import (
    ascii_matrix,
    days_valid,
    digits_value,
    id_number_valid,
    luhn_valid,
    mobile_valid,
    phone_valid,
    uscc_valid,
)
from assets.common.text import STRING, arrow_text
from assets.quality.lean_metrics import LeanDependencies, use_lean_index_lists

ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DECIMAL_PATTERN = r"^-?\d+(?:\.\d+)?$"
INTEGER_PATTERN = r"^-?\d+$"
# GB/T 2260: two-digit province codes in use, then city and county digits.
DIVISION_CODE_PATTERN = r"^(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|81|82)\d{4}$"
# GB/T 4754: a section letter A–T and the 2–4 digits of division, group or class.
INDUSTRY_CODE_PATTERN = r"^[A-T]\d{2,4}$"
_HAN = "[\u4e00-\u9fff]"  # the characters themselves: pyarrow's RE2 knows no \\u escapes
# 宁(2025)中宁县不动产权第0001234号; full-width parentheses are the same certificate.
CERTIFICATE_NO_PATTERN = rf"^{_HAN}[(（]\d{{4}}[)）]{_HAN}{{2,12}}不动产权第\d{{7}}号$"
_PRINTABLE_ASCII = r"^[ -~]*$"

TextRule = Callable[[pd.Series], pd.Series]


def _text(values: pd.Series) -> pd.Series:
    return values.astype(STRING)


def _matches(values: pd.Series, pattern: str) -> pd.Series:
    return _text(values).str.fullmatch(pattern).fillna(False).astype(bool)


def iso_date_valid(values: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` and a real calendar date; every other spelling is a format failure."""
    ok = _matches(values, ISO_DATE_PATTERN)  # Arrow's \d: ASCII digits only
    if ok.any():
        m = ascii_matrix(arrow_text(_text(values[ok])), 10)
        ok.loc[ok] = days_valid(
            digits_value(m, 0, 4), digits_value(m, 5, 7), digits_value(m, 8, 10)
        )
    return ok


def _looks_like_person_id(values: pd.Series) -> pd.Series:
    """ID-number shaped with a 19xx/20xx birth date in digits 7–14 (no USCC of this city is)."""
    s = _text(values)
    shaped = s.str.fullmatch(ID_NUMBER_PATTERN).fillna(False).astype(bool)
    century = s.str.slice(6, 8).isin(["19", "20"]).fillna(False).astype(bool)
    return shaped & century


def _ascii_only(rule: TextRule) -> TextRule:
    """Non-ASCII text (full-width digits …) is invalid without reaching ``rule``: the
    identifier validators turn characters into bytes and need ASCII."""

    def checked(values: pd.Series) -> pd.Series:
        ascii_text = _matches(values, _PRINTABLE_ASCII) & _text(values).notna().to_numpy()
        return rule(_text(values).where(ascii_text)) & ascii_text

    return checked


def id_or_uscc_valid(values: pd.Series) -> pd.Series:
    """A person's GB 11643 ID number, or an entity's GB 32100 code that does not pose as an ID."""
    return id_number_valid(values) | (uscc_valid(values) & ~_looks_like_person_id(values))


FORMAT_RULES: dict[str, TextRule] = {
    "cn_id_number": _ascii_only(id_number_valid),
    "uscc": _ascii_only(uscc_valid),
    "bank_card": _ascii_only(luhn_valid),
    "cn_mobile": _ascii_only(mobile_valid),
    "phone": _ascii_only(phone_valid),
    "division_code": lambda s: _matches(s, DIVISION_CODE_PATTERN),
    "industry_code": lambda s: _matches(s, INDUSTRY_CODE_PATTERN),
    "certificate_no": lambda s: _matches(s, CERTIFICATE_NO_PATTERN),
    "id_or_uscc": _ascii_only(id_or_uscc_valid),
    "iso_date": iso_date_valid,
    "decimal": lambda s: _matches(s, DECIMAL_PATTERN),
    "integer": lambda s: _matches(s, INTEGER_PATTERN),
}
"""Catalog ``format`` names (plus the text forms of the date, decimal and integer types)."""

FormatName = Literal[
    "cn_id_number",
    "uscc",
    "bank_card",
    "cn_mobile",
    "phone",
    "division_code",
    "industry_code",
    "certificate_no",
    "id_or_uscc",
    "iso_date",
    "decimal",
    "integer",
]


def format_valid(values: pd.Series, format_name: str) -> pd.Series:
    """Blank text (only whitespace) is an empty value: the required rule's, not the format's."""
    return FORMAT_RULES[format_name](values) | ~not_blank(values)


def not_blank(values: pd.Series) -> pd.Series:
    """Present and not only whitespace."""
    s = _text(values)
    return (s.notna() & s.str.strip().ne("")).fillna(False).astype(bool)


def numeric_in_range(
    values: pd.Series,
    min_value: float | None = None,
    max_value: float | None = None,
    *,
    strict_min: bool = False,
    strict_max: bool = False,
) -> pd.Series:
    """Inside the bounds; text that is not a number is left to the format rule (``True``)."""
    numbers = pd.to_numeric(_text(values).where(_matches(values, DECIMAL_PATTERN)), errors="coerce")
    bad = pd.Series(False, index=values.index)
    if min_value is not None:
        bad |= (numbers <= min_value) if strict_min else (numbers < min_value)
    if max_value is not None:
        bad |= (numbers >= max_value) if strict_max else (numbers > max_value)
    return ~bad.fillna(False).astype(bool)


def not_after(values: pd.Series, as_of: str) -> pd.Series:
    """ISO dates not later than ``as_of`` (ISO text); non-dates are left to the format rule."""
    valid = iso_date_valid(values)
    return ~(valid & (_text(values) > as_of).fillna(False).astype(bool))


def id_agrees_with_birth_date(id_numbers: pd.Series, birth_dates: pd.Series) -> pd.Series:
    """ID digits 7–14 equal the birth date; malformed IDs or dates are left to their format rules."""
    ids = _text(id_numbers)
    comparable = _matches(ids, ID_NUMBER_PATTERN) & iso_date_valid(birth_dates)
    same = ids.str.slice(6, 14) == _text(birth_dates).str.replace("-", "", regex=False)
    return ~comparable | same.fillna(False).astype(bool)


def id_agrees_with_gender(id_numbers: pd.Series, genders: pd.Series) -> pd.Series:
    """ID digit 17 odd for 男, even for 女; other genders are left to the enum rule."""
    ids = _text(id_numbers)
    gender = _text(genders)
    comparable = _matches(ids, ID_NUMBER_PATTERN) & gender.isin(["男", "女"]).fillna(False)
    digit = pd.to_numeric(ids.str.slice(16, 17), errors="coerce")
    expected = (digit % 2).map({1: "男", 0: "女"})
    same = (gender == expected.astype("string")).fillna(False).astype(bool)
    return ~comparable | same


def dates_in_order(earlier: pd.Series, later: pd.Series) -> pd.Series:
    """``earlier`` <= ``later`` where both are ISO dates (ISO text orders like the dates)."""
    comparable = iso_date_valid(earlier) & iso_date_valid(later)
    ordered = (_text(earlier) <= _text(later)).fillna(False).astype(bool)
    return ~comparable | ordered


def empty_exactly_when_in_set(
    values: pd.Series, other: pd.Series, value_set: Sequence[str]
) -> pd.Series:
    """``values`` is empty exactly when ``other`` is in ``value_set``; an empty ``other`` is left
    to the required rule."""
    empty = ~not_blank(values)
    other_text = _text(other)
    in_set = other_text.isin(list(value_set)).fillna(False).astype(bool)
    return other_text.isna() | (empty == in_set)


# --- GE adapters -------------------------------------------------------------------------------


_MULTICOLUMN_DOMAIN_KEYS = (
    "batch_id",
    "table",
    "column_list",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)


class ColumnValuesNotBlank(ColumnMapMetricProvider):
    condition_metric_name = "column_values.not_blank"
    filter_column_isnull = False

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        return not_blank(column)


class ExpectColumnValuesToNotBeBlank(LeanDependencies, ExpectColumnValuesToNotBeNull):
    """Required item: the value is present and not only whitespace (完整性)."""

    map_metric: ClassVar[str] = "column_values.not_blank"


class ColumnValuesMatchCatalogFormat(ColumnMapMetricProvider):
    condition_metric_name = "column_values.match_catalog_format"
    condition_value_keys = ("format",)
    filter_column_isnull = False  # empty values pass the rule itself: no copy of the batch

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, format: str, **kwargs: object) -> pd.Series:
        return format_valid(column, format)


class ExpectColumnValuesToMatchCatalogFormat(LeanDependencies, ColumnMapExpectation):
    """The value is written in the catalog's format, check characters included (规范性)."""

    format: FormatName
    map_metric: ClassVar[str] = "column_values.match_catalog_format"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "format")


class ColumnValuesNumericBetween(ColumnMapMetricProvider):
    condition_metric_name = "column_values.numeric_between"
    condition_value_keys = ("min_value", "max_value", "strict_min", "strict_max")
    filter_column_isnull = False  # empty values pass the rule itself: no copy of the batch

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,
        column: pd.Series,
        min_value: float | None = None,
        max_value: float | None = None,
        strict_min: bool = False,
        strict_max: bool = False,
        **kwargs: object,
    ) -> pd.Series:
        return numeric_in_range(
            column, min_value, max_value, strict_min=strict_min, strict_max=strict_max
        )


class ExpectColumnValuesToBeNumericBetween(LeanDependencies, ColumnMapExpectation):
    """Numeric text inside the catalog's range; unparseable text is the format rule's (准确性)."""

    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    map_metric: ClassVar[str] = "column_values.numeric_between"
    success_keys: ClassVar[tuple[str, ...]] = (
        "mostly",
        "min_value",
        "max_value",
        "strict_min",
        "strict_max",
    )


class ColumnValuesNotFutureDates(ColumnMapMetricProvider):
    condition_metric_name = "column_values.not_future_dates"
    condition_value_keys = ("as_of",)
    filter_column_isnull = False  # empty values pass the rule itself: no copy of the batch

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, as_of: str, **kwargs: object) -> pd.Series:
        return not_after(column, str(as_of))


class ExpectColumnValuesToNotBeFutureDates(LeanDependencies, ColumnMapExpectation):
    """ISO dates not later than ``as_of`` (a suite parameter set per validation) (时效性)."""

    as_of: str | SuiteParameterDict
    map_metric: ClassVar[str] = "column_values.not_future_dates"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "as_of")


class MulticolumnIdMatchesBirthDate(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.id_number_matches_birth_date"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: object) -> pd.Series:
        return id_agrees_with_birth_date(column_list.iloc[:, 0], column_list.iloc[:, 1])


class ExpectMulticolumnValuesIdNumberToMatchBirthDate(LeanDependencies, MulticolumnMapExpectation):
    """column_list = [ID number, birth date]: ID digits 7–14 are the birth date (一致性)."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "any_value_is_missing"
    )
    map_metric: ClassVar[str] = "multicolumn_values.id_number_matches_birth_date"


class MulticolumnIdMatchesGender(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.id_number_matches_gender"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: object) -> pd.Series:
        return id_agrees_with_gender(column_list.iloc[:, 0], column_list.iloc[:, 1])


class ExpectMulticolumnValuesIdNumberToMatchGender(LeanDependencies, MulticolumnMapExpectation):
    """column_list = [ID number, gender]: ID digit 17 odd for 男, even for 女 (一致性)."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "any_value_is_missing"
    )
    map_metric: ClassVar[str] = "multicolumn_values.id_number_matches_gender"


class MulticolumnDatesChronological(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.dates_chronological"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: object) -> pd.Series:
        return dates_in_order(column_list.iloc[:, 0], column_list.iloc[:, 1])


class ExpectMulticolumnValuesToBeChronological(LeanDependencies, MulticolumnMapExpectation):
    """column_list = [earlier, later]: the first date is not after the second (时效性)."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "any_value_is_missing"
    )
    map_metric: ClassVar[str] = "multicolumn_values.dates_chronological"


class MulticolumnEmptyExactlyWhenInSet(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.empty_exactly_when_in_set"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("value_set",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls, column_list: pd.DataFrame, value_set: Sequence[str], **kwargs: object
    ) -> pd.Series:
        return empty_exactly_when_in_set(column_list.iloc[:, 0], column_list.iloc[:, 1], value_set)


class ExpectMulticolumnValuesToBeEmptyExactlyWhenInSet(LeanDependencies, MulticolumnMapExpectation):
    """column_list = [dependent, condition]: the first is empty exactly when the second is in
    ``value_set`` (一致性)."""

    value_set: list[str]
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "never"
    map_metric: ClassVar[str] = "multicolumn_values.empty_exactly_when_in_set"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "value_set")


# every map metric is registered now (GE's on import, ours above and in lean_metrics): their failing
# rows are listed from the named columns (lean_metrics.lean_unexpected_index_list)
use_lean_index_lists()
