"""The classification register (分类分级登记): one row per column of a dataset, a platform record
replaced per dataset in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.classification.classify import ColumnClassification, DatasetGrade
from assets.storage.tables import classification_register


def record_register(
    engine: Engine,
    dataset_id: str,
    classifications: Sequence[ColumnClassification],
    grade: DatasetGrade,
    *,
    run_id: str,
    at: datetime,
) -> None:
    """Replace the dataset's rows of the classification register in one transaction."""
    rows = [
        {
            "dataset_id": dataset_id,
            "column_name": c.column,
            "item_name": c.item_name,
            "category": c.category,
            "grade": c.grade,
            "level": c.level,
            "detected_type": c.detected_type,
            "confidence": float(c.confidence),
            "declared_type": c.declared_type,
            "agreement": c.agreement,
            "evidence": c.evidence,
            "remark": c.remark,
            "dataset_grade": grade.grade,
            "dataset_level": grade.level,
            "run_id": run_id,
            "classified_at": at,
        }
        for c in classifications
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.delete(classification_register).where(
                classification_register.c.dataset_id == dataset_id
            )
        )
        if rows:
            connection.execute(classification_register.insert(), rows)


def read_register(engine: Engine, dataset_id: str) -> pd.DataFrame:
    """The dataset's rows of the classification register (one per column)."""
    with engine.connect() as connection:
        return pd.read_sql(
            sa.select(classification_register)
            .where(classification_register.c.dataset_id == dataset_id)
            .order_by(classification_register.c.column_name),
            connection,
        )


def register_levels(register: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """Levels and detected types per column, as desensitization takes them."""
    levels = dict(zip(register["column_name"], register["level"], strict=True))
    detected = dict(zip(register["column_name"], register["detected_type"], strict=True))
    return levels, detected
