"""`make bench`: the pipeline end to end against the read-and-write floor, then each stage's throughput.

A benchmark, not a test: it prints figures and asserts nothing about speed. The end-to-end section
(bench/e2e.py) runs ``publicdata run`` as a subprocess on the generated landing zone; the per-stage
section times the stages' domain functions (no Dagster run overhead), each over the whole zone.

    python -m bench.run [--rows 1000000] [--e2e-only] [--no-rerun] [--json FILE]
                        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from assets.aggregation.ingest import ingest_landing_file, read_stage, read_stage_table
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from assets.common.city import load_city
from assets.exchange.load import load_exchange_slice
from assets.landing.generator import generate
from assets.landing.paths import scan_landing
from assets.storage.engine import dispose_engines, get_engine
from bench import e2e

RESULTS: list[dict] = []
AS_OF = date(2026, 11, 20)  # the data is generated as of this day (the pipeline's PUBLICDATA_TODAY)

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
    start, cpu_start = time.perf_counter(), time.process_time()
    value = fn()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start  # steadier than wall time on a shared machine
    result = {
        "stage": stage,
        "rows": rows,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_s": round(rows / seconds),
    }
    result.update(extra)
    RESULTS.append(result)
    print(
        f"{stage:28s} {rows:>10,d} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s"
        f"  (CPU {cpu:.2f} s)",
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
    parser.add_argument(
        "--e2e-only", action="store_true", help="only the end-to-end section (no per-stage figures)"
    )
    parser.add_argument(
        "--no-rerun", action="store_true", help="end-to-end: no unchanged / changed-county rerun"
    )
    args = parser.parse_args()

    city = load_city()
    catalog = load_catalog(SHIPPED_CATALOG_DIR)
    figures: dict[str, object] = {"rows": args.rows, "cpus": os.cpu_count()}
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
                as_of=AS_OF,
            ),
        )
        print("-- end to end --", flush=True)
        figures["e2e"] = e2e.run(
            data_dir, catalog, city, today=AS_OF.isoformat(), rerun=not args.no_rerun
        )
        if not args.e2e_only:
            print("-- per stage --", flush=True)
            _stages(args, data_dir, city, catalog, manifest)
    figures["stages"] = RESULTS
    _print_summary(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))


def _print_summary(figures: dict) -> None:
    e = figures["e2e"]
    lines = [
        f"rows {figures['rows']:,d} on {figures['cpus']} CPUs",
        f"floor {e['floor_seconds']:.1f} s · pipeline {e['pipeline']['seconds']:.1f} s"
        f" · pipeline ÷ floor {e['pipeline_over_floor']:.2f}× wall,"
        f" {e['pipeline_over_floor_cpu']:.2f}× CPU (the machine may be shared: CPU is steadier)",
    ]
    ge = next((r for r in RESULTS if r["stage"] == "quality rules (plain pandas)"), None)
    if ge:
        lines.append(f"GE ÷ plain pandas {ge['suite_seconds'] / ge['seconds']:.1f}×")
    if "unchanged_share" in e:
        lines.append(
            f"unchanged rerun {e['unchanged_share']:.1%} · one changed county {e['changed_share']:.1%}"
            " of the full run"
        )
    lines.append(f"peak RSS of the pipeline {e['peak_rss_mib']:,d} MiB")
    print("== summary ==\n" + "\n".join(lines), flush=True)


def _stages(args, data_dir: Path, city, catalog, manifest) -> None:
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
    # the exchange asset loads the staged slice as Arrow, as read here
    tables = [(o, read_stage_table(o.staged_path)) for o, _ in staged]

    def load_all(url: str) -> None:
        engine = get_engine(url)
        for outcome, table in tables:
            load_exchange_slice(
                engine,
                catalog[outcome.dataset_id],
                table,
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
        timed("exchange load (PostgreSQL COPY)", loaded_rows, lambda: load_all(urls["postgresql"]))
    try:
        ctx = BenchContext(data_dir, city, catalog, manifest, staged, urls, timed)
        for module in STAGE_MODULES:
            importlib.import_module(module).run(ctx)
    finally:
        if drop:
            drop()


if __name__ == "__main__":
    main()
