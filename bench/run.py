"""`make bench`: throughput of each stage on generated data (rows per second), embedded and PostgreSQL.

A benchmark, not a test: it prints figures and asserts nothing about speed. Stages are timed on their
domain functions (no Dagster run overhead), each over the whole generated landing zone.

    python -m bench.run [--rows 1000000] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import importlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from assets.aggregation.ingest import ingest_landing_file, read_stage
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.exchange.load import load_exchange_slice
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.storage.engine import dispose_engines, get_engine

RESULTS: list[dict] = []

# Later stages add a module with `run(ctx: BenchContext) -> None` that calls ctx.timed(...).
STAGE_MODULES: tuple[str, ...] = ("bench.operation", "bench.quality")


@dataclass
class BenchContext:
    data_dir: Path
    city: object
    catalog: dict
    manifest: object
    staged: list  # (IngestOutcome, exchange-ready frame) per loaded landing file
    exchange_urls: dict[str, str]  # backend name → URL holding the loaded exchange tables
    timed: Callable[..., object]


def timed(stage: str, rows: int, fn: Callable[[], object], **extra) -> object:
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    result = {
        "stage": stage,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
    }
    result.update(extra)
    RESULTS.append(result)
    print(
        f"{stage:28s} {rows:>10,d} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s",
        flush=True,
    )
    return value


def _pg_database(server_url: str) -> tuple[str, Callable[[], None]] | None:
    try:
        server = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        name = f"publicdata_bench_{uuid.uuid4().hex[:8]}"
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"(PostgreSQL skipped: {exc.__class__.__name__}: {exc})")
        return None

    def drop() -> None:
        dispose_engines()
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return sa.engine.make_url(server_url).set(database=name).render_as_string(
        hide_password=False
    ), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    city = load_city()
    catalog = load_catalog(SHIPPED_CATALOG_DIR)
    with tempfile.TemporaryDirectory(prefix="publicdata-bench-") as tmp:
        data_dir = Path(tmp)
        manifest = timed(
            "generate",
            args.rows,
            lambda: generate(
                data_dir,
                rows=args.rows,
                seed=args.seed,
                city=city,
                catalog=catalog,
                as_of=date(2026, 11, 20),
            ),
        )
        files, _ = scan_landing(data_dir, catalog, city.county_codes)
        total = sum(f.rows for f in manifest.files)

        def ingest_all():
            now = datetime.now(UTC)
            return [
                ingest_landing_file(
                    f,
                    catalog[f.dataset_id],
                    department_id=catalog[f.dataset_id].provider,
                    staging_dir=data_dir / "aggregation",
                    batch_id=str(uuid.uuid4()),
                    ingested_at=now,
                )
                for f in files
            ]

        outcomes = timed("ingest (read+map+stage)", total, ingest_all)
        staged = [(o, read_stage(o.staged_path)) for o in outcomes if o.loaded]
        loaded_rows = sum(len(frame) for _, frame in staged)

        def load_all(url: str) -> None:
            engine = get_engine(url)
            for outcome, frame in staged:
                load_exchange_slice(
                    engine,
                    catalog[outcome.dataset_id],
                    frame,
                    county_code=outcome.landing.county_code,
                    period=outcome.landing.period,
                )

        sqlite_url = f"sqlite:///{data_dir / 'exchange.sqlite'}"
        timed("exchange load (SQLite)", loaded_rows, lambda: load_all(sqlite_url))
        urls = {"sqlite": sqlite_url}
        pg = _pg_database(args.pg_url)
        drop = None
        if pg:
            urls["postgresql"], drop = pg
            timed(
                "exchange load (PostgreSQL COPY)", loaded_rows, lambda: load_all(urls["postgresql"])
            )
        try:
            ctx = BenchContext(data_dir, city, catalog, manifest, staged, urls, timed)
            for module in STAGE_MODULES:
                importlib.import_module(module).run(ctx)
        finally:
            if drop:
                drop()

    if args.json:
        args.json.write_text(json.dumps(RESULTS, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
