"""Great Expectations' Data Docs views, each Jinja template compiled once per process.

GE gives every view its own Jinja ``Environment``, and a site build makes several views: each page
template was parsed and compiled again for every dataset's site (about 40 % of a build's CPU).
These views share one in-memory bytecode cache. Jinja checks the cached code against the template
source's checksum before using it, so a changed template compiles again. The views are otherwise
GE's own (same templates, filters and escaping, all configured alike); ``data_docs`` names them in
the site's config.
"""

from __future__ import annotations

import threading
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2.bccache import Bucket, BytecodeCache


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory, keyed by template name and file (Jinja's bucket key)."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)  # dropped when the source's checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()

    def __len__(self) -> int:
        return len(self._compiled)


COMPILED = CompiledTemplates()


class PageView(DefaultJinjaPageView):
    """GE's page view (suite and validation pages) on the shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = COMPILED


class IndexPageView(DefaultJinjaIndexPageView):
    """GE's site index view on the shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = COMPILED


def _view(cls: type) -> dict[str, str]:
    return {"module_name": __name__, "class_name": cls.__name__}


# the site config's parts naming these views (GE merges them into its defaults)
SITE_INDEX_BUILDER = {"class_name": "DefaultSiteIndexBuilder", "view": _view(IndexPageView)}
SITE_SECTION_BUILDERS = {
    section: {"view": _view(PageView)} for section in ("expectations", "validations", "profiling")
}
