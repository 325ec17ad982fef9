"""Landing paths (落地文件的路径约定): where a county's delivery lands, and finding it.

The landing contract: ``<data dir>/landing/<county_code>/<dataset_id>/<period>.csv|.xlsx|.xls``, the period
shaped by the dataset's update frequency (``Frequency.period_pattern``). Hidden files, office lock files
and files still being written are not landing files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from assets.common.catalog import CatalogEntry, Frequency
from assets.common.files import display_name, link_problem

LANDING_DIR = "landing"
SUFFIX_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".xls": "xls"}

_PERIOD_EXAMPLES = {
    Frequency.DAILY: "YYYY-MM-DD，如 2025-01-31",
    Frequency.MONTHLY: "YYYY-MM，如 2025-01",
    Frequency.QUARTERLY: "YYYY-Qn，如 2025-Q1",
    Frequency.YEARLY: "YYYY，如 2025",
}


class LandingPathError(ValueError):
    """A file in landing/ that breaks the path contract; ``reason`` says why, in Chinese."""

    def __init__(self, relative_path: str, reason: str) -> None:
        super().__init__(f"{relative_path}: {reason}")
        self.relative_path = relative_path
        self.reason = reason


@dataclass(frozen=True)
class LandingPath:
    """A landing file that satisfies the path contract. ``relative_path`` is relative to the data dir."""

    county_code: str
    dataset_id: str
    period: str
    path: Path
    relative_path: str

    @property
    def file_format(self) -> str:
        return SUFFIX_FORMATS[self.path.suffix.lower()]


def is_ignored_name(name: str) -> bool:
    """Hidden files, office lock files (``~$x.xlsx``) and files still being written (``*.tmp``)."""
    lowered = name.lower()
    return name.startswith((".", "~")) or lowered.endswith((".tmp", ".part", ".partial"))


def _period_problem(period: str, entry: CatalogEntry, today: dt.date | None) -> str | None:
    """Why ``period`` is not a period of the entry's frequency up to the current one, or None.
    Digits are ASCII only (full-width ２０２６ or Arabic-Indic digits are not a period)."""
    frequency = entry.frequency
    expected = (
        f"期次“{period}”不符合数据集“{entry.title}”（更新频率{frequency.value}）的期次格式 "
        f"{_PERIOD_EXAMPLES[frequency]}（半角数字）"
    )
    if not period.isascii() or not re.fullmatch(frequency.period_pattern, period, re.ASCII):
        return expected
    try:
        if frequency is Frequency.DAILY:
            dt.date.fromisoformat(period)
        elif frequency is Frequency.MONTHLY:
            dt.date(int(period[:4]), int(period[5:7]), 1)
    except ValueError:
        return f"期次“{period}”不是有效的日期或月份"
    if today is not None and period > frequency.period_of(today):
        return (
            f"期次“{period}”晚于当前期 {frequency.period_of(today)}（今天 {today.isoformat()}，"
            "中国时间）：尚未到来的期次不能报送，请检查文件名"
        )
    return None


def parse_landing_path(
    data_dir: Path,
    path: Path,
    catalog: Mapping[str, CatalogEntry],
    county_codes: Collection[str],
    today: dt.date | None = None,
) -> LandingPath:
    """The landing file at ``path``, or :class:`LandingPathError` saying which part of the contract it
    breaks (location, county, dataset, period for the dataset's frequency and not after the period
    containing ``today``, file type, a link leading outside the data directory)."""
    try:
        relative = Path(path).absolute().relative_to(Path(data_dir).absolute())
    except ValueError:
        raise LandingPathError(str(path), "文件不在数据目录下") from None
    relative_path = display_name(relative.as_posix())
    parts = relative.parts
    if not parts or parts[0] != LANDING_DIR:
        raise LandingPathError(relative_path, f"文件不在落地目录 {LANDING_DIR}/ 下")
    if any(is_ignored_name(part) for part in parts[1:]):
        raise LandingPathError(relative_path, "隐藏文件或临时文件，不作为落地文件读取")
    if len(parts) != 4:
        raise LandingPathError(
            relative_path,
            f"路径层级不符：应为 {LANDING_DIR}/<县（区）代码>/<数据集标识>/<期次>.csv、.xlsx 或 .xls",
        )
    _, county_code, dataset_id, filename = parts
    if county_code not in county_codes:
        known = "、".join(sorted(county_codes))
        raise LandingPathError(
            relative_path, f"未知的县（区）代码“{county_code}”，应为 {known} 之一"
        )
    entry = catalog.get(dataset_id)
    if entry is None:
        raise LandingPathError(relative_path, f"资源目录中没有数据集“{dataset_id}”")
    suffix = Path(filename).suffix
    if suffix.lower() not in SUFFIX_FORMATS:
        shown = suffix or "（无扩展名）"
        raise LandingPathError(
            relative_path, f"不支持的文件类型“{shown}”：只接收 .csv、.xlsx 或 .xls 文件"
        )
    period = filename[: -len(suffix)]
    problem = _period_problem(period, entry, today) or link_problem(data_dir, Path(path))
    if problem:
        raise LandingPathError(relative_path, problem)
    return LandingPath(
        county_code=county_code,
        dataset_id=dataset_id,
        period=period,
        path=Path(path),
        relative_path=relative_path,
    )


def scan_landing(
    data_dir: Path,
    catalog: Mapping[str, CatalogEntry],
    county_codes: Collection[str],
    today: dt.date | None = None,
) -> tuple[list[LandingPath], list[tuple[str, str]]]:
    """Valid landing files (sorted by county, dataset, period) and ``(relative path, reason)`` for each
    file in landing/ that breaks the contract. Hidden and temporary files are skipped. Two files for the
    same county, dataset and period (a .csv and an .xlsx, say) are both reported and neither is returned.
    Links are followed only to files inside the data directory; a link leading outside it, a
    dangling link and a link to a directory are reported. Names that are not valid UTF-8 are
    reported with their bytes escaped (``\\xNN``); ``today`` bounds the periods (none after it)."""
    landing_dir = Path(data_dir) / LANDING_DIR
    if not landing_dir.is_dir():
        return [], []
    found: list[LandingPath] = []
    problems: list[tuple[str, str]] = []
    for path in sorted(landing_dir.rglob("*")):
        inner = path.relative_to(landing_dir).parts
        if any(is_ignored_name(part) for part in inner):
            continue
        linked = link_problem(data_dir, path)
        if linked:
            problems.append((display_name(path.relative_to(data_dir).as_posix()), linked))
            continue
        if not path.is_file():
            continue
        try:
            found.append(parse_landing_path(data_dir, path, catalog, county_codes, today))
        except LandingPathError as exc:
            problems.append((exc.relative_path, exc.reason))

    by_key: dict[tuple[str, str, str], list[LandingPath]] = {}
    for landing in found:
        by_key.setdefault((landing.county_code, landing.dataset_id, landing.period), []).append(
            landing
        )
    valid: list[LandingPath] = []
    for key in sorted(by_key):
        group = by_key[key]
        if len(group) == 1:
            valid.append(group[0])
            continue
        names = "、".join(sorted(Path(g.relative_path).name for g in group))
        for landing in group:
            problems.append(
                (
                    landing.relative_path,
                    f"同一期有多个文件（{names}），无法确定以哪个为准：请只保留一个",
                )
            )
    problems.sort()
    return valid, problems


# hashlib and file reads release the GIL for each chunk: in chunks this large a thread hashing
# (``publicdata run``'s plan) takes the GIL back a few times per file, not at every 256 KiB, so it
# runs beside a busy main thread instead of queueing behind it
CHECKSUM_CHUNK = 16 * 1024 * 1024


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHECKSUM_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
