"""A validated partition is let go: GE's execution engine, shared by every validation of the
process, keeps no batch and no metric of it afterwards (a worker validating partition after
partition otherwise kept the last frame of every dataset), and a second partition is judged on its
own values."""

from __future__ import annotations

from assets.quality.validation import QualityValidator
from tests.quality_frames import clean_frame, failing, run

DATASET = "household_registration"


def _held(validator: QualityValidator) -> tuple[int, int, int]:
    engine = validator._datasource.get_execution_engine()
    manager = engine.batch_manager
    return len(manager._batch_data_cache), len(manager._batch_cache), len(engine._metric_cache)


def test_ge_keeps_no_batch_or_metric_of_a_validated_partition():
    validator = QualityValidator()
    first = run(validator, clean_frame(DATASET), DATASET)
    assert first.row_count > 0 and first.expectations
    assert _held(validator) == (0, 0, 0)

    broken = clean_frame(DATASET)
    broken.loc[broken.index[:3], "id_number"] = "not-an-id"
    second = run(validator, broken, DATASET)
    assert _held(validator) == (0, 0, 0)
    assert failing(first) == {}
    assert failing(second), "the second partition's own defects are found"
