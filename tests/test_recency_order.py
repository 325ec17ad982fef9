"""Which of two rows repeating each other is kept: the newest, by load time, then source row, then
position (``govern._recency_order``), a missing or unreadable value ranking last."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.governance.govern import _recency_order


def _by_sorting(frame: pd.DataFrame) -> list:
    """The same order as pandas' stable sort of the three keys gives it."""
    order = pd.DataFrame(index=frame.index)
    if "ingested_at" in frame.columns:
        order["ingested_at"] = pd.to_datetime(frame["ingested_at"], utc=True, errors="coerce")
    if "source_row" in frame.columns:
        order["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce")
    order["position"] = np.arange(len(frame))
    ranked = order.sort_values(
        list(order.columns), ascending=False, na_position="last", kind="stable"
    )
    return list(ranked.index)


def test_newest_load_first_then_highest_row_then_last_position() -> None:
    frame = pd.DataFrame(
        {
            "ingested_at": pd.to_datetime(
                [
                    "2026-11-01 08:00",
                    None,
                    "2026-11-02 08:00",
                    "2026-11-02 08:00",
                    "2026-11-01 08:00",
                ]
            ),
            "source_row": [7, 9, 3, 5, None],
        },
        index=[10, 11, 12, 13, 14],
    )
    # 11 has no load time, 14 no source row: each ranks last among its peers
    assert list(_recency_order(frame)) == [13, 12, 10, 14, 11]


def test_the_order_is_the_stable_sort_of_its_keys() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    stamps = pd.to_datetime(
        ["2026-01-01 10:00:00", "2026-01-02 09:00:00", None, "2025-12-31 23:59:59.999999"],
        format="ISO8601",
    )
    for variant in range(5):
        frame = pd.DataFrame(
            {
                "ingested_at": rng.choice(stamps, n),
                "source_row": rng.integers(0, 40, n).astype(object),
            },
            index=rng.permutation(np.arange(n) * 3),
        )
        if variant == 1:  # rows without a source row
            frame["source_row"] = frame["source_row"].where(rng.random(n) > 0.1, None)
        if variant == 2:  # unreadable source rows and load times, as text
            frame["source_row"] = frame["source_row"].where(rng.random(n) > 0.1, "x")
            stamp_text = frame["ingested_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
            frame["ingested_at"] = stamp_text.where(rng.random(n) > 0.1, "junk")
        if variant == 3:  # China time, fractional rows
            frame["ingested_at"] = frame["ingested_at"].dt.tz_localize("Asia/Shanghai")
            frame["source_row"] = rng.random(n) * 10
        if variant == 4:  # no load time at all
            frame = frame.drop(columns=["ingested_at"])
        assert list(_recency_order(frame)) == _by_sorting(frame), variant
