"""Values that reach a document are neutralized for that document.

A department delivers text; the platform writes some of it back into spreadsheets (department reports)
and web pages (Data Docs, the public catalog, reports). Text is data there, never code:

- spreadsheets: a cell never becomes a formula. The writer is told not to turn strings into formulas or
  links (:data:`XLSX_WRITER_OPTIONS`), and text that a spreadsheet program would read as a formula or a
  DDE call when the file is re-saved or exported (a leading ``= + - @`` or a control character) gets a
  leading apostrophe (:func:`neutralize_cell`);
- HTML: every value is escaped (:func:`escape_html`, Jinja2 environments with autoescape from
  :func:`html_environment`), and a page built by a third-party renderer can be checked for markup that
  only an injected value could have brought (:func:`script_injections`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup, escape

# text a spreadsheet program reads as a formula (= + - @) or that hides one behind a control character
_FORMULA_TRIGGERS = frozenset("=+-@")

# xlsxwriter ``Workbook`` options: strings stay strings (no formula, no hyperlink, no number)
XLSX_WRITER_OPTIONS: dict[str, bool] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def needs_neutralizing(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as something other than text."""
    if not text:
        return False
    first = text[0]
    return first in _FORMULA_TRIGGERS or ord(first) < 0x20 or 0x7F <= ord(first) <= 0x9F


def neutralize_cell(value: Any) -> Any:
    """The value to write into a spreadsheet cell: text that could be read as a formula gets a
    leading apostrophe; numbers, dates and empty cells are returned as they are."""
    if isinstance(value, str) and needs_neutralizing(value):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are neutralized for a spreadsheet."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralize_cell, na_action="ignore")
    out.columns = [neutralize_cell(c) for c in out.columns]
    return out


def escape_html(value: Any) -> str:
    """``value`` as text safe inside HTML element content and attributes, quoted or not (``=`` is
    escaped too, so not even the text of an attribute assignment such as ``onerror=`` survives)."""
    return str(escape("" if value is None else str(value))).replace("=", "&#61;")


def escape_markup(value: Any) -> str:
    """``value`` for Markdown and plain-text messages that a channel may render as HTML: ``<``, ``>``
    and ``&`` become entities (which Markdown shows as the characters), so no tag can start."""
    return (
        ("" if value is None else str(value))
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def html_environment(templates: Path) -> jinja2.Environment:
    """Jinja2 environment for the templates in ``templates``: every value escaped by
    :func:`escape_html` (autoescape on, so nothing is escaped twice), unknown names an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
    )


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup) or value is None:
        return value
    return Markup(escape_html(value))


# --- checking pages built by others --------------------------------------------------------------

_EVENT_ATTRIBUTE = re.compile(r"on[a-z]+")
_DANGEROUS_TAGS = frozenset({"iframe", "object", "embed", "base", "frame", "frameset", "applet"})


class _ScriptScan(HTMLParser):
    def __init__(
        self,
        allowed_handlers: re.Pattern[str],
        allowed_inline: Collection[str],
        allowed_sources: Collection[str],
    ) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed_handlers = allowed_handlers
        self.allowed_inline = tuple(allowed_inline)
        self.allowed_sources = tuple(allowed_sources)
        self.findings: list[str] = []
        self._in_script = False
        self._script_body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DANGEROUS_TAGS:
            self.findings.append(f"<{tag}>")
        for name, value in attrs:
            text = (value or "").strip()
            if _EVENT_ATTRIBUTE.fullmatch(name) and not self.allowed_handlers.fullmatch(text):
                self.findings.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and text.lower().startswith(
                ("javascript:", "vbscript:", "data:text/html")
            ):
                self.findings.append(f"<{tag} {name}={text[:11]}…>")
        if tag == "script":
            source = dict(attrs).get("src")
            if source is not None and not source.startswith(self.allowed_sources):
                self.findings.append("<script src=…>")
            self._in_script = source is None
            self._script_body = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            body = "".join(self._script_body).strip()
            if body and not body.startswith(self.allowed_inline):
                self.findings.append("<script>…</script>")
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script_body.append(data)


def script_injections(
    html: str,
    *,
    allowed_handlers: re.Pattern[str],
    allowed_inline: Collection[str],
    allowed_sources: Collection[str],
) -> list[str]:
    """Script-bearing markup in ``html`` that the renderer's own templates do not produce: event
    handler attributes other than ``allowed_handlers``, inline scripts not starting with one of
    ``allowed_inline``, external scripts outside ``allowed_sources``, ``javascript:`` links and
    frames/objects. Empty when the page holds only the renderer's own scripts."""
    scan = _ScriptScan(allowed_handlers, allowed_inline, allowed_sources)
    scan.feed(html)
    scan.close()
    return scan.findings
