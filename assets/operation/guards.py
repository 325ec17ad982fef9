"""Guards of the operation platform, each enforced in code before anything is written there:

- ``scan_for_leaks`` / ``assert_no_leak``: the blocking leak scan. The personal-data detectors run over
  every published column (as text; timestamps excepted), on whole values and on digit runs inside free
  text; any cleartext ID number, mobile number or bank card stops the publish;
- ``ensure_publishable``: a 禁止开放 resource never reaches the zone (第四条);
- ``assert_k_anonymous``: the published table's smallest class over its quasi-identifiers is measured on
  the frame itself, not taken from the report;
- supply suspension (第二十七条) lives in ``suspension.py``; the asset asks it before publishing.

Errors name columns, types and counts — never a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.classification.detectors import (
    LABELS,
    MATCHERS,
    compact,
    contains_identifier,
    normalize_text,
)
from assets.classification.normalize import shared_normalization
from assets.common.catalog import CatalogEntry
from assets.common.identifiers import uscc_valid
from assets.common.pii import LEAK_TYPES
from assets.common.text import STRING, arrow_text
from assets.desensitization.desensitize import ProhibitedDatasetError
from assets.desensitization.kanonymity import measure_k


class LeakFound(ValueError):
    """Cleartext identifiers found in a frame meant for the operation platform."""

    def __init__(self, dataset_id: str, found: Mapping[str, Mapping[str, int]]) -> None:
        self.dataset_id = dataset_id
        self.found = {col: dict(kinds) for col, kinds in found.items()}
        parts = [
            f"{col}（" + "、".join(f"{LABELS[t]} {n} 处" for t, n in kinds.items()) + "）"
            for col, kinds in self.found.items()
        ]
        super().__init__(
            f"{dataset_id}: 泄露扫描发现明文标识符，拒绝发布到运营平台: {'；'.join(parts)}"
        )


class KAnonymityViolation(ValueError):
    """The frame's smallest class over its quasi-identifiers is below the threshold."""


def _scannable(values: pd.Series) -> bool:
    return not pd.api.types.is_datetime64_any_dtype(values.dtype) and not (
        pd.api.types.is_bool_dtype(values.dtype)
    )


# A column this much made of valid unified social credit codes holds legal entities' public codes.
USCC_COLUMN_SHARE = 0.5


def _uscc(text: pd.Series) -> pd.Series:
    """Values that are valid GB 32100 credit codes. An all-digit credit code can pass Luhn by chance
    (1 in 10) but is an organisation's public identifier, not a bank card — excused only in a column
    mostly made of credit codes (``USCC_COLUMN_SHARE`` of its values); elsewhere nothing is."""
    return uscc_valid(compact(text)).fillna(False).astype(bool)


# Digit groups separated by spaces or dashes inside free text (联系电话 138 1234 5678).
_SEPARATED_RUN = r"(?<![0-9A-Za-z])(\d{3,6}(?:[ \-]\d{2,8}){1,5}[Xx]?)(?![0-9A-Za-z])"


def _separated_identifiers(text: pd.Series) -> pd.DataFrame:
    """Per value, whether a run of digit groups inside it, joined, is an identifier of a leak type
    (the detectors' own scan reads only unbroken digit runs inside free text)."""
    found = pd.DataFrame(False, index=text.index, columns=list(LEAK_TYPES))
    runs = normalize_text(text).str.extractall(_SEPARATED_RUN)
    if not len(runs):
        return found
    joined = runs[0].str.replace(r"[ \-]", "", regex=True)
    joined = joined[joined.str.len() >= 11]
    for leak_type in LEAK_TYPES:
        hit = MATCHERS[leak_type](joined).groupby(level=0).any()
        found.loc[hit.index[hit.to_numpy(dtype=bool)], leak_type] = True
    return found


# Fewer digits than this cannot make an ID number (15/18), a mobile (11) or a bank card (16–19).
MIN_IDENTIFIER_DIGITS = 11


def _as_detected(distinct: pd.Series) -> pa.Array:
    """The values as the matchers read them: NFKC, trimmed (empty → null). ASCII text normalizes to
    itself (trimmed: only spaces go, which no screen below counts), so only values holding other
    characters (full-width digits …) go through NFKC."""
    array = arrow_text(distinct).cast(pa.large_string())
    other = pc.invert(pc.fill_null(pc.string_is_ascii(array), True))
    if pc.any(other).as_py():
        normalized = normalize_text(distinct[other.to_numpy(zero_copy_only=False)])
        replacement = pa.array(normalized.array).cast(pa.large_string())
        array = pc.replace_with_mask(array, other, replacement)
    return array


def _ascii_digits(array: pa.Array) -> np.ndarray:
    """ASCII digits in each value, counted on the UTF-8 bytes (no other character uses 0x30–0x39)."""
    counts = np.zeros(len(array), dtype=np.int64)
    data = array.buffers()[2]
    if data is None or not len(array):
        return counts
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    first = int(offsets[0])  # a slice's values may sit anywhere in a shared buffer
    octets = np.frombuffer(data, dtype=np.uint8)[first : int(offsets[-1])]
    # a running count of digits; 32 bits wherever they hold it (a fifth of the time of 64)
    width = np.int32 if len(octets) < 2**31 else np.int64
    running = np.zeros(len(octets) + 1, dtype=width)
    np.cumsum((octets >= 0x30) & (octets <= 0x39), out=running[1:])
    counts = (running[offsets[1:] - first] - running[offsets[:-1] - first]).astype(np.int64)
    counts[pc.is_null(array).to_numpy(zero_copy_only=False)] = 0
    return counts


def _digit_counts(distinct: pd.Series) -> np.ndarray:
    """ASCII digits of each value after normalization (NFKC, trimmed)."""
    return _ascii_digits(_as_detected(distinct))


def _column_hits(values: pd.Series) -> dict[str, int]:
    """Leak-type counts of one column. Each distinct value is scanned once, and only values holding
    enough digits to make an identifier at all, so masked, generalized and pseudonymized columns cost
    little."""
    text = values.dropna().astype(STRING)
    if text.empty:
        return {}
    occurrences = text.value_counts(sort=False)
    return _counted_hits(pd.Series(occurrences.index, dtype=STRING), occurrences.to_numpy())


def scan_counted(
    distinct: pd.Series, occurrences: Sequence[int] | np.ndarray, *, total: int | None = None
) -> dict[str, int]:
    """Leak-type counts of a column given as its distinct non-null values and how often each occurs
    (a ``GROUP BY`` in the zone): the same counts ``scan_for_leaks`` finds in the column itself,
    which the scan measures on distinct values anyway. Empty for a column it does not scan.

    ``total``: the column's non-null values when ``distinct`` leaves out values that cannot hold an
    identifier (fewer than ``MIN_IDENTIFIER_DIGITS`` digits once normalized); the share of credit
    codes is taken over all of them."""
    if distinct.empty or not _scannable(distinct):
        return {}
    weight = np.asarray(occurrences, dtype=np.int64)
    return _counted_hits(distinct.astype(STRING).reset_index(drop=True), weight, total)


# Which values can be or hold an identifier at all, beyond their digit count. Every matcher reads the
# normalized value. The whole-value matchers (ID number, mobile, bank card) accept nothing but digits
# and a final X once spaces, dashes, brackets and a +86 are dropped: a value holding a Han character
# or another ASCII letter can only hold an identifier inside, where the digit-run scans find it
# (``contains_identifier``'s ``_DIGIT_RUN``, ``_SEPARATED_RUN``). ``_RUN`` matches wherever either of
# those does: the same runs between the same edges, with any non-ASCII, non-Han character counted as
# a digit (Python's ``\d`` takes every Unicode digit; this way no Unicode version can differ).
_LETTER = r"[\p{Han}A-WYZa-wyz]"
_DIGIT = r"[^\x00-\x2f\x3a-\x7f\p{Han}]"
_RUN = (
    r"(?:^|[^0-9A-Za-z])"
    rf"(?:{_DIGIT}{{11,19}}|{_DIGIT}{{3,6}}(?:[ \-]{_DIGIT}{{2,8}}){{1,5}})"
    r"[Xx]?(?:$|[^0-9A-Za-z])"
)


def _may_hold_identifier(detected: pa.Array) -> np.ndarray:
    """Per normalized value (``_as_detected``), False only where no matcher can find an identifier."""
    letters = pc.fill_null(pc.match_substring_regex(detected, _LETTER), True)
    run = pc.fill_null(pc.match_substring_regex(detected, _RUN), False)
    return pc.or_(pc.invert(letters), run).to_numpy(zero_copy_only=False).astype(bool)


# Distinct values scanned at a time: a column of millions of distinct values (names, addresses,
# pseudonyms of 3M people) is normalized and matched a part at a time, never all at once (the whole
# column at once peaked at 2.5 GB over the worker's base at 10M rows). Every verdict below is on one
# value alone, except the share of credit codes, which is summed over the parts.
SCAN_CHUNK = 100_000


@dataclass
class _Part:
    """One part's findings: counts per leak type (bank cards whether or not a credit code), the
    bank-card hits that are valid credit codes, and the weight of the part's credit codes among
    its values with an identifier's digits (None: not measured)."""

    counts: dict[str, int]
    bank_codes: int = 0
    code_weight: int | None = None


def _candidates(distinct: pd.Series) -> tuple[pa.Array, np.ndarray]:
    detected = _as_detected(distinct)
    return detected, _ascii_digits(detected) >= MIN_IDENTIFIER_DIGITS


def _code_weight(distinct: pd.Series, weight: np.ndarray) -> int:
    """Occurrences of valid credit codes among the values with an identifier's digits."""
    with shared_normalization():
        _, candidates = _candidates(distinct)
        if not candidates.any():
            return 0
        codes = _uscc(distinct[candidates]).to_numpy()
        return int(weight[candidates][codes].sum())


def _part_hits(distinct: pd.Series, weight: np.ndarray) -> _Part:
    none = _Part(dict.fromkeys(LEAK_TYPES, 0))
    detected, candidates = _candidates(distinct)
    if not candidates.any():
        return none
    # pseudonyms, credit codes with letters, UUIDs, document numbers …: enough digits, but none
    # where a matcher looks
    scanned = candidates.copy()
    scanned[candidates] = _may_hold_identifier(detected.filter(pa.array(candidates)))
    if not scanned.any():
        return none
    sample = distinct[scanned]
    hits = contains_identifier(sample) | _separated_identifiers(sample)
    weights = weight[scanned]
    part = _Part({t: int(weights[hits[t].to_numpy()].sum()) for t in LEAK_TYPES})
    if part.counts["bank_card"]:
        codes = _uscc(sample).to_numpy()
        part.bank_codes = int(weights[hits["bank_card"].to_numpy() & codes].sum())
        part.code_weight = _code_weight(distinct, weight)
    return part


def _counted_hits(
    distinct: pd.Series, weight: np.ndarray, total: int | None = None
) -> dict[str, int]:
    """Leak-type counts over distinct text values, each counted ``weight`` times (``total``: the
    column's values, when more than ``weight`` sums to)."""
    parts = []
    for start in range(0, len(distinct), SCAN_CHUNK):
        chunk = distinct.iloc[start : start + SCAN_CHUNK].reset_index(drop=True)
        with shared_normalization():  # the part's values normalized once for every check
            parts.append((start, _part_hits(chunk, weight[start : start + SCAN_CHUNK])))
    counts = {t: sum(p.counts[t] for _, p in parts) for t in LEAK_TYPES}
    if counts["bank_card"]:
        # the column's share of credit codes, among all its values with an identifier's digits
        codes = sum(
            p.code_weight
            if p.code_weight is not None
            else _code_weight(
                distinct.iloc[start : start + SCAN_CHUNK].reset_index(drop=True),
                weight[start : start + SCAN_CHUNK],
            )
            for start, p in parts
        )
        values = weight.sum() if total is None else total
        if float(codes) / float(values) >= USCC_COLUMN_SHARE:
            counts["bank_card"] -= sum(p.bank_codes for _, p in parts)
    return {t: n for t, n in counts.items() if n}


def scan_for_leaks(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per column, how many values are or contain a cleartext identifier of each leak type (ID
    number, mobile, bank card). Columns without any are left out; an empty result means clean."""
    found: dict[str, dict[str, int]] = {}
    for column in frame.columns:
        if _scannable(frame[column]):
            counts = _column_hits(frame[column])
            if counts:
                found[str(column)] = counts
    return found


def assert_no_leak(frame: pd.DataFrame, dataset_id: str) -> None:
    """Raise ``LeakFound`` when any column holds a cleartext identifier."""
    found = scan_for_leaks(frame)
    if found:
        raise LeakFound(dataset_id, found)


def ensure_publishable(entry: CatalogEntry) -> None:
    """第四条: a resource whose 开放属性 is 禁止开放 is never operated."""
    if entry.is_prohibited:
        raise ProhibitedDatasetError(
            f"{entry.title}（{entry.dataset_id}）开放属性为禁止开放，不得进入运营平台"
        )


def assert_k_anonymous(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], threshold: int, dataset_id: str
) -> int | None:
    """The frame's k over ``quasi_identifiers`` (None when there are none or no rows); raises
    ``KAnonymityViolation`` when it is below ``threshold``."""
    columns = [c for c in quasi_identifiers if c in frame.columns]
    missing = sorted(set(quasi_identifiers) - set(columns))
    if missing:
        raise KAnonymityViolation(f"{dataset_id}: 发布数据缺少准标识符列 {', '.join(missing)}")
    k = measure_k(frame, columns)
    if k is not None and k < threshold:
        raise KAnonymityViolation(
            f"{dataset_id}: k-匿名度 {k} 低于阈值 {threshold}（准标识符 {', '.join(columns)}）"
        )
    return k


def emptied_columns(frame: pd.DataFrame) -> list[str]:
    """Published columns that say nothing: every value empty or nothing but mask characters (a
    column desensitization masked or generalized to ``*`` in every row). The frame must have rows."""
    emptied = []
    if not len(frame):
        return emptied
    for column in frame.columns:
        values = frame[column]  # nulls count as blank: no dropna (a copy of every object column)
        # one informative value among the first few rows settles it for almost every column
        if all_blank(values.iloc[:_EMPTIED_HEAD]) and all_blank(values):
            emptied.append(str(column))
    return emptied


_EMPTIED_HEAD = 64


def all_blank(values: pd.Series) -> bool:
    """Every (non-null) value empty or mask characters only, once trimmed. A verdict on each value
    alone: the same on a column's distinct values as on all of them."""
    text = values.astype("string").str.strip()
    return bool((text.isna() | text.fillna("").str.fullmatch(r"[*＊]*")).all())
