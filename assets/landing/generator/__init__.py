"""Synthetic county deliveries for the landing zone, with a ground-truth manifest of injected defects
(``publicdata generate``). Plain modules; no Dagster."""

from assets.landing.generator.core import MIN_ROWS_PER_FILE, allocate_rows, generate
from assets.landing.generator.defects import DEFECT_KINDS, RECOVERABLE_KINDS
from assets.landing.generator.manifest import (
    MANIFEST_PATH,
    Manifest,
    ManifestDefect,
    ManifestFile,
)
from assets.landing.generator.periods import Period, period_containing, recent_periods

__all__ = [
    "DEFECT_KINDS",
    "MANIFEST_PATH",
    "MIN_ROWS_PER_FILE",
    "RECOVERABLE_KINDS",
    "Manifest",
    "ManifestDefect",
    "ManifestFile",
    "Period",
    "allocate_rows",
    "generate",
    "period_containing",
    "recent_periods",
]
