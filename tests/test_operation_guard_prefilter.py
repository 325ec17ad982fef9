"""The leak scan's pre-filter (``guards._may_hold_identifier``) only spares values no matcher can find
an identifier in: on thousands of generated values — identifiers whole, inside free text, split by
spaces and dashes, next to letters, among pseudonyms, credit codes and UUIDs — every value the
detectors flag is still scanned, and the scan's counts are those of scanning every value with an
identifier's digits (the scan before the pre-filter)."""

from __future__ import annotations

import random
import uuid

import pandas as pd
import pyarrow as pa

from assets.classification.detectors import contains_identifier
from assets.classification.normalize import normalize_text, shared_normalization
from assets.common.pii import LEAK_TYPES
from assets.common.text import STRING
from assets.desensitization.pseudonymize import pseudonymize
from assets.operation import guards
from assets.operation.guards import scan_for_leaks
from tests.pii_samples import make_card, make_id, make_legacy_id, make_phone, make_uscc

KEY = bytes(range(32))
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _split(rng: random.Random, digits: str) -> str:
    cuts = sorted(rng.sample(range(3, len(digits) - 2), rng.randint(1, 3)))
    parts = [digits[i:j] for i, j in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    return rng.choice([" ", "-"]).join(parts)


def _values(n: int = 4_000, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    makers = [make_id, make_legacy_id, make_card, make_phone, make_uscc]
    out: list[str] = []
    for _ in range(n):
        identifier = rng.choice(makers)(rng)
        letter = rng.choice(LETTERS)
        shape = rng.randrange(20)
        if shape == 0:
            out.append(identifier)
        elif shape == 1:
            out.append(f"{letter}{identifier}")  # glued to a letter: not a digit run
        elif shape == 2:
            out.append(f"{identifier}{letter}")
        elif shape == 3:
            out.append(f"ref {identifier} ok")
        elif shape == 4:
            out.append(f"tel:{_split(rng, identifier)}")
        elif shape == 5:
            out.append(f"No.{identifier[:8]}{letter}{identifier[8:]}")
        elif shape == 6:
            out.append(str(uuid.UUID(int=rng.getrandbits(128))))
        elif shape == 7:
            out.append(
                "".join(rng.choice("0123456789abcdefxX -") for _ in range(rng.randint(11, 30)))
            )
        elif shape == 8:
            out.append(f"({identifier[:3]}){identifier[3:]}")
        elif shape == 9:
            out.append(f"+86 {identifier}")
        elif shape == 10:
            out.append(f"{identifier[:6]}x{identifier[6:]}")
        elif shape == 11:
            out.append(f"申请人{letter}{identifier}号")
        elif shape == 12:
            out.append(f"证件号码：{identifier}")
        elif shape == 13:  # full-width digits: NFKC makes them ASCII
            out.append("".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in identifier))
        elif shape == 14:
            out.append(f"宁(2026)沙坡头区不动产权第{identifier[: rng.randint(7, 12)]}号")
        elif shape == 15:
            out.append(f"联系电话{_split(rng, identifier)}转{rng.randint(1, 9)}")
        elif shape == 16:  # an ideographic space between digit groups
            out.append(f"地址{letter}{identifier[:5]}\u3000{identifier[5:]}")
        elif shape == 17:  # a Unicode digit that is not ASCII
            i = rng.randrange(len(identifier))
            out.append(f"编号 {identifier[:i]}\u0663{identifier[i + 1 :]} 王")
        elif shape == 18:  # circled digits: NFKC makes them ASCII
            circled = {str(d): chr(0x2460 + d - 1) for d in range(1, 10)} | {"0": "\u24ea"}
            out.append("户号" + "".join(circled.get(c, c) for c in identifier))
        else:
            out.append(f"{rng.choice('张王李')}{identifier}{rng.choice('号室')}")
    pseudonyms = pseudonymize(pd.Series(out[: n // 4], dtype=STRING), KEY)
    return out + [str(p) for p in pseudonyms]


def _flagged(values: pd.Series) -> pd.Series:
    with shared_normalization():
        hits = contains_identifier(values) | guards._separated_identifiers(values)
    return hits.any(axis=1)


def test_every_value_the_detectors_flag_passes_the_prefilter():
    values = pd.Series(_values(), dtype=STRING).drop_duplicates().reset_index(drop=True)
    flagged = _flagged(values).to_numpy()
    kept = guards._may_hold_identifier(guards._as_detected(values))
    assert flagged.sum() > 500  # the corpus holds plenty of findable identifiers
    assert (~kept).sum() > 1_000  # and plenty the pre-filter spares the detectors
    assert not (flagged & ~kept).any(), values[flagged & ~kept].tolist()[:5]


def _scan_without_prefilter(values: pd.Series) -> dict[str, int]:
    """The scan as it was before the pre-filter: every value with an identifier's digits."""
    text = values.dropna().astype(STRING)
    occurrences = text.value_counts(sort=False)
    distinct = pd.Series(occurrences.index, dtype=STRING)
    weight = occurrences.to_numpy()
    digits = normalize_text(distinct).str.count(r"[0-9]").fillna(0).to_numpy()
    candidates = digits >= guards.MIN_IDENTIFIER_DIGITS
    sample = distinct[candidates]
    with shared_normalization():
        hits = contains_identifier(sample) | guards._separated_identifiers(sample)
    if bool(hits["bank_card"].any()):
        share = float(weight[candidates][guards._uscc(sample).to_numpy()].sum()) / weight.sum()
        if share >= guards.USCC_COLUMN_SHARE:
            hits["bank_card"] &= ~guards._uscc(sample)
    counts = {t: int(weight[candidates][hits[t].to_numpy()].sum()) for t in LEAK_TYPES}
    return {t: n for t, n in counts.items() if n}


def test_the_scan_counts_what_scanning_every_candidate_counts():
    rng = random.Random(5)
    values = _values(2_000, seed=21)
    repeated = [rng.choice(values) for _ in range(3_000)]  # duplicates weigh
    column = pd.Series(values + repeated, dtype=STRING)
    assert scan_for_leaks(pd.DataFrame({"c": column})) == {"c": _scan_without_prefilter(column)}
    # a credit-code column: all-digit codes that pass Luhn are excused as before
    codes = pd.Series([make_uscc(rng) for _ in range(2_000)], dtype=STRING)
    assert scan_for_leaks(pd.DataFrame({"c": codes})).get("c", {}) == _scan_without_prefilter(codes)


def test_a_raw_id_number_hidden_in_a_later_duplicate_value_is_caught():
    rng = random.Random(3)
    id_number = make_id(rng)
    pseudonym = str(pseudonymize(pd.Series([id_number], dtype=STRING), KEY).iloc[0])
    hidden = f"{pseudonym} {id_number}"  # letters everywhere, the ID number after a space
    column = [pseudonym] * 5_000 + [hidden] + [pseudonym] * 100 + [hidden] * 2
    found = scan_for_leaks(pd.DataFrame({"id_number": pd.Series(column, dtype=STRING)}))
    assert found == {"id_number": {"cn_id_number": 3}}
    glued = f"{pseudonym}{id_number}"  # glued to the pseudonym: no detector reads it, before or now
    assert scan_for_leaks(pd.DataFrame({"c": [pseudonym] * 10 + [glued]})) == {}
    assert _scan_without_prefilter(pd.Series([glued], dtype=STRING)) == {}


def test_digits_are_counted_on_slices_of_a_shared_buffer():
    values = pa.array(["abc123", None, "１２3", "", "12345678901x", "z9"], pa.large_string())
    for part in (values, values.slice(2), values.slice(1, 3), values.slice(4)):
        expected = [sum(c in "0123456789" for c in v or "") for v in part.to_pylist()]
        assert guards._ascii_digits(part).tolist() == expected
