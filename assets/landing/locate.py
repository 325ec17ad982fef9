"""Finding the landing file of one (dataset, county, period) partition."""

from __future__ import annotations

from pathlib import Path

from assets.common.files import link_problem
from assets.landing.paths import LandingPath

SUFFIXES = (".csv", ".xlsx", ".xls")


class LandingFileMissing(FileNotFoundError):
    pass


def locate_landing_file(
    data_dir: Path, dataset_id: str, county_code: str, period: str
) -> LandingPath:
    """The one delivered file of a partition; two deliveries (.csv and .xlsx) for one period are refused."""
    folder = data_dir / "landing" / county_code / dataset_id
    found = [
        folder / f"{period}{suffix}"
        for suffix in SUFFIXES
        if (folder / f"{period}{suffix}").is_file()
    ]
    if not found:
        raise LandingFileMissing(
            f"没有交付文件: landing/{county_code}/{dataset_id}/{period}.csv|.xlsx|.xls"
        )
    if len(found) > 1:
        raise LandingFileMissing(
            f"同一期有两份交付文件，无法判断以哪份为准: {', '.join(p.name for p in found)}"
        )
    path = found[0]
    linked = link_problem(data_dir, path)
    if linked:  # checked again when read: the scan may be older than the link
        raise LandingFileMissing(f"landing/{county_code}/{dataset_id}/{path.name} {linked}")
    return LandingPath(
        county_code=county_code,
        dataset_id=dataset_id,
        period=period,
        path=path,
        relative_path=path.relative_to(data_dir).as_posix(),
    )
