"""The latest validation of every partition, kept in the data directory, and the Data Docs built
from them.

``<data dir>/quality/results/<dataset>/<county>/<period>.json`` holds the scrubbed summary and GE
result of a partition's latest validation (masked examples only, see ``validation.py``);
``<data dir>/quality/data_docs/<dataset>/index.html`` is one GE Data Docs site per dataset, rebuilt
from those files after each check, so a check of one partition never drops the pages of the others
(and rebuilds only its own dataset's site). A site shows each county's ``DOCS_PERIODS_PER_COUNTY``
latest periods; ``<data dir>/quality/data_docs/index.html`` lists every dataset's latest validation
of each county, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from great_expectations.core.expectation_validation_result import (
    expectationSuiteValidationResultSchema,
)

from assets.common.city import load_city
from assets.common.files import create_private_file, private_dir
from assets.quality.data_docs import build_data_docs
from assets.quality.docs_index import write_docs_index
from assets.quality.suites import suite_path
from assets.quality.validation import (
    Example,
    ExpectationOutcome,
    ValidationOutcome,
    scrub_text,
)

QUALITY_DIR = "quality"
DOCS_PERIODS_PER_COUNTY = 12


def results_dir(data_dir: Path) -> Path:
    return Path(data_dir) / QUALITY_DIR / "results"


def docs_root(data_dir: Path) -> Path:
    return Path(data_dir) / QUALITY_DIR / "data_docs"


def docs_site(data_dir: Path, dataset_id: str) -> Path:
    return docs_root(data_dir) / dataset_id


def result_path(directory: Path, dataset_id: str, county_code: str, period: str) -> Path:
    return directory / dataset_id / county_code / f"{period}.json"


def save_outcome(
    outcome: ValidationOutcome,
    directory: Path,
    *,
    period: str,
    file_checksums: list[str] | None = None,
) -> Path:
    """Write the partition's latest validation atomically (replacing the previous one), with the
    checksums of the delivery it judged."""
    path = result_path(directory, outcome.dataset_id, outcome.county_code, period)
    private_dir(path.parent)
    payload = {
        "summary": outcome.to_dict(),
        "ge_result": outcome.ge_result,
        "file_checksums": file_checksums or [],
    }
    partial = create_private_file(path.with_name(f".{path.name}.{os.getpid()}.part"))
    partial.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, path)
    return path


def checked_deliveries(
    directory: Path, dataset_id: str, county_code: str, period: str
) -> list[str]:
    """Checksums of the delivery the partition's stored validation judged ([] when none)."""
    path = result_path(directory, dataset_id, county_code, period)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("file_checksums", [])
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def _expectation(raw: dict[str, Any]) -> ExpectationOutcome:
    return ExpectationOutcome(
        **{
            **raw,
            "columns": tuple(raw["columns"]),
            "examples": tuple(Example(e["source_row"], e["value"]) for e in raw["examples"]),
        }
    )


def load_outcome(path: Path, *, with_ge_object: bool = True) -> ValidationOutcome:
    """A stored validation, with its GE result object (for Data Docs) unless ``with_ge_object``
    is False (the summary only: cheaper)."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    summary = payload["summary"]
    return ValidationOutcome(
        dataset_id=summary["dataset_id"],
        county_code=summary["county_code"],
        period=summary["period"],
        as_of=summary["as_of"],
        row_count=summary["row_count"],
        validated_at=dt.datetime.fromisoformat(summary["validated_at"]),
        expectations=tuple(_expectation(e) for e in summary["expectations"]),
        ge_result=payload["ge_result"] if with_ge_object else {},
        ge_object=(
            expectationSuiteValidationResultSchema.load(payload["ge_result"])
            if with_ge_object
            else None
        ),
    )


def latest_outcomes(
    directory: Path, dataset_id: str, *, periods_per_county: int = DOCS_PERIODS_PER_COUNTY
) -> list[ValidationOutcome]:
    """The stored validations of a dataset: each county's latest ``periods_per_county`` periods."""
    by_county: dict[str, list[Path]] = defaultdict(list)
    for path in sorted((directory / dataset_id).glob("*/*.json")):
        by_county[path.parent.name].append(path)
    return [
        load_outcome(path)
        for _, paths in sorted(by_county.items())
        for path in sorted(paths, key=lambda p: p.stem)[-periods_per_county:]
    ]


def county_latest_outcomes(directory: Path) -> list[ValidationOutcome]:
    """Every dataset's latest stored validation of each county (summaries, no GE objects)."""
    return [
        load_outcome(max(county.glob("*.json"), key=lambda p: p.stem), with_ge_object=False)
        for dataset in (sorted(directory.iterdir()) if directory.is_dir() else [])
        if dataset.is_dir()
        for county in sorted(dataset.iterdir())
        if county.is_dir() and any(county.glob("*.json"))
    ]


def _title(dataset_id: str, suite: Any = None) -> str:
    """The dataset's Chinese title, from its suite's meta (the catalog's), else its id."""
    meta = getattr(suite, "meta", None)
    if meta is None:
        try:
            meta = json.loads(suite_path(dataset_id).read_text(encoding="utf-8")).get("meta")
        except (OSError, ValueError):
            meta = None
    return str((meta or {}).get("title") or dataset_id)


@functools.cache
def _city() -> Any:
    return load_city()


def _county_name(code: str) -> str:
    try:
        return f"{_city().county(code).name}（{code}）"
    except KeyError:
        return code


def rebuild_docs(directory: Path, site_dir: Path, dataset_id: str, suite: Any = None) -> Path:
    """Rebuild the dataset's Data Docs site from its stored validations, and the index across all
    datasets beside it (:mod:`assets.quality.docs_index`); returns the site's index.html."""
    suites = {dataset_id: suite} if suite is not None else None
    index = build_data_docs(
        latest_outcomes(directory, dataset_id), site_dir, suites=suites, overview=True
    )
    write_index(directory, Path(site_dir).parent, {dataset_id: suite})
    return index


def write_index(directory: Path, docs_dir: Path, suites: dict[str, Any] | None = None) -> Path:
    """The index across datasets (:mod:`assets.quality.docs_index`) of the latest validations
    stored in ``directory``, beside the datasets' sites in ``docs_dir``; ``suites`` give titles."""
    latest = county_latest_outcomes(directory)
    titles = {o.dataset_id: _title(o.dataset_id, (suites or {}).get(o.dataset_id)) for o in latest}
    return write_docs_index(latest, Path(docs_dir), titles=titles, county_name=_county_name)


def stale_docs(directory: Path, docs_dir: Path) -> list[str]:
    """Datasets holding a stored validation newer than their Data Docs site (or without a site)."""
    stale = []
    for dataset in sorted(directory.iterdir()) if directory.is_dir() else []:
        results = list(dataset.glob("*/*.json"))
        if not dataset.is_dir() or not results:
            continue
        index = Path(docs_dir) / dataset.name / "index.html"
        built = index.stat().st_mtime_ns if index.exists() else -1
        if max(p.stat().st_mtime_ns for p in results) >= built:
            stale.append(dataset.name)
    return stale


def rebuild_stale_docs(
    directory: Path, docs_dir: Path, suite_of: Callable[[str], Any] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Rebuild the site of every dataset whose stored validations are newer than it (checks of a
    CLI run leave the building to this, once per dataset). Returns the datasets rebuilt and, for
    those whose build failed, the reason (scrubbed); one failure does not stop the others."""
    rebuilt: list[str] = []
    failed: dict[str, str] = {}
    for dataset_id in stale_docs(directory, docs_dir):
        try:
            suite = suite_of(dataset_id) if suite_of else None
            rebuild_docs(directory, Path(docs_dir) / dataset_id, dataset_id, suite)
            rebuilt.append(dataset_id)
        except Exception as exc:  # GE rendering must never stop the follow-up
            failed[dataset_id] = scrub_text(str(exc))[:300]
    return rebuilt, failed
