"""What GE is handed to validate: the delivered items and their row numbers, each text column as
one Arrow array, values unchanged."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from assets.quality.findings import contiguous
from assets.quality.suite_rules import SOURCE_ROW
from assets.quality.validation import QualityValidator
from tests.quality_frames import CATALOG, clean_frame, failing, run

DATASET = "household_registration"


def test_ge_sees_the_delivered_items_and_row_numbers_only():
    frame = clean_frame(DATASET)
    assert {"period", "file_checksum", "batch_id"} <= set(frame.columns)
    broken = frame.copy()
    broken.loc[broken.index[:2], "id_number"] = "not-an-id"
    outcome = run(QualityValidator(), broken, DATASET)
    [columns] = [
        r.result["observed_value"]
        for r in outcome.ge_object.results
        if r.expectation_config.type == "expect_table_columns_to_match_set"
    ]
    assert sorted(columns) == sorted([SOURCE_ROW, *CATALOG[DATASET].columns])
    assert outcome.period == "2025-05"  # read before the load's own columns are left out
    assert failing(outcome), "the items are still judged"


def _chunks(frame: pd.DataFrame, column: str) -> int:
    return frame[column].array.__arrow_array__().num_chunks


def test_contiguous_joins_each_text_column_in_place_and_keeps_its_values():
    def text(*parts: list[str | None]) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray(
            pa.chunked_array([pa.array(p, pa.large_string()) for p in parts])
        )

    frame = pd.DataFrame(
        {
            "name": text(["甲", None], ["乙"]),
            "code": text(["640521", "640522", None]),
            SOURCE_ROW: [2, 3, 4],
        }
    )
    expected = frame.copy()
    assert _chunks(frame, "name") == 2
    assert contiguous(frame) is frame
    assert _chunks(frame, "name") == 1 and _chunks(frame, "code") == 1
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["name"].isna().tolist() == [False, True, False]
