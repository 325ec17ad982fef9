"""Issue 12 / issue 11: the published catalog loads nothing from outside. Its HTML page has no
``src``/``href``/``url(...)``/``@import`` pointing out, and every file it links is published beside it;
its JSON, JSON Schema and DCAT JSON-LD load nothing either: the JSON-LD context is inline (a remote
``@context`` is fetched by every JSON-LD processor), every ``$ref`` is inside the schema. The IRIs they
hold are identifiers, not resources a reader loads: the catalog's own under the configured public base
URL, and the vocabularies' namespaces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from assets.catalog_sync.cycle import run_catalog_cycle
from assets.catalog_sync.publish import public_dir
from assets.catalog_sync.registry import seed_registry
from assets.quality.docs_offline import file_references, is_external
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema

BASE = "https://data.zhongwei.example/"
# namespaces of the vocabularies the exports use: identifiers of terms, never loaded
VOCABULARIES = (
    "http://www.w3.org/",
    "http://purl.org/",
    "http://data.europa.eu/",
    "http://publications.europa.eu/resource/",
    "http://xmlns.com/foaf/",
    "https://www.iana.org/assignments/media-types/",
    "https://json-schema.org/draft/2020-12/schema",
)


def _walk(node: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    yield key, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, key)


def _published(db_url: str, city, tmp_path: Path) -> Path:
    ensure_platform_schema(db_url)
    seed_registry(tmp_path, city)
    cycle = run_catalog_cycle(
        tmp_path,
        get_engine(db_url),
        city,
        now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        base_url=BASE,
    )
    assert cycle.version is not None
    return public_dir(tmp_path)


def test_no_catalog_file_loads_anything_from_outside(db_url, city, tmp_path):
    root = _published(db_url, city, tmp_path)
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    suffixes = {p.suffix for p in files}
    assert suffixes == {".html", ".json", ".jsonld"}, suffixes

    pages = [p for p in files if p.suffix == ".html"]
    assert len(pages) == 2  # the current page and the version's
    for page in pages:
        references = file_references(page)
        assert len(references) > 10
        outside = [(w, u) for w, u in references if is_external(u)]
        assert outside == [], (page, outside)
        for _, url in references:
            if url.startswith("#"):
                assert f'id="{url[1:]}"' in page.read_text(encoding="utf-8"), url
                continue
            assert (page.parent / unquote(urlsplit(url).path)).is_file(), (page, url)

    iris = 0
    for path in (p for p in files if p.suffix in (".json", ".jsonld")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for key, value in _walk(document):
            if key == "@context":  # inline, or a processor fetches it
                assert isinstance(value, dict | list) and not any(
                    isinstance(c, str) for c in (value if isinstance(value, list) else [value])
                ), path
            if key == "$ref":
                assert isinstance(value, str) and value.startswith("#"), (path, value)
            if isinstance(value, str) and re.match(r"(?i)^(https?:)?//", value):
                iris += 1
                assert value.startswith(BASE) or value.startswith(VOCABULARIES), (path, value)
    assert iris > 100

    # the schema a catalog names is the one published beside it
    catalog = json.loads((root / "catalog.json").read_text(encoding="utf-8"))
    assert catalog["$schema"] == f"{BASE}catalog/catalog.schema.json"
    assert (root / "catalog.schema.json").is_file()
