"""The date checks of the ID-number and ISO-date validators judge the digits arithmetically
(``identifiers.days_valid``) exactly as ``pd.to_datetime(..., errors="coerce")`` judged the strings:
every month and day from 00 to 39 in years around the Gregorian rules (leap centuries) and at the
bounds of pandas' timestamps (1677-09-22 … 2262-04-11)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd

from assets.common.check_chars import id_check_char
from assets.common.identifiers import days_valid, id_number_valid
from assets.quality.expectations import iso_date_valid

YEARS = (0, 1, 1582, 1600, 1676, 1677, 1678, 1700, 1900, 1999, 2000, 2004, 2100, 2261, 2262, 2263)
YEARS += (2400, 9999)


def _grid() -> list[tuple[int, int, int]]:
    return list(itertools.product(YEARS, range(40), range(40)))


def _pandas_accepts(text: list[str], form: str) -> np.ndarray:
    parsed = pd.to_datetime(pd.Series(text, dtype=object), format=form, errors="coerce")
    return parsed.notna().to_numpy()


def test_days_valid_is_what_pandas_parses():
    grid = _grid()
    year, month, day = (np.array(part) for part in zip(*grid, strict=True))
    compact = [f"{y:04d}{m:02d}{d:02d}" for y, m, d in grid]
    expected = _pandas_accepts(compact, "%Y%m%d")
    assert expected.sum() > 3_000 and (~expected).sum() > 20_000  # both verdicts, plenty
    np.testing.assert_array_equal(days_valid(year, month, day), expected)


def test_iso_date_valid_judges_as_pandas_did():
    grid = _grid()
    iso = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in grid]
    shapes = ["2024-2-29", "２０２４-02-29", "2024-02-29 ", None, "", "2024/02/29", "٢٠٢٤-02-29"]
    values = pd.Series(iso + shapes, dtype="string[pyarrow]")
    expected = np.concatenate([_pandas_accepts(iso, "%Y-%m-%d"), np.zeros(len(shapes), bool)])
    np.testing.assert_array_equal(iso_date_valid(values).to_numpy(dtype=bool), expected)


def test_id_numbers_with_every_birth_date_of_the_grid_are_judged_as_before():
    rng = random.Random(11)
    ids, expected = [], []
    for (y, m, d), born in zip(
        _grid(),
        _pandas_accepts([f"{y:04d}{m:02d}{d:02d}" for y, m, d in _grid()], "%Y%m%d"),
        strict=True,
    ):
        body = f"640502{y:04d}{m:02d}{d:02d}{rng.randrange(1000):03d}"
        ids.append(body + id_check_char(body))
        expected.append(bool(born))
    found = id_number_valid(pd.Series(ids, dtype="string[pyarrow]"))
    assert found.tolist() == expected
    # without the date check only the shape and the check character count
    assert id_number_valid(pd.Series(ids), check_birth_date=False).all()
