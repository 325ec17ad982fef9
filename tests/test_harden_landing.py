"""Issue 9, cases 1, 2 and 5: no input file can end the process or wipe a partition, and landing paths
are taken only when they name a real, current period inside the data directory.

- 1: a 9 KB workbook whose only cell is at XFD1048576, a workbook that expands far past the limit, a
  workbook whose parts lie about their size, and a file past the row cap are each rejected whole with
  their reason while the other files load (a real `publicdata run` subprocess: it must not abort);
- 2: a redelivery with an unclosed quote is rejected whole and the old slice stays; one that would
  shrink its partition sharply is held with a ticket, changes nothing, and is applied once confirmed;
- 5: full-width / Arabic-Indic digits and future periods are not periods, links leading outside the
  data directory (landing and registry) are refused and reported, dangling links are reported, and a
  file name that is not UTF-8 leaves `--json` output that parses.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.landing.limits import ReadLimits, check_xlsx
from assets.landing.paths import scan_landing
from assets.landing.reader import read_landing_file
from assets.landing.rejections import CORRUPT, TOO_LARGE, UNBALANCED_QUOTE, FileRejected
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table, quality_tickets
from orchestration.cli import main
from orchestration.runner import run_pipeline
from tests.helpers import add_account, medical_rows, settings_for, write_delivery

PUBLICDATA = str(Path(sys.executable).with_name("publicdata"))
DATASET = "medical_institutions"
CATALOG = load_catalog(SHIPPED_CATALOG_DIR)
ENTRY = CATALOG[DATASET]
CITY = load_city()
TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("catalog")
    shutil.copy(SHIPPED_CATALOG_DIR / f"{DATASET}.yaml", directory)
    return directory


# --- crafted workbooks ----------------------------------------------------------------------------

_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(sheet_data: str, *, dimension: str | None = None, extra=()) -> bytes:
    """A minimal .xlsx whose first sheet holds ``sheet_data`` (the <sheetData> content)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = f'<?xml version="1.0"?><worksheet xmlns="{_SHEET_NS}">{dim}<sheetData>{sheet_data}</sheetData></worksheet>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in extra:
            book.writestr(name, data)
    return buffer.getvalue()


def far_cell_workbook() -> bytes:
    """The 9 KB attack: one cell, at XFD1048576 (the last cell of a sheet)."""
    cell = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    data = workbook(cell, dimension="A1:XFD1048576")
    assert len(data) < 10_000
    return data


def expanding_workbook(megabytes: int) -> bytes:
    """A workbook with a valid sheet and a part that inflates to ``megabytes`` MB."""
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{item.name}</t></is></c>'
        for i, item in enumerate(ENTRY.items)
    )
    padding = b"<sst>" + b"A" * (megabytes << 20) + b"</sst>"
    data = workbook(f'<row r="1">{header}</row>', extra=[("xl/sharedStrings.xml", padding)])
    assert len(data) < (megabytes << 20) // 50  # compressed more than 50 to 1
    return data


def lying_workbook() -> bytes:
    """A workbook whose sheet part declares a smaller size than it inflates to."""
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>v{r}</t></is></c></row>'
        for r in range(1, 2000)
    )
    data = bytearray(workbook(rows))
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            name_length = struct.unpack_from(
                "<H", data, at + (26 if signature == b"PK\x03\x04" else 28)
            )[0]
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at : name_at + name_length]) == name:
                struct.pack_into("<I", data, at + size_at, 1000)  # declared uncompressed size
            start = at + 4
    return bytes(data)


def test_a_far_cell_is_refused_before_the_sheet_is_read(tmp_path):
    path = tmp_path / "2026-Q3.xlsx"
    path.write_bytes(far_cell_workbook())
    with pytest.raises(FileRejected) as refused:
        read_landing_file(path, ENTRY)
    assert refused.value.reason_code == TOO_LARGE
    assert "16,384 列" in refused.value.reason


def test_a_far_cell_without_a_declared_dimension_is_found_by_its_cells(tmp_path):
    path = tmp_path / "2026-Q3.xlsx"
    path.write_bytes(workbook('<row r="3"><c r="A3"/></row><row><c/><c r="ZZZ9"/></row>'))
    with pytest.raises(FileRejected) as refused:
        check_xlsx(path, ReadLimits())
    assert refused.value.reason_code == TOO_LARGE and "列" in refused.value.reason


def test_a_workbook_expanding_past_the_limit_is_refused(tmp_path):
    path = tmp_path / "2026-Q3.xlsx"
    path.write_bytes(expanding_workbook(12))
    with pytest.raises(FileRejected) as refused:
        read_landing_file(path, ENTRY, ReadLimits(max_bytes=8 << 20))
    assert refused.value.reason_code == TOO_LARGE and "解压后" in refused.value.reason
    # within a larger limit the same workbook is just an (empty) delivery
    assert read_landing_file(path, ENTRY, ReadLimits(max_bytes=64 << 20)).rows_read == 0


def test_a_workbook_lying_about_its_size_is_refused(tmp_path):
    path = tmp_path / "2026-Q3.xlsx"
    path.write_bytes(lying_workbook())
    with pytest.raises(FileRejected) as refused:
        check_xlsx(path, ReadLimits())
    assert refused.value.reason_code == CORRUPT


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_file_past_the_row_cap_is_refused_whole(tmp_path, suffix):
    path = write_delivery(tmp_path, ENTRY, "640502", "2026-Q3", medical_rows(12), suffix=suffix)
    assert read_landing_file(path, ENTRY, ReadLimits(max_rows=12)).rows_read == 12
    with pytest.raises(FileRejected) as refused:
        read_landing_file(path, ENTRY, ReadLimits(max_rows=11))
    assert refused.value.reason_code == TOO_LARGE and "上限" in refused.value.reason


@pytest.mark.slow
def test_hostile_workbooks_never_end_the_run(tmp_path, small_catalog):
    """Three counties' deliveries in one `publicdata run`: a normal CSV, the far-cell workbook and
    a workbook inflating past the configured limit. The process lives, the CSV loads, both
    workbooks are rejected whole with their reasons."""
    data = tmp_path / "data"
    write_delivery(data, ENTRY, "640502", "2026-Q3", medical_rows(5))
    far = data / "landing" / "640521" / DATASET / "2026-Q3.xlsx"
    far.parent.mkdir(parents=True)
    far.write_bytes(far_cell_workbook())
    bomb = data / "landing" / "640522" / DATASET / "2026-Q3.xlsx"
    bomb.parent.mkdir(parents=True)
    bomb.write_bytes(expanding_workbook(12))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLICDATA_")}
    env.update(
        PUBLICDATA_CATALOG_DIR=str(small_catalog),
        PUBLICDATA_MAX_FILE_MB="8",
        PUBLICDATA_TODAY=TODAY.isoformat(),
    )
    result = subprocess.run(
        [PUBLICDATA, "run", "--data-dir", str(data), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = {f["county"]: f for f in json.loads(result.stdout)["files"]}
    assert files["640502"]["status"] == "loaded" and files["640502"]["rows_loaded"] == 5
    for county in ("640521", "640522"):
        assert files[county]["status"] == "rejected"
        assert files[county]["reason_code"] == TOO_LARGE
    assert "列" in files["640521"]["reason"] and "解压后" in files["640522"]["reason"]


# --- case 2: a redelivery that would lose most of the partition ---------------------------------


def _exchange_rows(settings) -> int:
    table = exchange_table(ENTRY)
    with get_engine(settings.exchange_url).connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.county_code == "640502")
        ).scalar_one()


def _run(settings) -> dict:
    report = run_pipeline(settings)
    summary = report.summary()
    return {f["path"]: f for f in summary["files"]}


@pytest.mark.slow
def test_an_unclosed_quote_rejects_the_redelivery_whole_and_the_old_slice_stays(
    tmp_path, small_catalog
):
    settings = settings_for(tmp_path, catalog_dir=small_catalog, today=TODAY)
    path = write_delivery(tmp_path, ENTRY, "640502", "2026-Q3", medical_rows(40))
    assert _run(settings)[f"landing/640502/{DATASET}/2026-Q3.csv"]["rows_loaded"] == 40
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("中卫市", '"中卫市', 1)  # line 3: a quote that never closes
    path.write_text("".join(lines), encoding="utf-8")
    record = _run(settings)[f"landing/640502/{DATASET}/2026-Q3.csv"]
    assert record["status"] == "rejected" and record["reason_code"] == UNBALANCED_QUOTE
    assert "第 3 行" in record["reason"] and "原有数据保留" in record["reason"]
    assert _exchange_rows(settings) == 40


@pytest.mark.slow
def test_a_sharply_shrinking_redelivery_is_held_until_confirmed(tmp_path, small_catalog):
    settings = settings_for(tmp_path, catalog_dir=small_catalog, today=TODAY)
    relative = f"landing/640502/{DATASET}/2026-Q3.csv"
    write_delivery(tmp_path, ENTRY, "640502", "2026-Q3", medical_rows(40))
    assert _run(settings)[relative]["rows_loaded"] == 40
    write_delivery(tmp_path, ENTRY, "640502", "2026-Q3", medical_rows(3))
    record = _run(settings)[relative]
    assert record["status"] == "held" and record["reason_code"] == "shrink"
    assert "40 行" in record["reason"] and "3 行" in record["reason"]
    assert _exchange_rows(settings) == 40  # nothing replaced
    engine = get_engine(settings.platform_url)
    with engine.connect() as connection:
        ticket = (
            connection.execute(
                sa.select(quality_tickets).where(
                    quality_tickets.c.dataset_id == DATASET,
                    quality_tickets.c.dimension == "完整性",
                )
            )
            .mappings()
            .one()
        )
    assert ticket["status"] == "new" and ticket["county_code"] == "640502"
    # a rerun of the same file is held again, and listed as waiting
    assert _run(settings)[relative]["status"] == "held"
    runner = CliRunner()
    listed = runner.invoke(main, ["ingest", "held", "--data-dir", str(tmp_path), "--json"])
    assert [h["path"] for h in json.loads(listed.stdout)] == [relative]

    # confirming needs an account allowed to; the bureau confirms
    add_account(settings.platform_url, "auditor", "bureau")
    add_account(settings.platform_url, "other_county", "county_office", county_code="640521")
    confirm = [
        "ingest",
        "confirm",
        "--data-dir",
        str(tmp_path),
        "--dataset",
        DATASET,
        "--county",
        "640502",
        "--period",
        "2026-Q3",
        "--reason",
        "机构合并，数据确实减少",
    ]
    refused = runner.invoke(main, [*confirm, "--as", "other_county"])
    assert refused.exit_code == 1 and "只能处理本县区" in refused.output
    done = runner.invoke(main, [*confirm, "--as", "auditor", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows_before"] == 40
    assert json.loads(done.stdout)["rows_after"] == 3
    record = _run(settings)[relative]
    assert record["status"] == "loaded" and record["rows_loaded"] == 3
    assert _exchange_rows(settings) == 3
    with engine.connect() as connection:
        status = connection.execute(
            sa.select(quality_tickets.c.status).where(quality_tickets.c.id == ticket["id"])
        ).scalar_one()
    assert status == "closed"


# --- case 5: landing paths ----------------------------------------------------------------------


def _scan(data: Path, today: date = TODAY):
    valid, problems = scan_landing(data, CATALOG, CITY.county_codes, today)
    return [v.relative_path for v in valid], dict(problems)


@pytest.mark.parametrize(
    "period", ["２０２６-Q3", "٢٠٢٦-Q3", "2026-Q٣", "2O26-Q3", "2026-Q3\n", "2099-Q4", "2027-Q1"]
)
def test_only_ascii_periods_up_to_the_current_one_are_taken(tmp_path, period):
    write_delivery(tmp_path, ENTRY, "640502", "2026-Q3", medical_rows(2))
    odd = tmp_path / "landing" / "640502" / DATASET / f"{period}.csv"
    odd.write_bytes(b"x")
    valid, problems = _scan(tmp_path)
    assert valid == [f"landing/640502/{DATASET}/2026-Q3.csv"]
    [(path, reason)] = problems.items()
    assert "期次" in reason and path.startswith(f"landing/640502/{DATASET}/")


def test_the_current_period_follows_the_configured_today(tmp_path):
    write_delivery(tmp_path, ENTRY, "640502", "2026-Q4", medical_rows(2))
    assert _scan(tmp_path, date(2026, 10, 1))[0] == [f"landing/640502/{DATASET}/2026-Q4.csv"]
    valid, problems = _scan(tmp_path, date(2026, 9, 30))
    assert valid == [] and "晚于当前期 2026-Q3" in next(iter(problems.values()))


def test_links_outside_the_data_directory_and_dangling_links_are_reported(tmp_path):
    data = tmp_path / "data"
    outside = write_delivery(tmp_path / "elsewhere", ENTRY, "640502", "2026-Q3", medical_rows(3))
    inside = write_delivery(data, ENTRY, "640502", "2026-Q2", medical_rows(3))
    folder = inside.parent
    (folder / "2026-Q3.csv").symlink_to(outside)
    (folder / "2026-Q1.csv").symlink_to(tmp_path / "missing.csv")
    (folder / "2025-Q4.csv").symlink_to(inside)  # a link to a file inside: fine
    (data / "landing" / "640521").symlink_to(outside.parent.parent, target_is_directory=True)
    valid, problems = _scan(data)
    assert valid == [
        f"landing/640502/{DATASET}/2025-Q4.csv",
        f"landing/640502/{DATASET}/2026-Q2.csv",
    ]
    assert "数据目录之外" in problems[f"landing/640502/{DATASET}/2026-Q3.csv"]
    assert "失效的链接" in problems[f"landing/640502/{DATASET}/2026-Q1.csv"]
    assert "数据目录之外" in problems["landing/640521"]


def test_a_registry_link_outside_the_data_directory_is_refused(tmp_path):
    from assets.catalog_sync.registry import scan_registry
    from assets.catalog_sync.validation import validate_registry

    outside = tmp_path / "elsewhere.yaml"
    shutil.copy(SHIPPED_CATALOG_DIR / f"{DATASET}.yaml", outside)
    folder = tmp_path / "data" / "registry" / "640502"
    folder.mkdir(parents=True)
    (folder / f"{DATASET}.yaml").symlink_to(outside)
    (folder / "market_entities.yaml").symlink_to(tmp_path / "missing.yaml")
    results = {r.dataset_id: r for r in validate_registry(scan_registry(tmp_path / "data"), CITY)}
    assert not results[DATASET].valid and "数据目录之外" in results[DATASET].reasons[0]
    assert not results["market_entities"].valid
    assert "失效的链接" in results["market_entities"].reasons[0]


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_leaves_json_that_parses(tmp_path, small_catalog):
    data = tmp_path / "data"
    write_delivery(data, ENTRY, "640502", "2026-Q3", medical_rows(3))
    folder = os.fsencode(data / "landing" / "640502" / DATASET)
    with open(os.path.join(folder, b"2026-Q2\xff\xfe.csv"), "wb") as handle:
        handle.write(b"x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLICDATA_")}
    env.update(PUBLICDATA_CATALOG_DIR=str(small_catalog), PUBLICDATA_TODAY=TODAY.isoformat())
    result = subprocess.run(
        [PUBLICDATA, "run", "--data-dir", str(data), "--json"],
        capture_output=True,
        timeout=900,
        env=env,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    summary = json.loads(result.stdout.decode("utf-8"))  # strict UTF-8, then JSON
    [odd] = summary["unrecognized_files"]
    assert odd["path"] == f"landing/640502/{DATASET}/2026-Q2\\xff\\xfe.csv"
    assert summary["files"][0]["status"] == "loaded"
