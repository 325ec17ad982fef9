"""Data Docs pages come from GE's own views and templates, each template compiled once per process:
a second site in the same process compiles nothing, and a template whose source changed is
compiled again, never served from the cache."""

from __future__ import annotations

import re

import jinja2
import pytest

from assets.quality import docs_views
from assets.quality.data_docs import build_data_docs
from assets.quality.docs_views import CompiledTemplates
from assets.quality.validation import QualityValidator
from tests.quality_frames import clean_frame, run


def _normalized(page: str) -> str:
    """A page without what differs between two builds of it (element ids, build times)."""
    page = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", page)
    return re.sub(r"\d{4}-?\d{2}-?\d{2}[T ]\d{2}:?\d{2}:?\d{2}(\.\d+)?(\+00:00|Z)?", "TIME", page)


def test_a_second_site_compiles_no_template_and_its_pages_are_the_same(tmp_path, monkeypatch):
    outcome = run(QualityValidator(), clean_frame("medical_institutions"), "medical_institutions")
    docs_views.COMPILED.clear()
    compiled: list[str | None] = []
    compile_template = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_template(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    first = build_data_docs([outcome], tmp_path / "first")
    first_compiles = len(compiled)
    assert first_compiles and len(docs_views.COMPILED) > 0
    second = build_data_docs([outcome], tmp_path / "second")
    assert compiled[first_compiles:] == []  # every template came from the cache
    pages = sorted(p.relative_to(first.parent) for p in first.parent.rglob("*.html"))
    assert pages == sorted(p.relative_to(second.parent) for p in second.parent.rglob("*.html"))
    assert len(pages) >= 2  # the index and the validation page
    for page in pages:
        one = (first.parent / page).read_text(encoding="utf-8")
        other = (second.parent / page).read_text(encoding="utf-8")
        assert _normalized(one) == _normalized(other)


@pytest.mark.parametrize("changed", ["<p>{{ who }} 已更新</p>", "<p>{{ who | upper }}</p>"])
def test_a_changed_template_is_compiled_again(changed):
    cache = CompiledTemplates()
    sources = {"page.j2": "<p>{{ who }}</p>"}

    def render() -> str:
        env = jinja2.Environment(loader=jinja2.DictLoader(sources), bytecode_cache=cache)
        return env.get_template("page.j2").render(who="ge")

    assert render() == "<p>ge</p>"
    assert len(cache) == 1
    sources["page.j2"] = changed
    assert render() == jinja2.Environment().from_string(changed).render(who="ge")
