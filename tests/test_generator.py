"""The synthetic data generator (``publicdata generate``).

Every generated file is read back the way a department's delivery would be and checked against the
catalog rules with the shared identifier validators and plain pandas; the violations found must be
exactly the manifest's defects — no defect missing, none breaking more than its kind, no stray error.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from assets.common.catalog import Frequency
from assets.landing.generator import (
    DEFECT_KINDS,
    MANIFEST_PATH,
    MIN_ROWS_PER_FILE,
    Manifest,
    allocate_rows,
    generate,
    recent_periods,
)
from assets.landing.generator.context import FileContext
from assets.landing.generator.rows import RowBuilder
from tests.generator_checker import (
    AS_OF,
    CATALOG,
    CITY,
    NEW_ENTRY,
    REPO,
    SEED,
    TOWNSHIP_LEVELS,
    manifest_defects,
    read_delivery,
    violations_of,
)

# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("landing_zone")
    calls: list[tuple[str, int]] = []
    manifest = generate(
        data_dir,
        rows=4_000,
        seed=SEED,
        city=CITY,
        catalog=CATALOG,
        as_of=AS_OF,
        defect_rate=0.15,
        periods=2,
        progress=lambda label, n: calls.append((label, n)),
    )
    return data_dir, manifest, calls


# --- rules and defects --------------------------------------------------------------------------


def test_every_file_breaks_exactly_the_manifest_defects(generated) -> None:
    data_dir, manifest, _ = generated
    for record in manifest.files:
        found = violations_of(data_dir, record, CATALOG[record.dataset_id])
        expected = manifest_defects(manifest, record.path)
        assert expected, f"{record.path}: no defects injected at defect_rate 0.15"
        assert found == expected, (
            f"{record.path}: found but not in manifest {sorted(found - expected)[:10]}; "
            f"in manifest but not found {sorted(expected - found)[:10]}"
        )


def test_every_defect_kind_appears_once_per_row(generated) -> None:
    _, manifest, _ = generated
    assert set(manifest.defect_counts()) == set(DEFECT_KINDS)
    rows = [(d.file, d.source_row) for d in manifest.defects]
    assert len(rows) == len(set(rows)), "a row carries more than one defect"
    # the share of defective rows follows defect_rate
    total = sum(f.rows for f in manifest.files)
    assert 0.10 < len(manifest.defects) / total < 0.20


def test_a_new_catalog_entry_gets_rule_valid_data(tmp_path: Path) -> None:
    manifest = generate(
        tmp_path,
        rows=900,
        seed=5,
        city=CITY,
        catalog={NEW_ENTRY.dataset_id: NEW_ENTRY},
        as_of=AS_OF,
        defect_rate=0.2,
        periods=2,
    )
    assert [f.period for f in manifest.files[:2]] == ["2023", "2024"]
    for record in manifest.files:
        found = violations_of(tmp_path, record, NEW_ENTRY)
        assert found == manifest_defects(manifest, record.path), record.path
    kinds = set(manifest.defect_counts())
    assert {
        "date_order",
        "id_birth_mismatch",
        "id_gender_mismatch",
        "township_outside_county",
        "out_of_range",
        "duplicate_key",
        "future_date",
    } <= kinds
    frame = read_delivery(tmp_path, manifest.files[0]).rename(columns=NEW_ENTRY.header_map)
    names = frame["student_name"].dropna()
    assert names.str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert (
        frame["home_township"]
        .dropna()
        .isin(CITY.county(manifest.files[0].county_code).townships)
        .mean()
        > 0.8
    )
    assert manifest.pii_columns == {
        "student_enrollment": {
            "student_name": "person_name",
            "student_id_number": "cn_id_number",
            "home_address": "address",
            "guardian_mobile": "cn_mobile_phone",
            "email": "email",
        }
    }


def test_id_prefixes_follow_the_division_code_history(generated) -> None:
    data_dir, manifest, _ = generated
    prefixes: dict[str, set[str]] = {}
    for record in manifest.files:
        if record.dataset_id != "household_registration":
            continue
        ids = read_delivery(data_dir, record).rename(
            columns=CATALOG["household_registration"].header_map
        )["id_number"]
        prefixes.setdefault(record.county_code, set()).update(ids.dropna().str.slice(0, 6))
    for county in CITY.counties:
        for code in county.all_codes:
            assert code in prefixes[county.code], f"{county.name}: no ID with prefix {code}"


# --- layout, periods, volume --------------------------------------------------------------------


def test_files_rows_periods_and_progress(generated) -> None:
    data_dir, manifest, calls = generated
    assert sum(f.rows for f in manifest.files) == 4_000
    assert all(f.rows >= MIN_ROWS_PER_FILE for f in manifest.files)
    assert len(manifest.files) == len(CATALOG) * len(CITY.counties) * 2
    assert calls == [(f.path, f.rows) for f in manifest.files]
    for record in manifest.files:
        entry = CATALOG[record.dataset_id]
        expected_periods = [p.key for p in recent_periods(entry.frequency, AS_OF, 2)]
        assert record.period in expected_periods
        assert re.fullmatch(entry.frequency.period_pattern, record.period)
        assert record.path == (
            f"landing/{record.county_code}/{record.dataset_id}/{record.period}.{record.format}"
        )
        path = data_dir / record.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record.sha256
        frame = read_delivery(data_dir, record)
        assert len(frame) == record.rows
        assert list(frame.columns) == record.header
        assert sorted(record.header) == sorted(item.name for item in entry.items)
        assert record.columns == [entry.header_map[h] for h in record.header]
    catalog_order = {d: [i.name for i in e.items] for d, e in CATALOG.items()}
    shuffled = [f for f in manifest.files if f.header != catalog_order[f.dataset_id]]
    assert 0 < len(shuffled) < len(manifest.files)
    # leftover temporary files never remain
    assert not list(data_dir.rglob("*.part"))


@pytest.mark.parametrize(
    ("frequency", "as_of", "expected"),
    [
        (Frequency.DAILY, date(2025, 3, 1), ["2025-02-27", "2025-02-28"]),
        (Frequency.MONTHLY, date(2025, 3, 15), ["2025-01", "2025-02"]),
        (Frequency.MONTHLY, date(2025, 1, 1), ["2024-11", "2024-12"]),
        (Frequency.QUARTERLY, date(2025, 4, 1), ["2024-Q4", "2025-Q1"]),
        (Frequency.QUARTERLY, date(2025, 3, 31), ["2024-Q3", "2024-Q4"]),
        (Frequency.YEARLY, date(2025, 1, 1), ["2023", "2024"]),
    ],
)
def test_recent_periods_are_complete_before_as_of(frequency, as_of, expected) -> None:
    periods = recent_periods(frequency, as_of, 2)
    assert [p.key for p in periods] == expected
    assert all(p.end < as_of and p.start <= p.end for p in periods)


def test_rows_are_allocated_exactly_with_a_floor() -> None:
    counts = allocate_rows(1_000, [6, 1, 0.3, 3])
    assert sum(counts) == 1_000 and min(counts) >= MIN_ROWS_PER_FILE
    assert counts[0] > counts[3] > counts[1] > counts[2]
    with pytest.raises(ValueError, match="太少"):
        allocate_rows(3 * MIN_ROWS_PER_FILE, [1, 1, 1, 1])


# --- formats and encodings ----------------------------------------------------------------------


def test_encodings_and_formats(generated) -> None:
    data_dir, manifest, _ = generated
    kinds = [(f.format, f.encoding) for f in manifest.files]
    gb = kinds.count(("csv", "gb18030"))
    assert 0.25 <= gb / len(kinds) <= 0.4
    assert ("xlsx", None) in kinds and ("csv", "utf-8") in kinds and ("csv", "utf-8-sig") in kinds
    for record in manifest.files:
        raw = (data_dir / record.path).read_bytes()
        if record.format == "xlsx":
            assert raw[:2] == b"PK"
            continue
        first_line = ",".join(record.header)
        if record.encoding == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            assert raw.decode("gb18030").splitlines()[0] == first_line
        elif record.encoding == "utf-8-sig":
            assert raw.startswith(b"\xef\xbb\xbf")
            assert raw.decode("utf-8-sig").splitlines()[0] == first_line
        else:
            assert not raw.startswith(b"\xef\xbb\xbf")
            assert raw.decode("utf-8").splitlines()[0] == first_line


def test_xlsx_cells_are_text_and_ids_keep_their_digits(generated) -> None:
    data_dir, manifest, _ = generated
    books = [f for f in manifest.files if f.format == "xlsx"]
    id_books = [
        f
        for f in books
        if any(CATALOG[f.dataset_id].item(c).format == "cn_id_number" for c in f.columns)
    ]
    assert id_books, "no xlsx file with an ID column in this draw"
    for record in id_books:
        workbook = openpyxl.load_workbook(data_dir / record.path)
        sheet = workbook.worksheets[0]
        assert sheet.title == CATALOG[record.dataset_id].title[:31]
        entry = CATALOG[record.dataset_id]
        id_cols = [
            i + 1 for i, c in enumerate(record.columns) if entry.item(c).format == "cn_id_number"
        ]
        lengths = []
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert cell.value is None or cell.data_type == "s", (cell.coordinate, cell.value)
            for col in id_cols:
                value = row[col - 1].value
                if value is not None and re.fullmatch(r"\d{17}[\dX]", value):
                    lengths.append(len(value))
        assert lengths and set(lengths) == {18}
        workbook.close()


# --- determinism, manifest, where files go ------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    kwargs = dict(rows=800, city=CITY, catalog=CATALOG, as_of=AS_OF, defect_rate=0.1)
    generate(tmp_path / "a", seed=11, **kwargs)
    generate(tmp_path / "b", seed=11, **kwargs)
    generate(tmp_path / "c", seed=12, **kwargs)
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b
    assert any(name.endswith(".xlsx") for name in a)
    assert a[MANIFEST_PATH.as_posix()] != c[MANIFEST_PATH.as_posix()]
    common = set(a) & set(c)
    assert sum(a[name] != c[name] for name in common) == len(common)


def test_manifest_round_trip(generated) -> None:
    data_dir, manifest, _ = generated
    assert Manifest.load(data_dir) == manifest
    assert Manifest.load(data_dir / MANIFEST_PATH) == manifest
    assert manifest.as_of == AS_OF and manifest.seed == SEED
    for dataset_id, entry in CATALOG.items():
        assert manifest.pii_columns[dataset_id] == {i.column: i.pii for i in entry.items if i.pii}
    for defect in manifest.defects:
        assert defect.kind in DEFECT_KINDS
        record = manifest.file(defect.file)
        assert 2 <= defect.source_row <= record.rows + 1
        assert defect.column in record.columns


def test_regenerating_replaces_a_period_delivered_in_another_format(tmp_path: Path) -> None:
    kwargs = dict(rows=800, city=CITY, catalog=CATALOG, as_of=AS_OF)
    first = generate(tmp_path, seed=1, **kwargs)
    second = generate(tmp_path, seed=2, **kwargs)
    landing = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "landing").rglob("*.*")}
    assert landing == {f.path for f in second.files}
    assert {f.path for f in first.files} != landing  # some period changed format


def test_nothing_is_written_inside_the_repository(generated) -> None:
    data_dir, manifest, _ = generated
    assert not data_dir.resolve().is_relative_to(REPO)
    assert (data_dir / MANIFEST_PATH).is_file()
    assert not (REPO / MANIFEST_PATH).exists()
    for record in manifest.files:
        assert (data_dir / record.path).is_file()
        assert not (REPO / record.path).exists()


def test_colliding_keys_are_redrawn_and_impossible_keys_refused() -> None:
    entry = TOWNSHIP_LEVELS
    county = CITY.county("640521")  # 11 townships × 3 levels = 33 distinct keys
    period = recent_periods(entry.frequency, AS_OF, 1)[0]
    ctx = FileContext(entry, county, CITY, period, AS_OF)
    frame = RowBuilder(ctx, np.random.default_rng(3)).build_unique(30)
    keys = list(zip(frame["township"], frame["level"], strict=True))
    assert len(set(keys)) == 30
    assert set(frame["township"]) <= set(county.townships)
    with pytest.raises(ValueError, match="业务主键"):
        RowBuilder(ctx, np.random.default_rng(3)).build_unique(40)


def test_defects_never_create_unplanned_duplicates(tmp_path: Path) -> None:
    """With a key of few distinct values, a changed value easily equals another row's key."""
    catalog = {TOWNSHIP_LEVELS.dataset_id: TOWNSHIP_LEVELS}
    manifest = generate(
        tmp_path, rows=75, seed=8, city=CITY, catalog=catalog, as_of=AS_OF, defect_rate=0.5
    )
    assert {"duplicate_key", "unknown_enum", "township_outside_county"} <= set(
        manifest.defect_counts()
    )
    for record in manifest.files:
        found = violations_of(tmp_path, record, TOWNSHIP_LEVELS)
        assert found == manifest_defects(manifest, record.path), record.path


def test_invalid_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="defect_rate"):
        generate(tmp_path, rows=1000, seed=1, city=CITY, catalog=CATALOG, defect_rate=0.9)
    with pytest.raises(ValueError, match="太少"):
        generate(tmp_path, rows=10, seed=1, city=CITY, catalog=CATALOG, as_of=AS_OF)
    assert not (tmp_path / MANIFEST_PATH).exists()
