"""Landing paths: the path contract, the scan of landing/ and file checksums."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from assets.common.catalog import CatalogEntry
from assets.landing.paths import (
    LandingPath,
    LandingPathError,
    file_checksum,
    parse_landing_path,
    scan_landing,
)
from tests.reader_files import (
    COUNTIES,
)


@pytest.fixture
def entry(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    return catalog["household_registration"]


# ---- landing paths ----------------------------------------------------------------------------------


def _touch(root: Path, relative: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_scan_landing(tmp_path: Path, catalog: dict[str, CatalogEntry]) -> None:
    good = [
        "landing/640502/household_registration/2025-01.csv",
        "landing/640521/household_registration/2024-12.xlsx",
        "landing/640521/market_entities/2025-01-31.csv",
        "landing/640522/medical_institutions/2025-Q1.xlsx",
        "landing/640522/medical_institutions/2025-Q2.xls",
    ]
    bad = {
        "landing/640599/household_registration/2025-01.csv": "640599",
        "landing/640521/no_such_dataset/2025-01.csv": "no_such_dataset",
        "landing/640521/household_registration/2025-13.csv": "2025-13",
        "landing/640521/household_registration/2025-1.csv": "2025-1",
        "landing/640521/household_registration/2025-01-01.csv": "每月",
        "landing/640521/market_entities/2025-02-30.csv": "2025-02-30",
        "landing/640522/medical_institutions/2025-Q5.csv": "每季度",
        "landing/640521/household_registration/2025-02.xlsb": ".xlsb",
        "landing/640521/household_registration/2025-02.txt": ".txt",
        "landing/640502/household_registration/2025-02.csv": "2025-02.csv",
        "landing/640502/household_registration/2025-02.xlsx": "2025-02.xlsx",
        "landing/640502/2025-01.csv": "层级",
        "landing/640502/household_registration/old/2025-01.csv": "层级",
        "landing/readme.csv": "层级",
    }
    ignored = [
        "landing/.DS_Store",
        "landing/640521/household_registration/~$2025-03.xlsx",
        "landing/640521/household_registration/2025-03.csv.tmp",
        "landing/640521/household_registration/.2025-03.csv.swp",
        "landing/640521/.staging/2025-03.csv",
        "outside/640521/household_registration/2025-03.csv",
    ]
    for relative in [*good, *bad, *ignored]:
        _touch(tmp_path, relative)
    (tmp_path / "landing/640522/petition_records").mkdir(parents=True)

    valid, problems = scan_landing(tmp_path, catalog, COUNTIES)

    assert [v.relative_path for v in valid] == good
    assert valid[2] == LandingPath(
        county_code="640521",
        dataset_id="market_entities",
        period="2025-01-31",
        path=tmp_path / good[2],
        relative_path=good[2],
    )
    assert valid[3].file_format == "xlsx" and valid[4].file_format == "xls"
    assert [p for p, _ in problems] == sorted(bad)
    for relative, reason in problems:
        assert bad[relative] in reason, (relative, reason)


def test_scan_without_landing_dir(tmp_path: Path, catalog: dict[str, CatalogEntry]) -> None:
    assert scan_landing(tmp_path, catalog, COUNTIES) == ([], [])


def test_parse_landing_path_reasons(
    tmp_path: Path, catalog: dict[str, CatalogEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = parse_landing_path(
        Path("."), tmp_path / "landing/640502/medical_institutions/2024-Q4.csv", catalog, COUNTIES
    )
    assert relative.relative_path == "landing/640502/medical_institutions/2024-Q4.csv"
    landing = parse_landing_path(
        tmp_path, tmp_path / "landing/640521/household_registration/2025-01.CSV", catalog, COUNTIES
    )
    assert (landing.county_code, landing.dataset_id, landing.period, landing.file_format) == (
        "640521",
        "household_registration",
        "2025-01",
        "csv",
    )
    with pytest.raises(LandingPathError) as info:
        parse_landing_path(tmp_path, tmp_path / "elsewhere/x.csv", catalog, COUNTIES)
    assert "landing" in info.value.reason
    with pytest.raises(LandingPathError) as info:
        parse_landing_path(
            tmp_path, tmp_path / "landing/640521/household_registration/2025-01", catalog, COUNTIES
        )
    assert "扩展名" in info.value.reason


def test_file_checksum_streams_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = random.Random(3).randbytes(3 * (1 << 20) + 17)
    path.write_bytes(data)
    assert file_checksum(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert file_checksum(path) != hashlib.sha256(data).hexdigest()
