"""Guards and stores of the operation platform as plain functions: the leak scan on real cases and
decoys, the suspension store with its audit rows (SQLite and PostgreSQL), the embedded key file."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from assets.audit import log as audit
from assets.common.check_chars import id_check_char, luhn_check_digit
from assets.desensitization.pseudonym_key import PseudonymKeyError
from assets.desensitization.pseudonymize import pseudonymize
from assets.operation.guards import KAnonymityViolation, assert_k_anonymous, scan_for_leaks
from assets.operation.keyfile import ensure_key_file
from assets.operation.suspension import (
    SuspensionError,
    active_suspensions,
    resume_supply,
    suspend_supply,
    suspension_history,
)
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from tests.helpers import settings_for

ID_NUMBER = "64052219850615232" + id_check_char("64052219850615232")
LEGACY_ID = "640502850615123"  # 15-digit ID of before 1999
CARD = "6222020200112233" + luhn_check_digit("6222020200112233")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (ID_NUMBER, "cn_id_number"),
        (ID_NUMBER[:-1] + ID_NUMBER[-1].lower(), "cn_id_number"),
        (f"申请人{ID_NUMBER}要求复查", "cn_id_number"),
        ("13812345678", "cn_mobile_phone"),
        ("+86 138-1234-5678", "cn_mobile_phone"),
        ("请联系 138 1234 5678 王先生", "cn_mobile_phone"),
        ("１３８１２３４５６７８", "cn_mobile_phone"),
        (LEGACY_ID, "cn_id_number"),
        (CARD, "bank_card"),
        (f"卡号：{CARD}", "bank_card"),
    ],
)
def test_leak_scan_finds_cleartext_identifiers(value, kind):
    found = scan_for_leaks(pd.DataFrame({"free_text": ["无", value, None]}))
    assert found == {"free_text": {kind: 1}}


@pytest.mark.parametrize(
    "value",
    [
        "6405**********2321",  # masked ID
        "138****5678",  # masked mobile
        "6222***********1234",
        "640522198506152320",  # 18 digits, wrong check digit (an order number)
        "12345678901",  # 11 digits outside the mobile segments
        "0955-7012345",  # landline
        "1990-1994",
        "100000-500000",
        "2026-Q3",
        "sgl3x4qrnlnh7w5wq2bm4mhx2aw2kduwsx7k3pwlh2njq3lzbxca",  # a pseudonym
        "20241105000123",  # a 14-digit serial
    ],
)
def test_leak_scan_ignores_masked_values_pseudonyms_and_decoys(value):
    assert scan_for_leaks(pd.DataFrame({"c": [value] * 3})) == {}


def test_leak_scan_reads_numbers_and_skips_timestamps():
    frame = pd.DataFrame(
        {
            "as_integer": pd.array([13812345678, 5, None], dtype="Int64"),
            "as_float": [13812345678.0, 1.5, None],
            "at": pd.to_datetime(["2026-01-01", "2026-01-02", None]),
        }
    )
    assert scan_for_leaks(frame) == {
        "as_integer": {"cn_mobile_phone": 1},
        "as_float": {"cn_mobile_phone": 1},
    }


def test_pseudonyms_never_trip_the_scan():
    ids = pd.Series([f"6405021990{i:07d}" for i in range(2000)])
    ids = ids.str.slice(0, 17) + ids.str.slice(0, 17).map(id_check_char)
    assert scan_for_leaks(pd.DataFrame({"id": pseudonymize(ids, b"k" * 32)})) == {}


def test_k_guard_measures_the_frame_itself():
    frame = pd.DataFrame({"gender": ["男"] * 5 + ["女"] * 2, "band": ["1990-1994"] * 7})
    with pytest.raises(KAnonymityViolation, match="k-匿名度 2"):
        assert_k_anonymous(frame, ["gender", "band"], 5, "d")
    assert assert_k_anonymous(frame, ["band"], 5, "d") == 7
    assert assert_k_anonymous(frame, [], 5, "d") is None
    with pytest.raises(KAnonymityViolation, match="缺少准标识符"):
        assert_k_anonymous(frame, ["township"], 5, "d")


# --- supply suspension ----------------------------------------------------------------------------


def test_suspension_and_resumption_are_recorded_and_audited(db_url):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)
    suspension, outcome = suspend_supply(
        engine,
        engine,
        dataset_id="household_registration",
        reason="发现疑似重识别风险",
        actor="市数据局 张三",
    )
    assert outcome is None and suspension.active and suspension.county_code is None
    county, _ = suspend_supply(
        engine,
        engine,
        dataset_id="household_registration",
        county_code="640522",
        reason="海原县数据待核",
        actor="市数据局 张三",
    )
    assert {s.id for s in active_suspensions(engine, "household_registration")} == {
        suspension.id,
        county.id,
    }
    with pytest.raises(SuspensionError, match="已处于暂停供给状态"):
        suspend_supply(
            engine, engine, dataset_id="household_registration", reason="again", actor="x"
        )
    with pytest.raises(SuspensionError, match="原因"):
        suspend_supply(engine, engine, dataset_id="market_entities", reason="  ", actor="x")
    with pytest.raises(SuspensionError, match="没有生效中的暂停供给"):
        resume_supply(engine, dataset_id="market_entities", reason="整改完成", actor="x")

    resumed = resume_supply(
        engine, dataset_id="household_registration", reason="已整改", actor="市数据局 李四"
    )
    assert resumed.id == suspension.id and not resumed.active
    assert [s.id for s in active_suspensions(engine)] == [county.id]
    assert len(suspension_history(engine, "household_registration")) == 2

    entries = audit.entries(engine, target_prefix="operation/household_registration")
    assert [(e.action, e.target, e.actor) for e in entries] == [
        (audit.SUSPEND, "operation/household_registration", "市数据局 张三"),
        (audit.SUSPEND, "operation/household_registration/640522", "市数据局 张三"),
        (audit.RESUME, "operation/household_registration", "市数据局 李四"),
    ]
    assert entries[0].reason == "发现疑似重识别风险" and entries[2].reason == "已整改"
    assert entries[2].detail["suspension_id"] == suspension.id


# --- the embedded key -----------------------------------------------------------------------------


def test_generated_key_is_random_private_and_stable(tmp_path):
    settings = settings_for(tmp_path / "a")
    first = settings.pseudonym_key_bytes()
    key_file = tmp_path / "a" / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert settings.pseudonym_key_bytes() == first and len(first) >= 32
    assert settings_for(tmp_path / "b").pseudonym_key_bytes() != first  # not a constant
    assert ensure_key_file(key_file) == key_file and key_file.read_bytes().strip() == first


def test_configured_key_wins(tmp_path):
    configured = settings_for(tmp_path, pseudonym_key="a-configured-key-of-32-bytes!!!!")
    assert configured.pseudonym_key_bytes() == b"a-configured-key-of-32-bytes!!!!"
    key_file = tmp_path / "managed.key"
    key_file.write_bytes(b"a-managed-key-file-of-32-bytes!!\n")
    from_file = settings_for(tmp_path, pseudonym_key_file=key_file)
    assert from_file.pseudonym_key_bytes() == b"a-managed-key-file-of-32-bytes!!"
    assert not (tmp_path / "secrets").exists()
    weak = settings_for(tmp_path, pseudonym_key="short")
    with pytest.raises(PseudonymKeyError, match="至少需要"):
        weak.pseudonym_key_bytes()


def test_emptied_columns_are_those_with_nothing_but_stars_or_blanks():
    import pandas as pd

    from assets.operation.guards import emptied_columns

    frame = pd.DataFrame(
        {
            "birth_date": ["*", "*", "*"],
            "note": [None, "", "  "],
            "name": ["张*", "*", "李**"],
            "county_code": ["640521", "640521", "640522"],
        }
    )
    assert emptied_columns(frame) == ["birth_date", "note"]

    # nulls are blank wherever they are: past the first rows one informative value still counts
    rows = 200
    late = pd.DataFrame(
        {
            "late_value": [None] * (rows - 1) + ["中卫市"],
            "stars_and_nans": [float("nan"), "*"] * (rows // 2),
            "all_null": [None] * rows,
            "name": ["张*"] * rows,
        }
    )
    assert emptied_columns(late) == ["stars_and_nans", "all_null"]
