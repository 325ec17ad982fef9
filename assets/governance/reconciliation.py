"""What governance recorded of each dataset's rows, summed: read by the run's summary, which loads
none of governance's own code (nor pandas)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.storage.tables import governance_reconciliation


def reconciliation_totals(engine: Engine) -> dict[str, dict[str, int]]:
    """Per dataset: rows_in, governed, quarantined, duplicates as recorded by the last governance."""
    recon = governance_reconciliation
    query = sa.select(
        recon.c.dataset_id,
        sa.func.sum(recon.c.rows_in),
        sa.func.sum(recon.c.governed),
        sa.func.sum(recon.c.quarantined),
        sa.func.sum(recon.c.duplicates),
    ).group_by(recon.c.dataset_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return {
        dataset: {
            "rows_in": int(rows_in or 0),
            "governed": int(governed or 0),
            "quarantined": int(quarantined or 0),
            "duplicates": int(duplicates or 0),
        }
        for dataset, rows_in, governed, quarantined, duplicates in rows
    }
