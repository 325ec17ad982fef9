"""The operation-zone writer and its guards, on SQLite and PostgreSQL: only desensitized frames are
accepted, a cleartext identifier stops the publish, 禁止开放 never reaches the zone, the replacement is
atomic, and withdrawal keeps the remainder k-anonymous."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from assets.common.check_chars import id_check_char, luhn_check_digit, uscc_check_char
from assets.common.identifiers import luhn_valid, uscc_valid
from assets.desensitization.desensitize import ProhibitedDatasetError, desensitize
from assets.desensitization.kanonymity import measure_k
from assets.operation import writer
from assets.operation.guards import LeakFound
from assets.operation.writer import publish, read_published, withdraw
from assets.storage.engine import get_engine
from assets.storage.tables import operation_table_name
from tests.helpers import medical_rows
from tests.test_desensitize import CATALOG, CITY, KEY, POLICY, governed, households

ID_NUMBER = "64050219900101011" + id_check_char("64050219900101011")
CARD = "622202020000000001"[:18] + luhn_check_digit("622202020000000001"[:18])


def _medical(counties: dict[str, int], *, prefix: str = "医院") -> pd.DataFrame:
    parts = []
    for county, n in counties.items():
        frame = pd.DataFrame(medical_rows(n, prefix=f"{prefix}{county}-"))
        frame["county_code"] = county
        frame["period"] = "2026-Q3"
        frame["source_department"] = "health"
        frame["source_file"] = f"landing/{county}/medical_institutions/2026-Q3.csv"
        frame["file_checksum"] = "a" * 64
        frame["batch_id"] = "b" * 36
        frame["ingested_at"] = pd.Timestamp("2026-11-01T08:00Z")
        frame["source_row"] = range(2, n + 2)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def _desensitized(frame: pd.DataFrame, dataset_id: str = "medical_institutions"):
    return desensitize(frame, CATALOG[dataset_id], levels=None, policy=POLICY, key=KEY, city=CITY)


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_writer_refuses_a_plain_dataframe(db_url):
    engine = get_engine(db_url)
    frame = _medical({"640502": 3})
    with pytest.raises(TypeError, match="只接受经过脱敏"):
        publish(engine, CATALOG["medical_institutions"], frame)  # type: ignore[arg-type]
    assert operation_table_name("medical_institutions") not in _tables(engine)


@pytest.mark.parametrize(
    "planted",
    [ID_NUMBER, f"联系人身份证{ID_NUMBER}", "联系电话 138 1234 5678", f"收款卡号{CARD}"],
    ids=["id_number", "id_in_text", "mobile_with_spaces", "bank_card_in_text"],
)
def test_leak_guard_stops_a_publish_and_keeps_the_old_version(db_url, planted):
    engine = get_engine(db_url)
    entry = CATALOG["medical_institutions"]
    first = publish(engine, entry, _desensitized(_medical({"640502": 4, "640521": 3})))
    assert first.rows == 7

    # an institution name holding a person's identifier: no declaration or level masks a name
    # column of an 无条件开放 dataset, so it would reach the zone in the clear without the scan
    leaky = _medical({"640502": 5})
    leaky.loc[2, "institution_name"] = planted
    published = _desensitized(leaky)
    assert planted in set(published.frame["institution_name"])
    with pytest.raises(LeakFound) as refused:
        publish(engine, entry, published)
    assert "institution_name" in str(refused.value)
    assert planted not in str(refused.value)
    for digits in ("13812345678", ID_NUMBER, CARD):
        assert digits not in str(refused.value)

    kept = read_published(engine, "medical_institutions")
    assert len(kept) == 7 and set(kept["county_code"]) == {"640502", "640521"}


def _all_digit_credit_codes_passing_luhn(n: int) -> list[str]:
    """民办非企业单位 codes (52…) that are all digits and happen to pass Luhn as well."""
    found = []
    for serial in range(100_000):
        first17 = f"52640502{serial:09d}"
        code = first17 + uscc_check_char(first17)
        if code.isdigit() and bool(luhn_valid(pd.Series([code])).iloc[0]):
            found.append(code)
            if len(found) == n:
                return found
    raise AssertionError("no such code")


def test_legal_entity_codes_are_not_mistaken_for_bank_cards(db_url):
    engine = get_engine(db_url)
    entry = CATALOG["medical_institutions"]
    frame = _medical({"640502": 6})
    codes = _all_digit_credit_codes_passing_luhn(6)
    assert uscc_valid(pd.Series(codes)).all() and luhn_valid(pd.Series(codes)).all()
    frame["uscc"] = codes
    assert publish(engine, entry, _desensitized(frame)).rows == 6

    # a real card slipped into the same column is still a leak
    frame.loc[5, "uscc"] = CARD
    with pytest.raises(LeakFound, match="uscc"):
        publish(engine, entry, _desensitized(frame))


def test_prohibited_dataset_never_reaches_the_zone(db_url):
    engine = get_engine(db_url)
    published = _desensitized(_medical({"640502": 3}))
    with pytest.raises(ProhibitedDatasetError, match="禁止开放"):
        publish(engine, CATALOG["petition_records"], published)
    assert not any(t.startswith("operation_") for t in _tables(engine))


def test_replacement_is_atomic(db_url, monkeypatch):
    engine = get_engine(db_url)
    entry = CATALOG["medical_institutions"]
    name = operation_table_name("medical_institutions")
    publish(engine, entry, _desensitized(_medical({"640502": 4, "640521": 3})))

    seen_while_loading: list[set[str]] = []
    real_append_rows = writer.append_rows

    def loading_then_dying(engine_, table, frame):
        real_append_rows(engine_, table, frame)
        live = read_published(engine, "medical_institutions")
        seen_while_loading.append(set(live["institution_name"]))
        raise RuntimeError("writer killed mid-load")

    monkeypatch.setattr(writer, "append_rows", loading_then_dying)
    second = _desensitized(_medical({"640502": 2, "640521": 2, "640522": 2}, prefix="新"))
    with pytest.raises(RuntimeError, match="killed"):
        publish(engine, entry, second)
    old_names = {f"医院{c}-{i}" for c, n in (("640502", 4), ("640521", 3)) for i in range(n)}
    # readers saw only the old version while the new one was loading, and still do
    assert seen_while_loading == [old_names]
    assert set(read_published(engine, "medical_institutions")["institution_name"]) == old_names
    assert not any(t.endswith(writer.STAGING_SUFFIX) for t in _tables(engine))

    monkeypatch.setattr(writer, "append_rows", real_append_rows)
    outcome = publish(engine, entry, second)
    assert outcome.replaced_rows == 7 and outcome.rows == 6
    live = read_published(engine, "medical_institutions")
    assert set(live["institution_name"]) == {
        f"新{c}-{i}" for c in ("640502", "640521", "640522") for i in range(2)
    }
    assert _tables(engine) >= {name}


def test_published_types_survive_the_zone(db_url):
    engine = get_engine(db_url)
    entry = CATALOG["household_registration"]
    publish(
        engine,
        entry,
        _desensitized(
            governed("household_registration", households(300)), "household_registration"
        ),
    )
    table = sa.Table(
        operation_table_name("household_registration"), sa.MetaData(), autoload_with=engine
    )
    types = {c.name: c.type for c in table.columns}
    assert isinstance(types["ingested_at"], sa.DateTime)
    assert isinstance(types["id_number"], sa.Text | sa.String)
    live = read_published(engine, "household_registration")
    assert live["id_number"].str.fullmatch(r"[a-z2-7]{52}").all()
    assert pd.to_datetime(live["ingested_at"]).dt.hour.eq(8).all()  # the time is kept


def test_withdrawing_a_county_keeps_the_rest_k_anonymous(db_url):
    engine = get_engine(db_url)
    entry = CATALOG["household_registration"]
    published = _desensitized(
        governed("household_registration", households(900)), "household_registration"
    )
    publish(engine, entry, published)
    qis = list(published.report.quasi_identifiers)
    before = read_published(engine, "household_registration")

    outcome = withdraw(
        engine, "household_registration", county_code="640521", quasi_identifiers=qis, k_threshold=5
    )
    after = read_published(engine, "household_registration")
    assert outcome.removed == int((before["county_code"] == "640521").sum()) > 0
    assert "640521" not in set(after["county_code"])
    assert len(after) == outcome.remaining == len(before) - outcome.removed - outcome.suppressed
    k = measure_k(after, qis)
    assert k is None or k >= 5

    whole = withdraw(engine, "household_registration")
    assert whole.removed == len(after)
    assert read_published(engine, "household_registration") is None
