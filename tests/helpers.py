"""Small builders shared by the pipeline tests (real files, real settings; nothing mocked)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from assets.common.catalog import CatalogEntry
from orchestration.settings import Settings


def settings_for(data_dir: Path, db_url: str | None = None, **overrides) -> Settings:
    """Settings on a temporary data directory; with ``db_url`` every zone lives in that database."""
    if db_url:
        overrides = {
            "exchange_url": db_url,
            "operation_url": db_url,
            "platform_url": db_url,
            **overrides,
        }
    return Settings.load(data_dir, **overrides)


def write_delivery(
    data_dir: Path,
    entry: CatalogEntry,
    county: str,
    period: str,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    suffix: str = ".csv",
) -> Path:
    """A delivery file with the catalog's Chinese header, as a department would send it."""
    path = data_dir / "landing" / county / entry.dataset_id / f"{period}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=entry.columns)
    frame = frame.rename(columns={item.column: item.name for item in entry.items})
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding=encoding)
    return path


def medical_rows(n: int, *, prefix: str = "医院") -> list[dict[str, str]]:
    return [
        {
            "institution_name": f"{prefix}{i}",
            "uscc": f"12640500MB{i:07d}X"[:18],
            "grade": "一级",
            "category": "诊所",
            "address": f"中卫市沙坡头区滨河镇{i}号",
            "longitude": "105.19",
            "latitude": "37.51",
            "beds": str(i),
            "phone": "0955-7012345",
        }
        for i in range(n)
    ]


def slice_frame(
    entry: CatalogEntry, county: str, period: str, n: int, *, marker: str = "a"
) -> pd.DataFrame:
    """An exchange-table slice of ``n`` rows whose every item value starts with ``marker``."""
    frame = pd.DataFrame(
        {
            "county_code": county,
            "period": period,
            "source_department": entry.provider,
            "source_file": f"landing/{county}/{entry.dataset_id}/{period}.csv",
            "file_checksum": marker.ljust(64, "0"),
            "batch_id": "b" * 36,
            "ingested_at": pd.Timestamp(datetime(2026, 1, 1, tzinfo=UTC)),
            "source_row": range(2, n + 2),
        }
    )
    for item in entry.items:
        frame[item.column] = [f"{marker}{i}" for i in range(n)]
    return frame


def add_account(platform_url: str, name: str, role: str, **scope: str | None):
    """An account in the platform records (migrated first), created by the test as the platform."""
    from assets.accounts.store import create_account
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    ensure_platform_schema(platform_url)
    return create_account(
        get_engine(platform_url),
        name=name,
        display_name=scope.pop("display_name", None) or name,
        role=role,
        by="system:test",
        by_role=None,
        **scope,
    )


def staged_deliveries(
    data_dir: Path, *, rows: int, seed: int, defect_rate: float, catalog, city, as_of
) -> list[tuple[object, pd.DataFrame]]:
    """Generated deliveries (defects injected) ingested and staged: per loaded landing file, the file
    and its staged rows as the exchange hands them over."""
    import uuid

    from assets.aggregation.ingest import ingest_landing_file, read_stage
    from assets.landing.generator import generate
    from assets.landing.paths import scan_landing

    generate(
        data_dir,
        rows=rows,
        seed=seed,
        city=city,
        catalog=catalog,
        as_of=as_of,
        defect_rate=defect_rate,
    )
    files, _ = scan_landing(data_dir, catalog, city.county_codes)
    now = datetime.now(UTC)
    out = []
    for landing in files:
        entry = catalog[landing.dataset_id]
        outcome = ingest_landing_file(
            landing,
            entry,
            department_id=entry.provider,
            staging_dir=data_dir / "aggregation",
            batch_id=str(uuid.uuid4()),
            ingested_at=now,
        )
        if outcome.loaded:
            out.append((landing, read_stage(outcome.staged_path)))
    return out
