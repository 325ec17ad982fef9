"""Classification & grading (分类分级, GB/T 43697-2024) and the personal-data detectors.

Plain domain logic (no Dagster): ``detectors`` (what a column holds), ``scheme`` (the scheme in
``scheme.yaml``), ``classify`` (declaration against detection, category, level and grade per column).
"""

from assets.classification.classify import (
    ColumnClassification,
    DatasetGrade,
    classify_file,
    classify_frame,
    dataset_grade,
)
from assets.classification.detectors import Detection, detect_column
from assets.classification.scheme import Scheme, default_scheme, load_scheme
from assets.common.pii import PII_TYPES

__all__ = [
    "PII_TYPES",
    "ColumnClassification",
    "DatasetGrade",
    "Detection",
    "Scheme",
    "classify_file",
    "classify_frame",
    "dataset_grade",
    "default_scheme",
    "detect_column",
    "load_scheme",
]
