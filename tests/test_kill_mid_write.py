"""A loader process killed in the middle of replacing a slice leaves the old slice whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from assets.exchange.load import load_exchange_slice
from assets.storage.engine import get_engine
from assets.storage.tables import exchange_table
from tests.helpers import slice_frame

ROOT = Path(__file__).resolve().parents[1]

LOADER = textwrap.dedent(
    """
    import logging, sys
    from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
    from assets.exchange.load import load_exchange_slice
    from assets.storage.engine import get_engine
    from tests.helpers import slice_frame

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    url, rows = sys.argv[1], int(sys.argv[2])
    entry = load_catalog(SHIPPED_CATALOG_DIR)["medical_institutions"]
    frame = slice_frame(entry, "640502", "2026-Q3", rows, marker="new")
    load_exchange_slice(get_engine(url), entry, frame, county_code="640502", period="2026-Q3")
    print("committed", file=sys.stderr, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_during_load_keeps_the_old_slice(db_url, catalog):
    entry = catalog["medical_institutions"]
    engine = get_engine(db_url)
    old = slice_frame(entry, "640502", "2026-Q3", 1000, marker="old")
    load_exchange_slice(engine, entry, old, county_code="640502", period="2026-Q3")
    other = slice_frame(entry, "640521", "2026-Q3", 10, marker="other")
    load_exchange_slice(engine, entry, other, county_code="640521", period="2026-Q3")

    process = subprocess.Popen(
        [sys.executable, "-c", LOADER, db_url, "300000"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line.strip())
        # the old slice is deleted and at least one chunk of the new one is written, uncommitted
        if line.startswith("loading exchange_medical_institutions") and "50000/300000" in line:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, seen
    assert "committed" not in seen
    assert any(s.startswith("deleted old slice") for s in seen), seen

    table = exchange_table(entry)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.county_code, table.c.institution_name).order_by(table.c.source_row)
        ).all()
    mine = [name for county, name in rows if county == "640502"]
    assert len(mine) == 1000 and all(name.startswith("old") for name in mine)
    assert sum(1 for county, _ in rows if county == "640521") == 10

    # and the table is usable afterwards: no lock or half-transaction left behind
    load_exchange_slice(
        engine,
        entry,
        slice_frame(entry, "640502", "2026-Q3", 3, marker="after"),
        county_code="640502",
        period="2026-Q3",
    )
    with engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.county_code == "640502")
        ).scalar_one()
    assert count == 3
