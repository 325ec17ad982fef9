"""The ground-truth manifest of a generated landing zone (``<data_dir>/ground_truth/manifest.json``):
every file written and every defect injected, so later stages can be scored against it."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_PATH = Path("ground_truth") / "manifest.json"

FileFormat = Literal["csv", "xlsx", "xls"]
Encoding = Literal["utf-8", "utf-8-sig", "gb18030"]


class ManifestFile(BaseModel):
    """One landing file: where it is, what it holds and how it is encoded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str  # relative to data_dir, with forward slashes
    dataset_id: str
    county_code: str
    period: str
    format: FileFormat
    encoding: Encoding | None  # None for xlsx
    rows: int = Field(ge=0)  # data rows, the header not counted
    header: list[str]  # the Chinese item names in file column order
    columns: list[str]  # the canonical columns in the same order
    sha256: str
    # delivery shapes (generate --shapes; see assets/landing/generator/shapes.py)
    shapes: list[str] = Field(default_factory=list)
    header_row: int = 1  # the header's row: title rows above it are skipped
    skipped_rows: int = 0  # title rows and 合计 rows the reader skips
    extra_columns: list[str] = Field(default_factory=list)
    excel_numeric_rows: list[int] = Field(default_factory=list)  # rows whose ID lost digits


class ManifestDefect(BaseModel):
    """One injected defect: the file, the spreadsheet row (as the reader numbers it: the header is
    row 1 unless title rows sit above it), the canonical column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    source_row: int = Field(ge=2)
    column: str
    kind: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int
    as_of: date
    rows: int
    defect_rate: float
    periods: int
    files: list[ManifestFile]
    defects: list[ManifestDefect]
    pii_columns: dict[str, dict[str, str]]  # dataset_id → {column: PiiType}

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest; ``path`` is the manifest file or the data directory holding it."""
        if path.is_dir():
            path = path / MANIFEST_PATH
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        """Write atomically (a temporary file renamed over the target)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        os.replace(partial, path)

    def file(self, path: str) -> ManifestFile:
        for record in self.files:
            if record.path == path:
                return record
        raise KeyError(path)

    def defects_in(self, path: str) -> list[ManifestDefect]:
        return [d for d in self.defects if d.file == path]

    def defect_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(d.kind for d in self.defects).items()))
