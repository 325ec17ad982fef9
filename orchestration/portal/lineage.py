"""The bureau's lineage view of one dataset, read from the platform records, the zones and the Dagster
instance of the data directory (public Dagster APIs only).

The chain county deliveries → county aggregation → exchange platform → governance → operation platform,
the latest runs and check results, and the column lineage table: 信息项 → exchange column → governed
column → published column, with classification, grade and the desensitization applied, flagging the
published columns that desensitization left without any information (e.g. a date generalized to ``*``).
Only counts, codes and names are read here — never a data value.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.classification.records import read_register
from assets.common.catalog import CatalogEntry
from assets.governance.records import governed_path
from assets.operation.records import publications
from assets.storage.tables import (
    exchange_loads_table,
    exchange_table_name,
    governance_reconciliation,
    ingest_files,
    operation_table_name,
    quality_tickets,
)
from orchestration.portal import labels
from orchestration.settings import Settings

_instance_lock = threading.Lock()


@dataclass(frozen=True)
class Stage:
    key: str  # the Dagster asset key as a path (exchange/household_registration)
    name: str  # Chinese
    summary: str
    figures: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RunRow:
    run_id: str
    job: str
    job_label: str
    partition: str | None
    status: str
    status_label: str
    started: datetime | None
    ended: datetime | None


@dataclass(frozen=True)
class CheckRow:
    asset: str
    check: str
    check_label: str
    partition: str | None
    passed: bool
    severity: str
    run_id: str
    summary: str


@dataclass(frozen=True)
class ColumnRow:
    item: str  # 信息项名称
    column: str
    exchange: str | None
    governed: str | None
    published: str | None
    category: str | None
    grade: str | None
    level: str | None
    transformation: str | None
    generalization: str | None
    informative_rows: int | None  # published rows carrying information (not NULL, not only '*')
    published_rows: int | None

    @property
    def emptied(self) -> bool:
        """Published, yet no row holds any information: desensitization left the column empty."""
        return bool(self.published and self.published_rows and self.informative_rows == 0)


def _columns_of(engine: Engine, table: str) -> list[str]:
    inspector = sa.inspect(engine)
    if not inspector.has_table(table):
        return []
    return [c["name"] for c in inspector.get_columns(table)]


def _governed_columns(settings: Settings, dataset_id: str) -> list[str]:
    path = governed_path(settings.data_dir, dataset_id)
    if not path.exists():
        return []
    return list(pq.read_schema(path).names)


def _informative_counts(
    engine: Engine, table: str, columns: Iterable[str]
) -> tuple[int, dict[str, int]]:
    """Rows of the published table, and per column the rows with a value that is not only '*'."""
    columns = list(columns)
    if not columns:
        return 0, {}
    t = sa.table(table, *(sa.column(c) for c in columns))
    counts = [
        sa.func.sum(
            sa.case(
                (
                    sa.and_(
                        t.c[c].is_not(None),
                        sa.func.replace(sa.func.trim(sa.cast(t.c[c], sa.Text)), "*", "") != "",
                    ),
                    1,
                ),
                else_=0,
            )
        ).label(c)
        for c in columns
    ]
    with engine.connect() as connection:
        row = connection.execute(sa.select(sa.func.count().label("__rows"), *counts).select_from(t))
        values = row.mappings().one()
    return int(values["__rows"] or 0), {c: int(values[c] or 0) for c in columns}


def _operation_metadata(instance: dg.DagsterInstance | None, dataset_id: str) -> dict[str, Any]:
    """generalization_levels etc. from the latest operation materialization."""
    if instance is None:
        return {}
    result = instance.fetch_materializations(dg.AssetKey(["operation", dataset_id]), limit=1)
    if not result.records:
        return {}
    materialization = result.records[0].asset_materialization
    if materialization is None:
        return {}
    metadata: dict[str, Any] = {}
    for name, value in materialization.metadata.items():
        metadata[name] = getattr(value, "value", value)
    return metadata


def column_lineage(
    settings: Settings,
    entry: CatalogEntry,
    *,
    exchange: Engine,
    operation: Engine,
    platform: Engine,
    instance: dg.DagsterInstance | None,
) -> list[ColumnRow]:
    exchange_columns = set(_columns_of(exchange, exchange_table_name(entry.dataset_id)))
    governed_columns = set(_governed_columns(settings, entry.dataset_id))
    published_table = operation_table_name(entry.dataset_id)
    published_columns = set(_columns_of(operation, published_table))
    register = read_register(platform, entry.dataset_id)
    classified = {row["column_name"]: row for row in register.to_dict("records")}
    publication = publications(platform).get(entry.dataset_id) or {}
    transformations: dict[str, str] = dict(publication.get("transformations") or {})
    levels = _operation_metadata(instance, entry.dataset_id).get("generalization_levels") or {}
    published_items = [i.column for i in entry.items if i.column in published_columns]
    rows, informative = _informative_counts(operation, published_table, published_items)
    result: list[ColumnRow] = []
    for item in entry.items:
        column = item.column
        register_row = classified.get(column, {})
        published = column if column in published_columns else None
        result.append(
            ColumnRow(
                item=item.name,
                column=column,
                exchange=column if column in exchange_columns else None,
                governed=column if column in governed_columns else None,
                published=published,
                category=register_row.get("category"),
                grade=register_row.get("grade"),
                level=register_row.get("level"),
                transformation=transformations.get(column),
                generalization=levels.get(column) if isinstance(levels, dict) else None,
                informative_rows=informative.get(column) if published else None,
                published_rows=rows if published else None,
            )
        )
    return result


def _group_counts(engine: Engine, query: sa.Select) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def chain(
    settings: Settings,
    entry: CatalogEntry,
    *,
    county_names: dict[str, str],
    exchange: Engine,
    platform: Engine,
) -> list[Stage]:
    """The five stages of the dataset's flow with their current figures (counts only)."""
    dataset_id = entry.dataset_id
    landing = settings.landing_dir
    deliveries: list[tuple[str, str]] = []
    for code, name in county_names.items():
        folder = landing / code / dataset_id
        files = sorted(p.stem for p in folder.glob("*") if p.is_file() and p.name[0] not in ".~")
        deliveries.append(
            (name, f"{len(files)} 个文件，最新一期 {files[-1]}" if files else "无交付")
        )

    f = ingest_files
    ingests = _group_counts(
        platform,
        sa.select(
            f.c.county_code,
            f.c.status,
            sa.func.count().label("files"),
            sa.func.sum(f.c.rows_loaded).label("loaded"),
            sa.func.sum(f.c.rows_rejected).label("rejected"),
        )
        .where(f.c.dataset_id == dataset_id)
        .group_by(f.c.county_code, f.c.status),
    )
    per_county: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in ingests:
        figures = per_county[row["county_code"]]
        figures[row["status"]] += int(row["files"])
        figures["loaded_rows"] += int(row["loaded"] or 0)
        figures["rejected_rows"] += int(row["rejected"] or 0)
    aggregation = [
        (
            county_names.get(code, code),
            f"入库文件 {v['loaded']}，整文件拒收 {v['rejected']}，"
            f"入库 {v['loaded_rows']} 行，拒收 {v['rejected_rows']} 行",
        )
        for code, v in sorted(per_county.items())
    ]

    t = exchange_loads_table(dataset_id)  # its loads, not its rows (storage.exchange_layout)
    exchange_figures: list[tuple[str, str]] = []
    if sa.inspect(exchange).has_table(t.name):
        for row in _group_counts(
            exchange,
            sa.select(
                t.c.county_code,
                sa.func.sum(t.c.rows).label("rows"),
                sa.func.max(t.c.period).label("latest"),
            ).group_by(t.c.county_code),
        ):
            name = county_names.get(row["county_code"], row["county_code"])
            exchange_figures.append((name, f"{row['rows']} 行，最新一期 {row['latest']}"))

    g = governance_reconciliation
    governed = _group_counts(
        platform,
        sa.select(
            sa.func.sum(g.c.rows_in).label("rows_in"),
            sa.func.sum(g.c.governed).label("governed"),
            sa.func.sum(g.c.quarantined).label("quarantined"),
            sa.func.sum(g.c.duplicates).label("duplicates"),
        ).where(g.c.dataset_id == dataset_id),
    )[0]
    governance_figures = (
        [
            ("进入治理", str(governed["rows_in"])),
            ("治理后", str(governed["governed"])),
            ("隔离", str(governed["quarantined"])),
            ("重复", str(governed["duplicates"])),
        ]
        if governed["rows_in"] is not None
        else []
    )

    publication = publications(platform).get(dataset_id)
    if entry.is_prohibited:
        operation_figures = [("状态", labels.PUBLICATION_STATUS["prohibited"])]
    elif publication:
        operation_figures = [
            ("状态", labels.PUBLICATION_STATUS.get(publication["status"], publication["status"])),
            ("发布行数", str(publication["rows"])),
            ("k（阈值）", f"{publication['k'] or '—'}（{publication['k_threshold']}）"),
            ("为满足 k 抑制", str(publication["suppressed"])),
            ("更新时间", _china(publication["updated_at"])),
        ]
    else:
        operation_figures = [("状态", "尚未发布")]

    return [
        Stage(
            f"aggregation/{dataset_id}",
            "县（区）数源部门交付",
            f"landing/<县区代码>/{dataset_id}/<期次>.csv|.xlsx",
            deliveries,
        ),
        Stage(f"aggregation/{dataset_id}", "县（区）汇聚入库", "读取、解码、表头映射", aggregation),
        Stage(
            f"exchange/{dataset_id}",
            "市政务数据共享交换平台",
            f"表 {exchange_table_name(dataset_id)}（按县区 × 期次分区）",
            exchange_figures,
        ),
        Stage(
            f"governance/{dataset_id}",
            "数据治理与分类分级",
            "标准化、类型、规则、去重、隔离；GB/T 43697 分类分级",
            governance_figures,
        ),
        Stage(
            f"operation/{dataset_id}",
            "公共数据运营平台（可用不可见）",
            f"表 {operation_table_name(dataset_id)}（脱敏后）",
            operation_figures,
        ),
    ]


def _china(moment: datetime | None) -> str:
    from orchestration.portal.context import china_time

    return china_time(moment)


def open_ticket_counts(platform: Engine) -> dict[str, int]:
    t = quality_tickets
    rows = _group_counts(
        platform,
        sa.select(t.c.dataset_id, sa.func.count().label("n"))
        .where(t.c.status != "closed")
        .group_by(t.c.dataset_id),
    )
    return {row["dataset_id"]: int(row["n"]) for row in rows}


# --- the Dagster instance ------------------------------------------------------------------------


def open_instance(settings: Settings) -> dg.DagsterInstance | None:
    """The data directory's Dagster instance, or None when no run has created it yet."""
    if not (settings.dagster_home / "dagster.yaml").exists():
        return None
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def _timestamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def latest_runs(
    instance: dg.DagsterInstance | None, dataset_id: str, limit: int = 12
) -> list[RunRow]:
    """The dataset's latest ingest runs and the latest runs of the jobs that cover every dataset."""
    if instance is None:
        return []
    with _instance_lock:
        records = list(
            instance.get_run_records(
                filters=dg.RunsFilter(tags={"dataset": dataset_id}), limit=limit
            )
        )
        records += list(
            instance.get_run_records(filters=dg.RunsFilter(job_name="govern_and_publish"), limit=3)
        )
    rows = []
    for record in records:
        run = record.dagster_run
        status = run.status.value
        rows.append(
            RunRow(
                run_id=run.run_id,
                job=run.job_name,
                job_label=labels.job(run.job_name),
                partition=run.tags.get("dagster/partition"),
                status=status,
                status_label=labels.RUN_STATUS.get(status, status),
                started=_timestamp(record.start_time),
                ended=_timestamp(record.end_time),
            )
        )
    rows.sort(key=lambda r: r.started or datetime.min.replace(tzinfo=UTC), reverse=True)
    return rows


def _check_summary(metadata: dict[str, Any]) -> str:
    parts = []
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, bool | int | float) or (isinstance(raw, str) and len(raw) <= 40):
            parts.append(f"{key}={raw}")
        if len(parts) >= 4:
            break
    return "，".join(parts)


def latest_checks(
    instance: dg.DagsterInstance | None, dataset_id: str, runs: Iterable[RunRow]
) -> list[CheckRow]:
    """The check results the given runs recorded for the dataset's assets."""
    if instance is None:
        return []
    found: list[CheckRow] = []
    with _instance_lock:
        for run in runs:
            for record in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ):
                event = record.dagster_event
                if event is None:
                    continue
                evaluation = event.event_specific_data
                key = evaluation.asset_key  # type: ignore[union-attr]
                if key.path[-1] != dataset_id:
                    continue
                name = evaluation.check_name  # type: ignore[union-attr]
                found.append(
                    CheckRow(
                        asset="/".join(key.path),
                        check=name,
                        check_label=labels.CHECKS.get(name, name),
                        partition=getattr(evaluation, "partition", None) or run.partition,
                        passed=bool(evaluation.passed),  # type: ignore[union-attr]
                        severity=str(getattr(evaluation.severity, "value", evaluation.severity)),  # type: ignore[union-attr]
                        run_id=run.run_id,
                        summary=_check_summary(dict(evaluation.metadata)),  # type: ignore[union-attr]
                    )
                )
    return found


def materialization_metadata(instance: dg.DagsterInstance | None, dataset_id: str) -> dict:
    with _instance_lock:
        return _operation_metadata(instance, dataset_id)


def now() -> datetime:
    return datetime.now(UTC)
