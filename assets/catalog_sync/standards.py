"""What the public catalog says beyond 第八条 so that other systems can read it.

- GB/T 21063 政务信息资源目录 core metadata that applies to an entry: 信息资源代码, 信息资源提供方代码,
  信息资源格式, 共享属性 and 发布日期 (with 更新日期), in the JSON and the DCAT export alike.
- Latin-script titles beside the Chinese one: harvesters such as ckanext-dcat derive a dataset's name
  from its title and drop every character that is not Latin.
- HTTP(S) identifiers under the public base URL, the address where ``<data dir>/operation/`` (the
  operation platform's public area) is served; the catalog is at ``<base>catalog/``.
- Each entry's issued / modified moments, read from the catalog's version history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from assets.catalog_sync.versions import CatalogVersion, diff_snapshots
from assets.common.catalog import CatalogEntry, Openness
from assets.common.city import City

CHINA = ZoneInfo("Asia/Shanghai")
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000/"
CATALOG_PATH = "catalog/"
DATASETS_DIRNAME = "datasets"

# 信息资源格式 (GB/T 21063.3 格式分类 / 格式类型): what the operation platform holds of every entry
RESOURCE_FORMAT = "数据库/结构化数据表"
# 共享属性: every entry reaches the city exchange platform; how other departments may use it follows
# its 开放属性 (禁止开放 entries are never published, their sharing stays conditional)
SHARING_TYPES: dict[Openness, str] = {
    Openness.UNCONDITIONAL: "无条件共享",
    Openness.CONDITIONAL: "有条件共享",
    Openness.PROHIBITED: "有条件共享",
}
SHARING_CONDITIONS: dict[Openness, str] = {
    Openness.UNCONDITIONAL: "政务部门履职需要即可使用",
    Openness.CONDITIONAL: "经数源部门审核同意后在运营平台内使用（可用不可见）",
    Openness.PROHIBITED: "仅限依法履职，经数源部门审核同意",
}


def normalize_base_url(url: str) -> str:
    """An absolute http(s) URL ending in ``/``; anything else is a configuration error."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"公开地址必须是 http(s) 绝对地址: {url!r}")
    text = url.strip()
    return text if text.endswith("/") else text + "/"


@dataclass(frozen=True)
class PublicSite:
    """The addresses of the published catalog under the public base URL."""

    base_url: str = DEFAULT_PUBLIC_BASE_URL

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))

    @property
    def catalog_url(self) -> str:
        return self.base_url + CATALOG_PATH

    def iri(self, kind: str, *keys: str) -> str:
        """A stable identifier of a thing the catalog describes (``<base>catalog/<kind>/<key>``)."""
        return self.catalog_url + "/".join([kind, *(quote(key, safe="") for key in keys)])

    def file_url(self, name: str) -> str:
        return self.catalog_url + quote(name)

    def page_url(self, dataset_id: str) -> str:
        """The entry on the catalog page: where a user reads it and learns how to apply for use."""
        return f"{self.catalog_url}index.html#{quote(dataset_id)}"

    def metadata_url(self, dataset_id: str) -> str:
        """The entry's own public metadata file (JSON)."""
        return f"{self.catalog_url}{DATASETS_DIRNAME}/{quote(dataset_id)}.json"


def catalog_title(city: City) -> str:
    return f"{city.city.name}公共数据资源目录"


def publisher_name(provider: str, city: City) -> str:
    """The provider department as the city names it (中卫市公安局)."""
    try:
        return f"{city.city.name}{city.department(provider).name}"
    except KeyError:
        return provider


# --- titles for harvesters ----------------------------------------------------------------------


def pinyin_title(text: str) -> str:
    """Hanyu Pinyin of a Chinese title, one capitalized syllable per character (no tone marks);
    characters without a reading (Latin letters, digits) are kept, punctuation becomes a space."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars))
    words: list[str] = []
    for syllable in syllables:
        cleaned = "".join(c for c in syllable if c.isascii() and c.isalnum())
        if cleaned:
            words.append(cleaned[:1].upper() + cleaned[1:])
    return " ".join(words)


def english_title(dataset_id: str) -> str:
    """The dataset id, which is English words in snake case, as a title."""
    return " ".join(word.capitalize() for word in dataset_id.split("_") if word)


# --- GB/T 21063 core metadata -------------------------------------------------------------------


def resource_code(city: City, entry: CatalogEntry) -> str:
    """信息资源代码: the city's division code and the entry's dataset id, unique and stable."""
    return f"{city.city.code}-{entry.dataset_id}"


def provider_code(city: City, provider: str) -> str:
    """信息资源提供方代码: the department's configured code (统一社会信用代码), else its id."""
    try:
        department = city.department(provider)
    except KeyError:
        return provider
    return department.code or department.id


def exchange_platform_name(city: City) -> str:
    return f"{city.city.name}政务数据共享交换平台"


def sharing(city: City, entry: CatalogEntry) -> dict[str, str]:
    """共享属性: 共享类型, 共享条件, 共享方式."""
    return {
        "共享类型": SHARING_TYPES[entry.openness],
        "共享条件": SHARING_CONDITIONS[entry.openness],
        "共享方式": exchange_platform_name(city),
    }


def china_time(moment: datetime) -> datetime:
    return moment.astimezone(CHINA)


# --- issued / modified from the version history -------------------------------------------------


@dataclass(frozen=True)
class EntryDates:
    issued: datetime  # the version that first published the entry (again, after a retirement)
    modified: datetime  # the latest version that changed the entry


def _public_entries(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    entries = {
        key: {"entry": value["entry"], "counties": value["counties"], "differences": {}}
        for key, value in snapshot.get("entries", {}).items()
        if value["entry"].get("开放属性") != Openness.PROHIBITED.value
    }
    return {"entries": entries}


def entry_dates(
    versions: Sequence[CatalogVersion], upto: int | None = None
) -> dict[str, EntryDates]:
    """Per public entry of version ``upto`` (default: the last one given), when it was issued and
    last modified, in China time."""
    dates: dict[str, EntryDates] = {}
    before: dict[str, Any] = {"entries": {}}
    for version in sorted(versions, key=lambda v: v.version):
        if upto is not None and version.version > upto:
            break
        after = _public_entries(version.snapshot)
        diff = diff_snapshots(before, after)
        moment = china_time(version.created_at)
        for key in diff["added"]:
            dates[key] = EntryDates(issued=moment, modified=moment)
        for key in diff["modified"]:
            dates[key] = EntryDates(issued=dates[key].issued, modified=moment)
        for key in diff["retired"]:
            dates.pop(key, None)
        before = after
    return dates
