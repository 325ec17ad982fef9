"""Publication of the city catalog to society (第八条): the files and their record.

Each version is written under ``<data dir>/operation/catalog/`` — the operation platform's public area —
as ``v<NNNN>/catalog.json`` with its JSON Schema ``catalog.schema.json``, ``v<NNNN>/catalog.jsonld``
(DCAT-AP 3.0.0), ``v<NNNN>/index.html`` and ``v<NNNN>/datasets/<dataset>.json`` (each entry's public
metadata), rendered by :mod:`assets.catalog_sync.render`, and the same files at the top as the current
catalog; each publication is recorded in ``catalog_events``. Addresses are under the public base URL
where ``<data dir>/operation/`` is served (:class:`assets.catalog_sync.standards.PublicSite`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.catalog_sync.render import (
    SCHEMA_NAME,
    PublicView,
    catalog_dcat_of,
    catalog_html,
    catalog_json,
    catalog_schema,
)
from assets.catalog_sync.standards import DATASETS_DIRNAME
from assets.catalog_sync.versions import CatalogVersion, diff_counts
from assets.common.files import PUBLIC_FILE_MODE, make_public
from assets.storage.tables import catalog_events

PUBLIC_DIRNAME = Path("operation") / "catalog"
JSON_NAME = "catalog.json"
DCAT_NAME = "catalog.jsonld"
HTML_NAME = "index.html"


def public_dir(data_dir: Path) -> Path:
    return Path(data_dir) / PUBLIC_DIRNAME


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
        temporary = Path(handle.name)
    temporary.chmod(PUBLIC_FILE_MODE)  # the public catalog: readable by everyone
    os.replace(temporary, path)


@dataclass(frozen=True)
class Publication:
    version: int
    directory: Path  # the version's own directory
    published: list[str]  # dataset ids
    withheld: list[str]  # 禁止开放 dataset ids, left out


def _dumps(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def write_publication(
    data_dir: Path, version: CatalogVersion, view: PublicView, diff: Mapping[str, Any]
) -> Publication:
    """Write the version's JSON (with its schema), DCAT JSON-LD, HTML and per-entry metadata, in its
    own folder and as the current files.

    ``diff`` is the version's public diff (:func:`render.public_diff`), shown as 本版变更.
    """
    catalog = version.catalog
    document = catalog_json(catalog, version, view, diff)
    texts = {
        JSON_NAME: _dumps(document),
        DCAT_NAME: _dumps(catalog_dcat_of(catalog, version, view)),
        HTML_NAME: catalog_html(catalog, version, view, diff),
        SCHEMA_NAME: _dumps(catalog_schema(view.site)),
    }
    for entry in document["条目"]:
        texts[f"{DATASETS_DIRNAME}/{entry['dataset_id']}.json"] = _dumps(entry)
    root = public_dir(data_dir)
    directory = root / f"v{version.version:04d}"
    for name, text in texts.items():
        write_atomic(directory / name, text + "\n")
    # the current catalog at the top; written last, so it never names a version not yet on disk
    for name, text in texts.items():
        write_atomic(root / name, text + "\n")
    # an entry no longer published has no current metadata file
    for stale in (root / DATASETS_DIRNAME).glob("*.json"):
        if f"{DATASETS_DIRNAME}/{stale.name}" not in texts:
            stale.unlink()
    make_public(root, base=Path(data_dir))
    return Publication(
        version=version.version,
        directory=directory,
        published=[e.dataset_id for e in catalog.published],
        withheld=[e.dataset_id for e in catalog.withheld],
    )


def record_publication(
    engine: Engine,
    publication: Publication,
    data_dir: Path,
    diff: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """Record that a version was published, with its public diff (the change event)."""
    with engine.begin() as connection:
        connection.execute(
            catalog_events.insert().values(
                version=publication.version,
                at=now or datetime.now(UTC),
                kind="published",
                channel=None,
                status="ok",
                detail={
                    "directory": publication.directory.relative_to(data_dir).as_posix(),
                    "published": publication.published,
                    "withheld": len(publication.withheld),
                    "变更统计": diff_counts(diff),
                    "变更": dict(diff),
                },
            )
        )


def catalog_events_of(engine: Engine, version: int | None = None) -> list[dict[str, Any]]:
    query = sa.select(catalog_events).order_by(catalog_events.c.id)
    if version is not None:
        query = query.where(catalog_events.c.version == version)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
