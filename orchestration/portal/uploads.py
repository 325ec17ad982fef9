"""A corrected delivery uploaded through the portal, written into the landing zone under the delivery
contract ``<data dir>/landing/<county>/<dataset>/<period>.<ext>`` — the same place and name a
department's own transfer would use, so the landing sensor picks it up like any delivery.

The name is built here from the office's county, a dataset of its department and a period valid for
the dataset's 更新频率; the uploaded file's own name only contributes its extension. The bytes go to a
hidden temporary file beside the target (skipped by the landing scan), are size-checked while they are
copied, and are then renamed into place in one step. A delivery of the same period in the other format
is set aside under a hidden name, so that the partition never has two files.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from assets.common.catalog import CatalogEntry
from assets.landing.paths import SUFFIX_FORMATS, LandingPathError, parse_landing_path

CHUNK = 1024 * 1024


class UploadRejected(ValueError):
    """An upload that is not a delivery under the contract (message in Chinese)."""


@dataclass(frozen=True)
class StoredDelivery:
    relative_path: str
    size: int
    sha256: str
    replaced: tuple[str, ...]


def landing_target(
    data_dir: Path,
    entry: CatalogEntry,
    county_code: str,
    county_codes: list[str],
    period: str,
    filename: str,
) -> Path:
    """The contract path for this delivery, validated by the landing zone's own path parser."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        accepted = "、".join(sorted(SUFFIX_FORMATS))
        raise UploadRejected(f"只接收 {accepted} 文件（上传的是“{suffix or '无扩展名'}”）")
    period = period.strip()
    if not period or "/" in period or "\\" in period or period.startswith("."):
        raise UploadRejected("请填写期次，例如 2026-10")
    target = data_dir / "landing" / county_code / entry.dataset_id / f"{period}{suffix}"
    try:
        parse_landing_path(data_dir, target, {entry.dataset_id: entry}, county_codes)
    except LandingPathError as exc:
        raise UploadRejected(exc.reason) from exc
    landing = (data_dir / "landing").resolve()
    if not target.parent.resolve(strict=False).is_relative_to(landing):
        raise UploadRejected("交付目录不在落地区内")
    return target


def store_delivery(
    source: BinaryIO, target: Path, data_dir: Path, *, max_bytes: int
) -> StoredDelivery:
    """Copy ``source`` to ``target`` atomically (at most ``max_bytes``); returns what was stored."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.parent.is_symlink() or (target.exists() and target.is_symlink()):
        raise UploadRejected("交付目录或文件是符号链接，拒绝写入")
    temporary = target.with_name(f".upload-{secrets.token_hex(8)}.tmp")
    digest = hashlib.sha256()
    size = 0
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(
                        f"文件超过上传上限 {max_bytes // (1024 * 1024)} MB，请联系数据局分批报送"
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise UploadRejected("文件是空的")
        replaced: list[str] = []
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for suffix in SUFFIX_FORMATS:
            other = target.with_suffix(suffix)
            if other != target and other.exists():
                other.rename(other.with_name(f".replaced-{stamp}-{other.name}"))
                replaced.append(other.relative_to(data_dir).as_posix())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return StoredDelivery(
        relative_path=target.relative_to(data_dir).as_posix(),
        size=size,
        sha256=digest.hexdigest(),
        replaced=tuple(replaced),
    )
