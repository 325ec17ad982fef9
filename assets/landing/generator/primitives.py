"""Vectorized builders of realistic values: identifiers with correct check characters, phones, names,
dates and numbers as text. Every builder draws from a numpy ``Generator`` and works on whole arrays.

Strings are numpy unicode arrays; identifiers are assembled as (n, width) matrices of ASCII codes and
viewed as strings, so no Python loop runs over rows. The check characters reuse the weights and
alphabets of ``assets.common.identifiers`` (the validators the pipeline checks them with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from assets.common.check_chars import USCC_ALPHABET
from assets.common.identifiers import _USCC_VALUE, _USCC_WEIGHTS, id_check_bytes

Strings = np.ndarray  # 1-D numpy unicode array

_USCC_CODES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
_ORG_CODE_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)  # GB 11714
_ZERO = ord("0")


def ascii_strings(codes: np.ndarray) -> Strings:
    """The rows of an (n, width) matrix of ASCII codes as n strings."""
    m = np.ascontiguousarray(codes, dtype=np.uint8)
    n, width = m.shape
    return m.view(f"S{width}").reshape(n).astype(f"U{width}")


def ascii_codes(strings: Strings, width: int) -> np.ndarray:
    """Equal-width ASCII strings as an (n, width) matrix of codes."""
    return np.ascontiguousarray(strings.astype(f"S{width}")).view(np.uint8).reshape(-1, width)


def digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers) % 10


def concat(*parts: Strings | str) -> Strings:
    """Element-wise concatenation of string arrays and scalars."""
    result: Strings | str = parts[0]
    for part in parts[1:]:
        result = np.strings.add(result, part)
    return np.asarray(result)


def weighted(rng: np.random.Generator, table: Mapping[str, float], n: int) -> Strings:
    """``n`` draws from the keys of ``table`` with its values as relative weights."""
    keys = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=weights / weights.sum())]


def uniform_pick(rng: np.random.Generator, pool: Sequence[str], n: int) -> Strings:
    return np.asarray(pool)[rng.integers(0, len(pool), size=n)]


# --- dates --------------------------------------------------------------------------------------


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of a ``datetime64[D]`` array."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def date_strings(days: np.ndarray) -> Strings:
    """``YYYY-MM-DD`` text of a ``datetime64[D]`` array (years 1000–9999)."""
    year, month, day = date_parts(days)
    codes = np.empty((len(days), 10), dtype=np.uint8)
    codes[:, 0:4] = digits_of(year, 4) + _ZERO
    codes[:, 5:7] = digits_of(month, 2) + _ZERO
    codes[:, 8:10] = digits_of(day, 2) + _ZERO
    codes[:, [4, 7]] = ord("-")
    return ascii_strings(codes)


def uniform_dates(rng: np.random.Generator, start: np.datetime64, end: np.datetime64, n: int):
    """``n`` days drawn uniformly from ``start`` to ``end`` inclusive."""
    span = int((end - start).astype(np.int64)) + 1
    return start + rng.integers(0, max(span, 1), size=n).astype("timedelta64[D]")


def ages_to_birth_dates(
    rng: np.random.Generator,
    reference: np.datetime64,
    bands: Sequence[tuple[int, int, float]],
    n: int,
) -> np.ndarray:
    """Birth dates of people whose age on ``reference`` follows ``bands`` of (low, high, weight)."""
    weights = np.array([w for _, _, w in bands], dtype=float)
    band = rng.choice(len(bands), size=n, p=weights / weights.sum())
    low = np.array([lo for lo, _, _ in bands])[band]
    high = np.array([hi for _, hi, _ in bands])[band]
    age_days = ((low + rng.random(n) * (high - low)) * 365.2425).astype(np.int64)
    return reference - age_days.astype("timedelta64[D]")


# --- numbers ------------------------------------------------------------------------------------


def decimal_strings(values: np.ndarray, places: int) -> Strings:
    """Fixed-point text with ``places`` decimals (``places=0`` gives integers)."""
    scale = 10**places
    scaled = np.round(np.asarray(values, dtype=float) * scale).astype(np.int64)
    sign = np.where(scaled < 0, "-", "")
    magnitude = np.abs(scaled)
    whole = (magnitude // scale).astype(str)
    if places == 0:
        return concat(sign, whole)
    fraction = np.strings.zfill((magnitude % scale).astype(str), places)
    return concat(sign, whole, ".", fraction)


# --- GB 11643 citizen ID numbers ----------------------------------------------------------------


def id_numbers(
    rng: np.random.Generator, prefixes: np.ndarray, born: np.ndarray, male: np.ndarray
) -> Strings:
    """18-character ID numbers: division ``prefixes`` (ints), birth date, order code with the
    gender digit (odd for men), and the ISO 7064 MOD 11-2 check character."""
    n = len(born)
    year, month, day = date_parts(born)
    order = rng.integers(0, 100, size=n)
    gender_digit = rng.integers(0, 5, size=n) * 2 + male.astype(np.int64)
    first17 = (
        prefixes.astype(np.int64) * 10**11
        + (year * 10_000 + month * 100 + day) * 1_000
        + order * 10
        + gender_digit
    )
    digits = digits_of(first17, 17)
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, :17] = digits + _ZERO
    codes[:, 17] = id_check_bytes(codes)
    return ascii_strings(codes)


# --- GB 32100 unified social credit codes -------------------------------------------------------


def usccs(
    rng: np.random.Generator, registration: Strings, division: str, *, new_share: float = 0.6
):
    """Unified social credit codes: 2-character registration type (``91``, ``12`` …), the division
    code, a GB 11714 organisation code (``MA…`` for newer entities) and the GB 32100 check."""
    n = len(registration)
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, :2] = ascii_codes(registration, 2)
    codes[:, 2:8] = np.frombuffer(division.encode("ascii"), dtype=np.uint8)
    body = rng.integers(0, 10, size=(n, 8)) + _ZERO
    newer = rng.random(n) < new_share
    if newer.any():
        k = int(newer.sum())
        body[newer, 0] = ord("M")
        body[newer, 1] = ord("A")
        body[newer, 2:] = _USCC_CODES[rng.integers(0, len(_USCC_CODES), size=(k, 6))]
    codes[:, 8:16] = body
    values = np.where(body >= ord("A"), body - 55, body - _ZERO)
    org_check = 11 - (values @ _ORG_CODE_WEIGHTS) % 11
    codes[:, 16] = np.where(
        org_check == 10, ord("X"), np.where(org_check == 11, _ZERO, org_check + _ZERO)
    )
    total = _USCC_VALUE[codes[:, :17]] @ _USCC_WEIGHTS
    codes[:, 17] = _USCC_CODES[(31 - total % 31) % 31]
    return ascii_strings(codes)


# --- bank cards ---------------------------------------------------------------------------------


def luhn_digits(partial: np.ndarray) -> np.ndarray:
    """The Luhn check digit completing each row of an (n, width) digit matrix."""
    width = partial.shape[1]
    doubled = np.zeros(width, dtype=bool)
    doubled[width - 1 :: -2] = True  # rightmost digit of the partial number is doubled
    d = partial.copy()
    d[:, doubled] = np.where(d[:, doubled] > 4, d[:, doubled] * 2 - 9, d[:, doubled] * 2)
    return (10 - d.sum(axis=1) % 10) % 10


def bank_cards(rng: np.random.Generator, bins: Sequence[tuple[str, int, float]], n: int) -> Strings:
    """UnionPay card numbers: an issuer BIN, random account digits and a Luhn check digit."""
    weights = np.array([w for _, _, w in bins], dtype=float)
    choice = rng.choice(len(bins), size=n, p=weights / weights.sum())
    out = np.empty(n, dtype="U19")
    for i, (bin_code, length, _) in enumerate(bins):
        rows = np.flatnonzero(choice == i)
        if not len(rows):
            continue
        partial = rng.integers(0, 10, size=(len(rows), length - 1))
        partial[:, : len(bin_code)] = [int(c) for c in bin_code]
        codes = np.empty((len(rows), length), dtype=np.uint8)
        codes[:, :-1] = partial + _ZERO
        codes[:, -1] = luhn_digits(partial) + _ZERO
        out[rows] = ascii_strings(codes)
    return out


# --- phones -------------------------------------------------------------------------------------


def mobiles(rng: np.random.Generator, prefixes: Mapping[str, float], n: int) -> Strings:
    """Mainland mobile numbers: a 3-digit network prefix and 8 digits."""
    codes = np.empty((n, 11), dtype=np.uint8)
    codes[:, :3] = ascii_codes(weighted(rng, prefixes, n), 3)
    codes[:, 3:] = rng.integers(0, 10, size=(n, 8)) + _ZERO
    return ascii_strings(codes)


def landlines(rng: np.random.Generator, area_code: str, lead: str, n: int) -> Strings:
    """Landline numbers ``0955-7xxxxxx``: area code, hyphen, a 7-digit local number."""
    head = f"{area_code}-{lead}".encode("ascii")
    codes = np.empty((n, len(head) + 6), dtype=np.uint8)
    codes[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    codes[:, len(head) :] = rng.integers(0, 10, size=(n, 6)) + _ZERO
    return ascii_strings(codes)


# --- names --------------------------------------------------------------------------------------


def person_names(
    rng: np.random.Generator,
    male: np.ndarray,
    hui: np.ndarray,
    *,
    han_surnames: Mapping[str, float],
    hui_surnames: Mapping[str, float],
    male_given: str,
    female_given: str,
    single_share: float,
) -> Strings:
    """Chinese names: a weighted surname (by the person's community) and a 1–2 character given
    name from the pool of the person's gender."""
    n = len(male)
    surname = np.where(hui, weighted(rng, hui_surnames, n), weighted(rng, han_surnames, n))
    male_pool, female_pool = list(male_given), list(female_given)
    first = np.where(male, uniform_pick(rng, male_pool, n), uniform_pick(rng, female_pool, n))
    second = np.where(male, uniform_pick(rng, male_pool, n), uniform_pick(rng, female_pool, n))
    second = np.where(rng.random(n) < single_share, "", second)
    return concat(surname, first, second)


def small_numbers(rng: np.random.Generator, low: int, high: int, n: int) -> Strings:
    """Integers in [low, high] as text (house numbers, floors …)."""
    return rng.integers(low, high + 1, size=n).astype(str)
