"""Great Expectations suites derived from the catalog: one file per dataset, in ``quality_suites/``.

The expectations and their ``meta`` (rule id, GB/T 36344 dimension, severity, columns, fix) come from
:mod:`assets.quality.suite_rules`. The files are generated, never edited by hand:
``python -m assets.quality.suites --write`` regenerates them, and a test fails when they drift from
the catalog. Partition-dependent values are GE suite parameters supplied at validation time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import great_expectations as gx

from assets.common.catalog import SHIPPED_CATALOG_DIR, CatalogEntry, load_catalog
from assets.quality.suite_files import load_suite_file
from assets.quality.suite_rules import SUITE_PARAMETERS, expectations_for

SUITES_DIR = Path(__file__).resolve().parents[2] / "quality_suites"

log = logging.getLogger(__name__)


def build_suite(entry: CatalogEntry) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=entry.dataset_id,
        expectations=expectations_for(entry),
        meta={
            "dataset_id": entry.dataset_id,
            "title": entry.title,
            "provider": entry.provider,
            "generated_from": f"assets/catalog_sync/entries/{entry.dataset_id}.yaml",
            "suite_parameters": list(SUITE_PARAMETERS),
        },
    )


def suite_text(entry: CatalogEntry) -> str:
    """The suite file's content: GE's JSON suite format, stable for a given catalog entry."""
    return json.dumps(build_suite(entry).to_json_dict(), ensure_ascii=False, indent=2) + "\n"


def suite_path(dataset_id: str, directory: Path = SUITES_DIR) -> Path:
    return directory / f"{dataset_id}.json"


def load_suite(dataset_id: str, directory: Path = SUITES_DIR) -> gx.ExpectationSuite:
    """A suite from its JSON file (the custom expectations are registered by this module)."""
    path = suite_path(dataset_id, directory)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: 数据集 {dataset_id} 没有质量规则文件，请运行 python -m assets.quality.suites --write"
        )
    return load_suite_file(path)  # whole or an error naming the expectation types it cannot build


def suite_for(entry: CatalogEntry, directory: Path = SUITES_DIR) -> gx.ExpectationSuite:
    """The suite file of a dataset when there is one; for a catalog entry that has none yet (a new
    dataset registered without its suite), the suite the catalog's rules generate."""
    if suite_path(entry.dataset_id, directory).exists():
        return load_suite(entry.dataset_id, directory)
    log.warning(
        "数据集 %s 没有质量规则文件 %s，按目录条目的信息项规则生成",
        entry.dataset_id,
        suite_path(entry.dataset_id, directory),
    )
    return build_suite(entry)


def stale_suites(catalog: Mapping[str, CatalogEntry], directory: Path = SUITES_DIR) -> list[str]:
    """Dataset ids whose suite file is missing or differs from what the catalog generates."""
    stale = []
    for dataset_id, entry in catalog.items():
        path = suite_path(dataset_id, directory)
        if not path.exists() or path.read_text(encoding="utf-8") != suite_text(entry):
            stale.append(dataset_id)
    return stale


def write_suites(catalog: Mapping[str, CatalogEntry], directory: Path = SUITES_DIR) -> list[Path]:
    """(Re)write one suite file per catalog entry; files of datasets no longer in it are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for dataset_id, entry in catalog.items():
        path = suite_path(dataset_id, directory)
        path.write_text(suite_text(entry), encoding="utf-8")
        written.append(path)
    for orphan in sorted(set(directory.glob("*.json")) - set(written)):
        orphan.unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assets.quality.suites",
        description="从目录条目生成 Great Expectations 质量规则文件（quality_suites/*.json）。",
    )
    parser.add_argument("--write", action="store_true", help="重新生成并写入规则文件")
    parser.add_argument("--catalog-dir", type=Path, default=SHIPPED_CATALOG_DIR)
    parser.add_argument("--suites-dir", type=Path, default=SUITES_DIR)
    args = parser.parse_args(argv)
    catalog = load_catalog(args.catalog_dir)
    if args.write:
        for path in write_suites(catalog, args.suites_dir):
            sys.stdout.write(f"{path}\n")
        return 0
    stale = stale_suites(catalog, args.suites_dir)
    for dataset_id in stale:
        sys.stderr.write(f"{dataset_id}: 规则文件与目录不一致，请运行 --write 重新生成\n")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
