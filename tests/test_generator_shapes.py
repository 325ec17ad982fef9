"""`generate --shapes`: deliveries shaped as departments export them (title rows, 合计 rows, extra
columns, IDs Excel made numbers, .xls), each file read back by the landing reader and reconciled with
the manifest: rows read = loaded + rejected + skipped, the skipped and damaged rows where it says."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from assets.landing.generator import generate
from assets.landing.generator.shapes import SHAPES, parse_shapes
from assets.landing.reader import read_landing_file
from assets.landing.rejections import EXCEL_NUMERIC, TITLE_ROW, TOTAL_ROW
from orchestration.cli import main

AS_OF = date(2026, 11, 15)


@pytest.fixture(scope="module")
def shaped(tmp_path_factory, city, catalog):
    plain_dir = tmp_path_factory.mktemp("plain")
    shaped_dir = tmp_path_factory.mktemp("shaped")
    kwargs = dict(rows=600, seed=7, city=city, catalog=catalog, as_of=AS_OF, defect_rate=0.05)
    plain = generate(plain_dir, **kwargs)
    manifest = generate(shaped_dir, shapes=SHAPES, **kwargs)
    return shaped_dir, manifest, plain


def test_every_shape_is_dealt_and_unshaped_files_are_unchanged(shaped) -> None:
    _, manifest, plain = shaped
    dealt = {shape for record in manifest.files for shape in record.shapes}
    assert dealt == set(SHAPES)
    before = {f.path: f.sha256 for f in plain.files}
    for record in manifest.files:
        if not record.shapes:
            assert before[record.path] == record.sha256
    assert any(f.format == "xls" for f in manifest.files)


def test_shaped_files_reconcile_with_the_manifest(shaped, catalog) -> None:
    data_dir, manifest, _ = shaped
    for record in (f for f in manifest.files if f.shapes):
        read = read_landing_file(data_dir / record.path, catalog[record.dataset_id])
        skipped = [r.reason_code for r in read.skipped]
        damaged = [r.source_row for r in read.rejections if r.reason_code == EXCEL_NUMERIC]
        assert read.rows_read == len(read.frame) + len(read.rejections) + len(read.skipped)
        assert read.rows_read == record.rows + record.skipped_rows, record.path
        assert len(skipped) == record.skipped_rows
        assert skipped.count(TITLE_ROW) == record.header_row - 1
        assert skipped.count(TOTAL_ROW) == ("total_row" in record.shapes)
        assert read.unknown_headers == record.extra_columns
        assert damaged == record.excel_numeric_rows, record.path
        assert read.file_format == record.format
        # the injected defects sit where the manifest says, below the title rows
        rows = set(read.frame["source_row"]) | {r.source_row for r in read.rejections}
        assert {d.source_row for d in manifest.defects_in(record.path)} <= rows


def test_parse_shapes_and_the_cli_option(tmp_path) -> None:
    assert parse_shapes("all") == SHAPES and parse_shapes("") == ()
    assert parse_shapes("xls, title_rows") == ("title_rows", "xls")
    with pytest.raises(ValueError, match="未知的交付形态"):
        parse_shapes("csv")
    result = CliRunner().invoke(
        main, ["generate", "--data-dir", str(tmp_path), "--rows", "200", "--shapes", "bogus"]
    )
    assert result.exit_code == 2 and "未知的交付形态" in result.output
