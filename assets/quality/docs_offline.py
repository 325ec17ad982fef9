"""Great Expectations Data Docs that load nothing from outside: GE's pages ask public CDNs for
their scripts, styles and fonts (and GE's own bucket for its logo), which a government intranet does
not reach — offline the results list stays empty and the pass/fail icons blank. After GE builds a
site, every such URL is rewritten to the copy vendored under ``assets/quality/static/vendor/``
(copied into the site's ``static/vendor/``), as a path relative to the page, so the site works from
the portal and from disk; links out of the site lose their target, and the favicon link points
where the icon is.

:func:`external_references` then finds what a page or style sheet would still load or link from
outside (``src``, ``href``, ``srcset``, ``url(...)``, ``@import``, …); a site holding any is refused.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
SITE_VENDOR = Path("static", "vendor")  # inside each site
SITE_IMAGES = Path("static", "images")  # GE copies its own images there

# Every URL that GE 1.24's page templates load, and its vendored copy (under static/vendor/): the
# exact files and versions the templates ask for (npm packages; licences in README and beside them)
VENDORED: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js-1.12.9/umd/popper.min.js"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap-4.3.1/js/bootstrap.min.js"
    ),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap-4.3.1/css/bootstrap.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.css",
}
# GE's logo, which its navbar and its dark-mode style take from GE's bucket (with a query naming the
# data context); the site has GE's images under static/images/ (no dark logo among them)
GE_IMAGES = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
    r"(?P<name>[\w.-]+)(?:\?[^\"'\s)]*)?"
)
GE_IMAGE_FILES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

_QUOTED_URL = re.compile(r"(?P<q>[\"'])(?P<url>https?://[^\"'\s]+)(?P=q)")
_SRI_ATTRIBUTE = re.compile(r"\s(?:integrity|crossorigin)=\"[^\"]*\"")
_LINK_OUT = re.compile(r"(<a\b[^<>]*?)\s+href=\"(?:https?:)?//[^\"]*\"")
_GE_NEWSLETTER = re.compile(r"<footer>\s*<p>\s*Stay current on everything GX.*?</footer>", re.S)
_NAVBAR_END = re.compile(r"\s*</nav>\s*</div>\s*</nav>")
_FAVICON = re.compile(r"(<link\s+rel=\"shortcut icon\"\s+href=\")[^\"]*(\")")

# what a style sheet loads: url(...) and @import "..." (comments removed first)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_URL = re.compile(r"url\(\s*(?P<q>[\"']?)(?P<url>.*?)(?P=q)\s*\)", re.S)
_CSS_IMPORT = re.compile(r"@import\s+(?P<q>[\"'])(?P<url>[^\"']*)(?P=q)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# attributes whose value a browser loads or follows
URL_ATTRIBUTES = frozenset(
    {"src", "href", "srcset", "poster", "data", "action", "formaction", "background", "xlink:href"}
)


def is_external(url: str) -> bool:
    """True when ``url`` names something outside the site: any scheme but ``data:``, or a
    protocol-relative ``//host`` (``#…`` and relative paths are the site's own)."""
    url = url.strip()
    if url.startswith(("//", "\\\\")):
        return True
    return bool(_SCHEME.match(url)) and not url.lower().startswith("data:")


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def _sync_tree(source: Path, target: Path) -> None:
    """Copy what ``target`` lacks or holds in another size (the vendored files change only with an
    upgrade, so a rebuild after every check copies nothing)."""
    for file in source.rglob("*"):
        if not file.is_file():
            continue
        copy = target / file.relative_to(source)
        if not copy.is_file() or copy.stat().st_size != file.stat().st_size:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy)


def make_offline(site: Path, *, overview: bool = False) -> None:
    """Copy the vendored files into ``site`` and rewrite its pages and GE's style sheets to use
    them. An external URL that nothing here replaces (say, after a GE upgrade changed its templates)
    is left as it is, for :func:`external_references` to find. With ``overview``, every page's
    navbar links to the index across datasets beside the site (``../index.html``)."""
    _sync_tree(VENDOR_DIR, site / SITE_VENDOR)
    for page in sorted(site.rglob("*.html")):
        text = offline_page(page.read_text(encoding="utf-8"), page.parent, site)
        navbar_end = _NAVBAR_END.search(text) if overview else None
        if navbar_end is not None:
            link = _relative(site.parent / "index.html", page.parent)
            back = f'<a class="ml-3" href="{link}">← 数据质量检查总览</a>'
            text = text[: navbar_end.start()] + back + text[navbar_end.start() :]
        page.write_text(text, encoding="utf-8")
    ge_styles = site / "static" / "styles"
    for sheet in sorted(ge_styles.rglob("*.css")) if ge_styles.is_dir() else []:
        text = sheet.read_text(encoding="utf-8")
        sheet.write_text(_local_urls(text, sheet.parent, site), encoding="utf-8")


def offline_page(html: str, folder: Path, site: Path) -> str:
    """A built page's text with every known external URL made a relative path from ``folder``."""
    html = _GE_NEWSLETTER.sub("", html)
    # subresource integrity and CORS mode are for CDNs: a sandboxed page (an opaque origin) or a
    # file:// page cannot fetch its own files in CORS mode
    html = _SRI_ATTRIBUTE.sub("", html)
    html = _LINK_OUT.sub(r"\1", html)
    favicon = _relative(site / SITE_IMAGES / "favicon.ico", folder)
    html = _FAVICON.sub(lambda m: m.group(1) + favicon + m.group(2), html)
    return _local_urls(html, folder, site)


def _local_urls(text: str, folder: Path, site: Path) -> str:
    def local(match: re.Match[str]) -> str:
        url = match.group("url")
        if url in VENDORED:
            path = _relative(site / SITE_VENDOR / VENDORED[url], folder)
            return match.group("q") + path + match.group("q")
        image = GE_IMAGES.fullmatch(url)
        if image and image.group("name") in GE_IMAGE_FILES:
            name = GE_IMAGE_FILES[image.group("name")]
            return (
                match.group("q") + _relative(site / SITE_IMAGES / name, folder) + match.group("q")
            )
        return match.group(0)

    return _QUOTED_URL.sub(local, text)


# --- what a page or style sheet refers to ---------------------------------------------------------


def css_references(css: str) -> Iterator[str]:
    """The URLs a style sheet loads (``url(...)``, ``@import``), comments left out."""
    css = _CSS_COMMENT.sub("", css)
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(css):
            yield match.group("url").strip()


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name == "srcset":
                self.found += [(f"<{tag} srcset>", c.split()[0]) for c in value.split(",") if c]
            elif name in URL_ATTRIBUTES:
                self.found.append((f"<{tag} {name}>", value.strip()))
            elif name == "style":
                self.found += [(f"<{tag} style>", u) for u in css_references(value)]
            elif name == "content" and ("http-equiv", "refresh") in attrs and "url=" in value:
                self.found.append((f"<{tag} refresh>", value.split("url=", 1)[1].strip()))
        self._style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._style = False

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            self.found += [("<style>", u) for u in css_references(data)]


def html_references(html: str) -> list[tuple[str, str]]:
    """Every (where, URL) a page loads or links: URL attributes, inline and ``<style>`` CSS."""
    scan = _References()
    scan.feed(html)
    scan.close()
    return scan.found


def file_references(path: Path) -> list[tuple[str, str]]:
    """The references of an HTML page or a CSS file (others: none)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".html", ".htm"):
        return html_references(text)
    if path.suffix.lower() == ".css":
        return [("url()", u) for u in css_references(text)]
    return []


def external_references(site: Path) -> list[str]:
    """``file: where → URL`` for everything in ``site`` that still points outside it."""
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix.lower() not in (".html", ".htm", ".css"):
            continue
        for where, url in file_references(path):
            if is_external(url):
                found.append(f"{path.relative_to(site).as_posix()}: {where} → {url[:80]}")
    return found
