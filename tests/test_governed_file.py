"""The governed Parquet file's layout (``assets/governance/slices.py``): dictionaries only for the
repeated columns, LZ4, no statistics — and the same rows and slices back."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from assets.governance.records import governed_slices
from assets.governance.slices import DICTIONARY_SHARE, GovernedWriter, repeated_columns


def _slice(county: str, start: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "county_code": pd.array([county] * rows, dtype="string[pyarrow]"),
            "status": pd.array(["在册", "注销"] * (rows // 2), dtype="string[pyarrow]"),
            "name": pd.array([f"姓名{start + i}" for i in range(rows)], dtype="string[pyarrow]"),
            "source_row": range(start, start + rows),
        }
    )


def test_repeated_columns_get_a_dictionary_and_the_rows_come_back(tmp_path):
    path = tmp_path / "governance" / "demo.parquet"
    writer = GovernedWriter(path)
    frames = [_slice("640502", 0, 1_000), _slice("640521", 1_000, 600)]
    for county, frame in zip(("640502", "640521"), frames, strict=True):
        writer.begin_slice((county, "2026-10"), f"key-{county}")
        writer.write(frame)
    writer.commit()

    parquet = pq.ParquetFile(path)
    encodings = {}
    for group in range(parquet.num_row_groups):
        for i in range(parquet.metadata.num_columns):
            column = parquet.metadata.row_group(group).column(i)
            assert column.compression == "LZ4"
            assert not column.is_stats_set
            encodings.setdefault(column.path_in_schema, set()).update(column.encodings)
    assert DICTIONARY_SHARE > 1
    for repeated in ("county_code", "status"):
        assert "RLE_DICTIONARY" in encodings[repeated]
    for distinct in ("name", "source_row"):
        assert "RLE_DICTIONARY" not in encodings[distinct]

    back = pq.read_table(path).to_pandas()
    expected = pd.concat(frames, ignore_index=True)
    assert back["name"].tolist() == expected["name"].tolist()
    assert back["status"].tolist() == expected["status"].tolist()
    assert back["source_row"].tolist() == list(range(1_600))
    assert [(s.county_code, s.start, s.rows) for s in governed_slices(path) or []] == [
        ("640502", 0, 1_000),
        ("640521", 1_000, 600),
    ]


def test_a_column_arrow_cannot_count_gets_no_dictionary():
    table = pa.table(
        {
            "empty": pa.nulls(8),  # the null type: a column with no value in the first slice
            "code": pa.array(["640502", "640521"] * 4),
            "row": pa.array(range(8)),
        }
    )
    assert repeated_columns(table) == ["code"]
