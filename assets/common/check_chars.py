"""Check characters of the national identifier standards, one value at a time, and the identifiers'
shapes as regular expressions. Plain Python: the merchants' credit codes are checked where nothing else
loads numpy or pandas (the run's summary); the vectorized validators are in ``identifiers.py``.

- GB 11643 citizen ID number: 17 digits + ISO 7064 MOD 11-2 check character (0-9 or X).
- GB 32100 unified social credit code: 17 characters of the code alphabet + a MOD 31 check character.
- Bank card numbers: 16–19 digits with a Luhn check digit.
"""

from __future__ import annotations

ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK_CHARS = "10X98765432"  # by the weighted sum modulo 11

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9X]$"
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
LANDLINE_PATTERN = r"^0[0-9]{2,3}-?[0-9]{7,8}$"


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def luhn_check_digit(partial: str) -> str:
    """The Luhn digit that completes ``partial`` (the card number without its last digit)."""
    total = 0
    for i, d in enumerate(reversed(partial)):
        n = int(d)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str((10 - total % 10) % 10)
