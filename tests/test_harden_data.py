"""Issue 9, cases 5 (tickets close only on their own period), 7 (禁止开放 wins over registrations) and 8
(NUL bytes the same on both backends; `supply resume` on a prohibited dataset)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from click.testing import CliRunner

from assets.aggregation.ingest import (
    NUL_BYTE,
    _may_hold_nul,
    _nul_rows,
    ingest_landing_file,
    read_stage,
)
from assets.catalog_sync.cycle import run_catalog_cycle
from assets.catalog_sync.publish import public_dir
from assets.catalog_sync.registry import seed_registry
from assets.common.catalog import SHIPPED_CATALOG_DIR
from assets.exchange.load import load_exchange_slice
from assets.landing.paths import parse_landing_path
from assets.quality.findings import check_partition, validator_for
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import exchange_table
from assets.tickets import store
from assets.tickets.rules import Status
from orchestration.cli import main
from orchestration.settings import Settings
from tests.helpers import add_account, medical_rows, write_delivery
from tests.test_catalog_validation import register, shipped
from tests.test_quality_checks import ENTRY, exchange_slice

PROHIBITED = "petition_records"


# --- case 5: a clean delivery of one period does not close another period's ticket ---------------


def test_a_passing_delivery_closes_only_the_tickets_of_its_own_period(tmp_path, db_url, city):
    ensure_platform_schema(db_url)
    engine = get_engine(db_url)

    def deliver_and_check(period: str, bad_rows: int, day: int):
        frame = exchange_slice("640521", bad_rows=bad_rows)
        frame["period"] = period
        load_exchange_slice(engine, ENTRY, frame, county_code="640521", period=period)
        return check_partition(
            validator_for(SHIPPED_CATALOG_DIR),
            ENTRY,
            exchange_engine=engine,
            platform_engine=engine,
            county_code="640521",
            period=period,
            townships=list(city.county("640521").townships),
            as_of=datetime(2026, 12, 31).date(),
            checked_at=datetime(2026, 11, day, tzinfo=UTC),
            data_dir=tmp_path,
        )

    first = deliver_and_check("2026-10", bad_rows=3, day=2)
    [ticket_id] = first.tickets.opened
    # a clean delivery of a later period: the 2026-10 rows are still defective, the ticket stays
    later = deliver_and_check("2026-11", bad_rows=0, day=3)
    assert later.passed and later.tickets.closed == ()
    ticket = store.get_ticket(engine, ticket_id)
    assert ticket.status is Status.NEW and ticket.period == "2026-10"
    # the corrected 2026-10 delivery closes it
    fixed = deliver_and_check("2026-10", bad_rows=0, day=4)
    assert fixed.tickets.closed == (ticket_id,)
    assert store.get_ticket(engine, ticket_id).status is Status.CLOSED


# --- case 7: 禁止开放 set by the city wins over registrations ----------------------------------


def _every_county_opens_the_prohibited_dataset(data_dir: Path, city) -> None:
    seed_registry(data_dir, city)
    opened = {**shipped(PROHIBITED), "开放属性": "无条件开放"}
    for county in city.county_codes:
        register(data_dir, county, opened)


def test_registrations_cannot_open_a_prohibited_dataset(tmp_path, db_url, city):
    _every_county_opens_the_prohibited_dataset(tmp_path, city)
    ensure_platform_schema(db_url)
    cycle = run_catalog_cycle(tmp_path, get_engine(db_url), city, tickets=False)
    entry = cycle.catalog.entries[PROHIBITED]
    assert entry.entry.is_prohibited
    assert cycle.publication.withheld == [PROHIBITED]
    # the data bureau sees every county asked for something else
    assert set(entry.differences) == set(city.county_codes)
    assert all("禁止开放" in " ".join(lines) for lines in entry.differences.values())
    for path in public_dir(tmp_path).rglob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert PROHIBITED not in text and "信访" not in text, path


def test_catalog_publish_withholds_a_dataset_the_city_prohibits(tmp_path, city):
    _every_county_opens_the_prohibited_dataset(tmp_path, city)
    add_account(Settings.load(tmp_path).platform_url, "auditor", "bureau")
    result = CliRunner().invoke(
        main,
        ["catalog", "publish", "--data-dir", str(tmp_path), "--json", "--as", "auditor"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    published = json.loads((public_dir(tmp_path) / "catalog.json").read_text(encoding="utf-8"))
    assert PROHIBITED not in json.dumps(published, ensure_ascii=False)
    assert PROHIBITED in json.loads(result.stdout)["withheld"]


# --- case 8: supply resume on a prohibited dataset -----------------------------------------------


def test_resuming_a_prohibited_dataset_says_it_stays_prohibited(tmp_path):
    data = str(tmp_path)
    add_account(Settings.load(tmp_path).platform_url, "auditor", "bureau")
    common = ["--data-dir", data, "--dataset", PROHIBITED, "--as", "auditor"]
    suspended = CliRunner().invoke(main, ["supply", "suspend", *common, "--reason", "风险"])
    assert suspended.exit_code == 0, suspended.output
    resumed = CliRunner().invoke(main, ["supply", "resume", *common, "--reason", "整改"])
    assert resumed.exit_code == 0, resumed.output
    assert "禁止开放" in resumed.output and "重新发布" not in resumed.output
    CliRunner().invoke(main, ["supply", "suspend", *common, "--reason", "风险"])
    as_json = CliRunner().invoke(main, ["supply", "resume", *common, "--reason", "整改", "--json"])
    assert json.loads(as_json.stdout)["status"] == "prohibited"


# --- case 8: a NUL byte is handled the same on SQLite and PostgreSQL ------------------------------


def test_a_nul_byte_rejects_its_row_on_both_backends(tmp_path, db_url, catalog, city):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    loaded = {}
    for suffix, rows in ((".xlsx", medical_rows(4)), (".csv", medical_rows(900))):
        period = "2026-Q2" if suffix == ".csv" else "2026-Q3"
        rows[-2]["address"] = "中卫\x00市"
        rows[-1]["institution_name"] = "医\x00院"  # in a csv: past the binary sniffing window
        path = write_delivery(tmp_path, entry, "640502", period, rows, suffix=suffix)
        landing = parse_landing_path(tmp_path, path, catalog, city.county_codes)
        outcome = ingest_landing_file(
            landing,
            entry,
            department_id=entry.provider,
            staging_dir=tmp_path / "aggregation",
            batch_id="b" * 36,
            ingested_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
        assert outcome.loaded
        nul = [r for r in outcome.rejections if r.reason_code == NUL_BYTE]
        assert [r.source_row for r in nul] == [len(rows), len(rows) + 1]
        assert "空字符" in nul[0].reason and "地址" in nul[0].reason
        assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected == len(rows)
        load_exchange_slice(
            engine, entry, read_stage(outcome.staged_path), county_code="640502", period=period
        )
        loaded[suffix] = len(rows) - 2
    table = exchange_table(entry)
    with engine.connect() as connection:
        stored = pd.read_sql(sa.select(table), connection)
    assert stored.groupby("period").size().to_dict() == {
        "2026-Q2": loaded[".csv"],
        "2026-Q3": loaded[".xlsx"],
    }
    for column in entry.columns:
        assert not stored[column].astype(str).str.contains("\x00", regex=False).any()
    # the row itself is out, not a stripped copy of it
    assert "12640500MB0000899X" not in set(stored["uscc"])
    assert "12640500MB0000897X" in set(stored["uscc"])


def test_only_a_column_with_a_zero_byte_is_matched_value_by_value(catalog):
    """The NUL check's pre-pass: no zero byte in a column's characters, no value can hold a NUL.
    A zero byte outside the values a sliced column uses still sends it to the exact match, which
    then finds no row."""
    clean = pa.chunked_array([pa.array(["中卫市", None, ""]), pa.array(["沙坡头区"])])
    assert not _may_hold_nul(clean)
    assert not _may_hold_nul(pa.array([None, None], type=pa.string()))
    assert _may_hold_nul(pa.array(["中卫", "医\x00院"]))
    outside = pa.array(["a\x00b", "中卫市", "沙坡头区"]).slice(1)
    assert _may_hold_nul(outside)
    assert _may_hold_nul(pa.array([1, 2]))  # not text: matched as before

    entry = catalog["medical_institutions"]
    first, second = entry.columns[0], entry.columns[1]
    rows = np.array([2, 3])
    assert _nul_rows({first: outside, second: clean.slice(0, 2)}, rows, entry) == (None, [])
    at, rejections = _nul_rows({first: outside, second: pa.array(["x", "y\x00"])}, rows, entry)
    assert at is not None and at.tolist() == [False, True]
    assert [r.source_row for r in rejections] == [3]
