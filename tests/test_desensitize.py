"""Desensitization: keyed HMAC-SM3 pseudonyms, key handling, the policy, generalization, k-anonymity,
and the guarantee that no cleartext ID number, mobile or bank card reaches the output."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.check_chars import id_check_char, luhn_check_digit
from assets.common.city import load_city
from assets.common.identifiers import id_number_valid, luhn_valid, mobile_valid
from assets.desensitization import pseudonymize as pseudonymize_module
from assets.desensitization.desensitize import (
    DesensitizedFrame,
    ProhibitedDatasetError,
    desensitize,
)
from assets.desensitization.kanonymity import measure_k
from assets.desensitization.policy import DesensitizationPolicy, load_policy
from assets.desensitization.pseudonym_key import PseudonymKeyError, load_key
from assets.desensitization.pseudonymize import (
    encode_digest,
    encode_digests,
    hmac_digests,
    key_id,
    pseudonym,
    pseudonymize,
)
from assets.governance.govern import govern

CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
CITY = load_city()
POLICY = load_policy()
KEY = b"publicdata-test-key-0123456789ab"
OTHER_KEY = b"another-secret-key-for-rotation!"
AS_OF = date(2024, 6, 30)


# --- data that looks like a department's delivery ---------------------------------------------------


def _ids(rng: np.random.Generator, counties: np.ndarray, born: pd.Series, male: np.ndarray) -> list:
    seq = rng.integers(0, 500, len(born)) * 2 + male.astype(int)
    first17 = [f"{c}{b:%Y%m%d}{s:03d}" for c, b, s in zip(counties, born, seq, strict=True)]
    return [f + id_check_char(f) for f in first17]


def _provenance(frame: pd.DataFrame, counties: np.ndarray, entry_id: str) -> pd.DataFrame:
    n = len(frame)
    frame["county_code"] = counties
    frame["period"] = "2024-05"
    frame["source_department"] = "dept"
    frame["source_file"] = [f"landing/{c}/{entry_id}/2024-05.csv" for c in counties]
    frame["file_checksum"] = "ab" * 32
    frame["batch_id"] = "batch-1"
    frame["ingested_at"] = pd.Timestamp("2024-06-01T08:00Z")
    frame["source_row"] = np.arange(2, n + 2)
    return frame


def households(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.array(CITY.county_codes)
    counties = rng.choice(codes, n)
    born = pd.Series(pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 27000, n), "D"))
    male = rng.random(n) < 0.5
    townships = [rng.choice(CITY.county(c).townships) for c in counties]
    frame = pd.DataFrame(
        {
            "name": rng.choice(["张伟", "王芳", "李娜", "马军", "杨敏", "丁海"], n),
            "id_number": _ids(rng, counties, born, male),
            "gender": np.where(male, "男", "女"),
            "ethnicity": rng.choice(
                ["汉族", "回族", "满族", "蒙古族"], n, p=[0.62, 0.35, 0.02, 0.01]
            ),
            "birth_date": born.dt.strftime("%Y/%m/%d"),
            "address": [
                f"{CITY.county(c).name}{t}{k}村{d}号"
                for c, t, k, d in zip(
                    counties, townships, rng.integers(1, 9, n), rng.integers(1, 99, n), strict=True
                )
            ],
            "phone": [
                f"{p}{x:08d}"
                for p, x in zip(
                    rng.choice([138, 139, 158, 187], n), rng.integers(0, 10**8, n), strict=True
                )
            ],
            "region_code": counties,
            "registered_on": (born + pd.to_timedelta(rng.integers(0, 3000, n), "D")).dt.strftime(
                "%Y-%m-%d"
            ),
        }
    )
    frame["registered_on"] = frame["registered_on"].where(
        pd.to_datetime(frame["registered_on"]) <= pd.Timestamp(AS_OF), "2024-01-01"
    )
    return _provenance(frame, counties, "household_registration")


def subsidies(n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counties = rng.choice(np.array(CITY.county_codes), n)
    born = pd.Series(pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), "D"))
    male = rng.random(n) < 0.5
    cards = [card for card in (f"62220202{x:010d}" for x in rng.integers(0, 10**10, n))]
    frame = pd.DataFrame(
        {
            "name": rng.choice(["张伟", "王芳", "马军"], n),
            "id_number": _ids(rng, counties, born, male),
            "bank_card": [c + luhn_check_digit(c) for c in cards],
            "subsidy_type": rng.choice(["耕地地力保护补贴", "枸杞产业补贴"], n),
            "amount": np.round(rng.uniform(50, 20000, n), 2).astype(str),
            "paid_on": "2024-05-20",
            "township": [rng.choice(CITY.county(c).townships) for c in counties],
            "phone": [f"139{x:08d}" for x in rng.integers(0, 10**8, n)],
        }
    )
    return _provenance(frame, counties, "agricultural_subsidies")


def governed(dataset: str, frame: pd.DataFrame) -> pd.DataFrame:
    result = govern(frame, CATALOG[dataset], city=CITY, as_of=AS_OF)
    assert result.quarantine.empty, result.quarantine["rule_ids"].value_counts().to_dict()
    return result.governed


@pytest.fixture(scope="module")
def household_governed() -> pd.DataFrame:
    return governed("household_registration", households(1500))


@pytest.fixture(scope="module")
def household_published(household_governed: pd.DataFrame) -> DesensitizedFrame:
    entry = CATALOG["household_registration"]
    return desensitize(household_governed, entry, levels=None, policy=POLICY, key=KEY, city=CITY)


def leaks(frame: pd.DataFrame) -> dict[str, int]:
    """Cleartext ID numbers, mobiles or bank cards in any cell or inside any cell's text."""
    found: dict[str, int] = {}
    for column in frame.columns:
        text = frame[column].astype("string")
        candidates = pd.concat(
            [text.dropna(), text.str.extractall(r"(\d[\dX]{10,18})")[0]], ignore_index=True
        )
        hits = int(
            (id_number_valid(candidates) | mobile_valid(candidates) | luhn_valid(candidates)).sum()
        )
        if hits:
            found[column] = hits
    return found


# --- pseudonyms --------------------------------------------------------------------------------------


def test_pseudonym_is_hmac_sm3() -> None:
    # HMAC (RFC 2104) built by hand on SM3 (block size 64) agrees with the module's pseudonym
    value = "640502199001010113"
    key = KEY.ljust(64, b"\0")
    inner = hashlib.new("sm3", bytes(b ^ 0x36 for b in key) + value.encode()).digest()
    outer = hashlib.new("sm3", bytes(b ^ 0x5C for b in key) + inner).digest()
    assert pseudonym(value, KEY) == base64.b32encode(outer).decode().rstrip("=").lower()
    # and it is not the unkeyed hash, which anyone could compute over the whole ID space
    unkeyed = hashlib.new("sm3", value.encode()).digest()
    assert pseudonym(value, KEY) != base64.b32encode(unkeyed).decode().rstrip("=").lower()


def test_pseudonyms_stable_across_runs_and_distinct_per_value() -> None:
    values = pd.Series(["640502199001010113", "13812345678", None, "640502199001010113"])
    first = pseudonymize(values, KEY)
    second = pseudonymize(values.copy(), bytes(KEY))
    assert first.tolist()[:2] == second.tolist()[:2]
    assert pd.isna(first.iloc[2])
    assert first.iloc[0] == first.iloc[3] != first.iloc[1]
    assert first.str.fullmatch(r"[a-z2-7]{52}").dropna().all()


def test_pseudonyms_differ_under_another_key() -> None:
    values = pd.Series(["640502199001010113", "13812345678"])
    assert not (pseudonymize(values, KEY) == pseudonymize(values, OTHER_KEY)).any()
    assert key_id(KEY) != key_id(OTHER_KEY) and len(key_id(KEY)) == 12


def test_each_distinct_value_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_digests = pseudonymize_module.hmac_digests

    def counting_digests(key, messages):
        messages = list(messages)
        calls.extend(messages)
        return real_digests(key, messages)

    monkeypatch.setattr(pseudonymize_module, "hmac_digests", counting_digests)
    values = pd.Series(["a", "b", "a", None, "b", "a"] * 100)
    out = pseudonymize(values, KEY)
    assert len(calls) == 2 and out.nunique() == 2


@pytest.mark.parametrize("key_bytes", [16, 63, 64, 65, 200])
def test_hmac_from_the_padded_key_states_is_hmac_digest(key_bytes: int) -> None:
    key = bytes((7 * i + 3) % 256 for i in range(key_bytes))  # longer than a block: hashed first
    messages = [b"", b"640502199001010113", "张三·李".encode(), b"x" * 1000, b"\0\xff"]
    assert hmac_digests(key, messages) == [hmac.digest(key, m, "sm3") for m in messages]


def test_short_key_refused() -> None:
    with pytest.raises(PseudonymKeyError, match="至少需要 16 字节"):
        load_key("short-key", None)
    with pytest.raises(PseudonymKeyError):
        pseudonymize(pd.Series(["x"]), b"too-short")


def test_key_from_file_and_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_bytes(b"0123456789abcdef0123\n")
    assert load_key(None, key_file) == b"0123456789abcdef0123"
    assert (
        load_key("environment-key-value-32-bytes!!", key_file)
        == b"environment-key-value-32-bytes!!"
    )
    weak = tmp_path / "weak.key"
    weak.write_bytes(b"secret-123\n")
    with pytest.raises(PseudonymKeyError) as refused:
        load_key(None, weak)
    assert "secret-123" not in str(refused.value)  # the message never discloses the key
    with pytest.raises(PseudonymKeyError, match="未配置"):
        load_key(None, None)
    with pytest.raises(PseudonymKeyError, match="无法读取"):
        load_key("", tmp_path / "missing.key")


# --- the operation-platform output ---------------------------------------------------------------


def test_no_cleartext_identifier_in_household_output(
    household_governed: pd.DataFrame, household_published: DesensitizedFrame
) -> None:
    # the input is full of them, the output has none
    assert leaks(household_governed)
    assert leaks(household_published.frame) == {}
    report = household_published.report
    assert report.transformations["id_number"] == "pseudonymized"
    assert report.transformations["name"] == "masked"
    assert report.transformations["phone"] == "masked"
    assert household_published.frame["name"].str.fullmatch(r".\*+").all()


def test_k_anonymity_reached_on_generated_households(
    household_governed: pd.DataFrame, household_published: DesensitizedFrame
) -> None:
    report = household_published.report
    frame = household_published.frame
    assert report.k_threshold == 5
    assert set(report.quasi_identifiers) >= {"gender", "ethnicity", "birth_date", "address"}
    measured = measure_k(frame, list(report.quasi_identifiers))
    assert measured is not None and measured >= 5 and report.k == measured
    assert report.meets_threshold
    assert report.rows_in == len(household_governed)
    assert report.rows_out == len(frame) == report.rows_in - report.suppressed
    assert report.suppressed <= POLICY.max_suppression_rate * report.rows_in
    # birth dates never published to the day; addresses no finer than the township
    assert not frame["birth_date"].astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}").any()
    townships = {t for c in CITY.counties for t in c.townships}
    counties = {c.name for c in CITY.counties}
    assert set(frame["address"]) <= townships | counties | {"*"}


def test_k_anonymity_with_township_quasi_identifier() -> None:
    entry = CATALOG["agricultural_subsidies"]
    published = desensitize(
        governed("agricultural_subsidies", subsidies(600)),
        entry,
        levels=None,
        policy=POLICY,
        key=KEY,
        city=CITY,
    )
    report = published.report
    assert "township" in report.quasi_identifiers
    assert report.k is not None and report.k >= POLICY.k_threshold
    assert leaks(published.frame) == {}
    assert report.transformations["bank_card"] == "masked"


def test_threshold_is_configurable(household_governed: pd.DataFrame) -> None:
    strict = POLICY.model_copy(update={"k_threshold": 20})
    entry = CATALOG["household_registration"]
    published = desensitize(
        household_governed, entry, levels=None, policy=strict, key=KEY, city=CITY
    )
    assert published.report.k is not None and published.report.k >= 20


def test_row_identifying_provenance_dropped(household_published: DesensitizedFrame) -> None:
    columns = set(household_published.frame.columns)
    assert not columns & {"source_row", "source_file", "file_checksum"}
    assert {"county_code", "period", "batch_id"} <= columns
    assert household_published.report.dropped_columns == (
        "source_row",
        "source_file",
        "file_checksum",
    )


def test_pseudonymized_ids_join_across_datasets_only_under_the_same_key(
    household_governed: pd.DataFrame,
) -> None:
    entry = CATALOG["household_registration"]
    sample = household_governed.head(50)
    a = desensitize(sample, entry, levels=None, policy=POLICY, key=KEY, city=CITY)
    b = desensitize(sample, entry, levels=None, policy=POLICY, key=KEY, city=CITY)
    c = desensitize(sample, entry, levels=None, policy=POLICY, key=OTHER_KEY, city=CITY)
    assert a.frame["id_number"].tolist() == b.frame["id_number"].tolist()
    assert not set(a.frame["id_number"]) & set(c.frame["id_number"])
    assert a.report.key_id != c.report.key_id


def test_only_desensitize_builds_a_desensitized_frame(
    household_published: DesensitizedFrame,
) -> None:
    with pytest.raises(TypeError):
        DesensitizedFrame(frame=pd.DataFrame(), report=household_published.report)
    with pytest.raises(TypeError):
        DesensitizedFrame(pd.DataFrame(), household_published.report, object())


def test_prohibited_dataset_refused() -> None:
    entry = CATALOG["petition_records"]
    frame = pd.DataFrame(columns=entry.columns)
    with pytest.raises(ProhibitedDatasetError, match="禁止开放"):
        desensitize(frame, entry, levels=None, policy=POLICY, key=KEY, city=CITY)


def test_empty_frame() -> None:
    entry = CATALOG["household_registration"]
    published = desensitize(households(0), entry, levels=None, policy=POLICY, key=KEY, city=CITY)
    assert published.frame.empty and published.report.k is None
    assert published.report.meets_threshold


def test_fewer_rows_than_k_are_all_suppressed() -> None:
    entry = CATALOG["household_registration"]
    published = desensitize(
        governed("household_registration", households(3)),
        entry,
        levels=None,
        policy=POLICY,
        key=KEY,
        city=CITY,
    )
    assert published.frame.empty and published.report.suppressed == 3


# --- the policy ---------------------------------------------------------------------------------------


def test_levels_from_classification_choose_actions() -> None:
    entry = CATALOG["agricultural_subsidies"]
    frame = governed("agricultural_subsidies", subsidies(200))
    default = desensitize(frame, entry, levels=None, policy=POLICY, key=KEY, city=CITY)
    assert default.report.transformations["amount"] == "kept"
    graded = desensitize(
        frame,
        entry,
        levels={"amount": "L3", "paid_on": "L3", "subsidy_type": "L4", "id_number": "L1"},
        policy=POLICY,
        key=KEY,
        city=CITY,
    )
    report, out = graded.report, graded.frame
    assert report.transformations["amount"] == "generalized"
    assert out["amount"].str.fullmatch(r"\d+-\d+|<\d+|≥\d+").all()
    assert report.transformations["paid_on"] == "generalized" and set(out["paid_on"]) == {"2024"}
    assert report.transformations["subsidy_type"] == "masked"
    # a level can never release a direct identifier: the floor keeps the ID pseudonymized
    assert report.actions["id_number"] == "pseudonymize"
    assert leaks(out) == {}


def test_unknown_level_is_treated_as_strictest() -> None:
    entry = CATALOG["medical_institutions"]
    assert POLICY.action_for(level="核心", pii=None) == POLICY.action_for(level="L4", pii=None)
    assert POLICY.action_for(level="L1", pii="cn_id_number") == "pseudonymize"
    assert POLICY.action_for(level="L1", pii="person_name") == "mask"
    assert POLICY.level_of(entry.item("beds"), None) == "L1"


def test_detected_personal_data_is_protected_without_declaration() -> None:
    entry = CATALOG["market_entities"]
    frame = pd.DataFrame(
        {
            "uscc": ["91640502MA76ABCD1X"] * 6,
            "entity_name": [f"13{i}12345678" for i in range(3, 9)],  # names that are mobiles
            "address": "沙坡头区文昌镇",
        }
    )
    published = desensitize(
        frame,
        entry,
        levels=None,
        policy=POLICY,
        key=KEY,
        detected={"entity_name": "cn_mobile_phone"},
        city=CITY,
    )
    assert published.report.transformations["entity_name"] == "masked"
    assert leaks(published.frame) == {}


def test_landline_or_mobile_column_masks_only_mobiles() -> None:
    entry = CATALOG["medical_institutions"]
    frame = pd.DataFrame({"phone": ["0955-7012345", "13912345678"], "beds": [1, 2]})
    published = desensitize(frame, entry, levels=None, policy=POLICY, key=KEY, city=CITY)
    assert published.frame["phone"].tolist() == ["0955-7012345", "139****5678"]
    assert published.report.transformations["phone"] == "masked"


def test_policy_that_would_keep_names_in_clear_is_refused() -> None:
    raw = POLICY.model_dump()
    raw["minimum"] = {**raw["minimum"], "person_name": "keep"}
    with pytest.raises(ValueError, match="直接标识符"):
        DesensitizationPolicy.model_validate(raw)
    raw = POLICY.model_dump()
    raw["unknown_level"] = "L9"
    with pytest.raises(ValueError, match="L9"):
        DesensitizationPolicy.model_validate(raw)


def test_digests_encoded_in_one_pass_are_encoded_as_one_by_one():
    rng = np.random.default_rng(7)
    digests = [bytes(32), b"\xff" * 32, *(rng.bytes(32) for _ in range(500))]
    encoded = encode_digests(digests)
    assert str(encoded.dtype) == "string"
    assert list(encoded) == [encode_digest(d) for d in digests]
