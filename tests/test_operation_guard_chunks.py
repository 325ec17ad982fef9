"""The leak scan takes a column's distinct values a part at a time (``guards.SCAN_CHUNK``): its
counts are those of the whole column at once — on thousands of generated values with repeats, with
a raw identifier only in the last part, and where credit codes that pass Luhn are excused by the
column's share of credit codes, summed over every part."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from assets.classification.detectors import match_bank_card
from assets.common.check_chars import uscc_check_char
from assets.common.text import STRING
from assets.operation import guards
from assets.operation.guards import scan_for_leaks
from tests.pii_samples import make_card, make_id, make_phone
from tests.test_operation_guard_prefilter import _values

DIGIT_USCC = "0123456789"


def _scan(frame: pd.DataFrame, monkeypatch, chunk: int) -> dict:
    monkeypatch.setattr(guards, "SCAN_CHUNK", chunk)
    return scan_for_leaks(frame)


def _digit_uscc(rng: random.Random) -> str:
    """A valid credit code of digits only, starting like a bank card (62): it may pass Luhn."""
    while True:
        first17 = "62640500" + "".join(rng.choice(DIGIT_USCC) for _ in range(9))
        code = first17 + uscc_check_char(first17)
        if code.isdigit():
            return code


def test_parts_count_what_the_whole_column_counts(monkeypatch):
    rng = random.Random(5)
    values = _values(3_000, seed=21)
    values += [rng.choice(values) for _ in range(1_500)]  # repeats: counted by occurrence
    frame = pd.DataFrame({"free_text": pd.Series(values, dtype=STRING), "plain": values})
    whole = _scan(frame, monkeypatch, 10**9)
    assert whole and set(whole) == {"free_text", "plain"}
    for chunk in (500, 2_000):
        assert _scan(frame, monkeypatch, chunk) == whole


def test_a_raw_identifier_only_in_the_last_part_is_found(monkeypatch):
    rng = random.Random(8)
    clean = [f"申请人{i}号 138****{i % 10_000:04d}" for i in range(2_000)]
    identifier, phone = make_id(rng), make_phone(rng)
    frame = pd.DataFrame({"note": [*clean, f"证件号码：{identifier}", phone, phone]})
    # value_counts keeps the values' first-seen order: the identifiers are in the last part
    found = _scan(frame, monkeypatch, 100)
    assert found == {"note": {"cn_id_number": 1, "cn_mobile_phone": 2}}
    assert _scan(frame, monkeypatch, 10**9) == found


@pytest.mark.parametrize("codes_share_high", [True, False])
def test_credit_codes_are_excused_by_the_share_of_every_part(monkeypatch, codes_share_high):
    rng = random.Random(3)
    codes = [_digit_uscc(rng) for _ in range(400)]
    lucky = [c for c in codes if match_bank_card(pd.Series([c])).iloc[0]]  # read as cards
    assert lucky
    card = make_card(rng)
    filler = [] if codes_share_high else [f"摘要{i}" for i in range(2_000)]
    # the real card sits in the last part, the codes in the first ones
    frame = pd.DataFrame({"code": [*codes, *filler, card]})
    whole = _scan(frame, monkeypatch, 10**9)
    expected = 1 if codes_share_high else 1 + len(lucky)
    assert whole == {"code": {"bank_card": expected}}
    for chunk in (150, 401):
        assert _scan(frame, monkeypatch, chunk) == whole
