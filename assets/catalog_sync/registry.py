"""The catalog registry (资源目录登记, 第八条): where source departments register their entries.

Layout under the data directory::

    <data dir>/registry/
        README.md                          # this layout, for the departments
        <county_code>/                     # one folder per county (GB/T 2260 code in config/city.yaml)
            <dataset_id>.yaml              # one entry, same format as assets/catalog_sync/entries/*.yaml

A department registers or updates a resource by writing ``<dataset_id>.yaml`` into its county's folder
and retires it by deleting the file. The file name must equal the entry's ``dataset_id``. Files are read
as bytes and hashed (SHA-256), so the sensor can tell exactly which registrations changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from assets.common.catalog import SHIPPED_CATALOG_DIR
from assets.common.city import City
from assets.common.files import display_name, link_problem

REGISTRY_DIRNAME = "registry"

REGISTRY_README = """# 公共数据资源目录登记区

各县（区）数源部门在本目录登记信息资源目录（《中卫市公共数据资源授权运营管理办法》第八条）：

    registry/<县（区）行政区划代码>/<dataset_id>.yaml

- 每个文件登记一个目录条目，格式与平台随附的目录条目相同，必须包含：数据目录名称、信息资源提供方、
  数据摘要、信息项（每项含信息项名称、column、type、规则）、更新频率、开放属性、分类（门类、业务属性）。
- 文件名必须与 dataset_id 一致；删除文件即为撤销（下架）该县（区）的登记。
- 不符合要求的条目会被退回并说明原因，原已接受的登记继续有效。
"""


@dataclass(frozen=True)
class Registration:
    """One registration file as found in the registry (not yet validated)."""

    county_code: str
    dataset_id: str  # from the file name
    path: Path
    content_hash: str
    content: bytes
    problem: str | None = None  # why the file is not read (a link leading outside the data dir)

    @property
    def key(self) -> str:
        return f"{self.county_code}/{self.dataset_id}"

    def load(self) -> object:
        """The parsed YAML document; raises ``yaml.YAMLError`` / ``UnicodeDecodeError``."""
        return yaml.safe_load(self.content.decode("utf-8"))


def registry_dir(data_dir: Path) -> Path:
    return Path(data_dir) / REGISTRY_DIRNAME


def scan_registry(data_dir: Path) -> list[Registration]:
    """Every ``<county>/<dataset_id>.yaml`` in the registry, sorted by county and dataset."""
    root = registry_dir(data_dir)
    if not root.is_dir():
        return []
    found: list[Registration] = []
    for path in sorted(root.glob("*/*.yaml")):
        linked = link_problem(data_dir, path)
        if not linked and not path.is_file():
            continue
        content = b"" if linked else path.read_bytes()
        found.append(
            Registration(
                county_code=display_name(path.parent.name),
                dataset_id=display_name(path.stem),
                path=path,
                content_hash=hashlib.sha256(content).hexdigest(),
                content=content,
                problem=f"登记文件{linked}" if linked else None,
            )
        )
    return found


def registry_fingerprint(data_dir: Path) -> dict[str, str]:
    """``<county>/<dataset_id>`` → SHA-256 of the file: what the registry sensor keeps as its cursor."""
    return {r.key: r.content_hash for r in scan_registry(data_dir)}


def fingerprint_hash(fingerprint: dict[str, str]) -> str:
    """One hash for a whole registry state (a run key)."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seed_registry(data_dir: Path, city: City, shipped_dir: Path = SHIPPED_CATALOG_DIR) -> int:
    """The demo: when the registry holds no entry, every county registers every shipped entry.

    Returns the number of files written (0 when the registry already had entries).
    """
    root = registry_dir(data_dir)
    if scan_registry(data_dir):
        return 0
    shipped = sorted(Path(shipped_dir).glob("*.yaml"))
    written = 0
    for county in city.counties:
        target = root / county.code
        target.mkdir(parents=True, exist_ok=True)
        for path in shipped:
            shutil.copyfile(path, target / path.name)
            written += 1
    readme = root / "README.md"
    if not readme.exists():
        readme.write_text(REGISTRY_README, encoding="utf-8")
    return written
