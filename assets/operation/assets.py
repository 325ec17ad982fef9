"""Operation platform assets (公共数据运营平台, 第四条/第二十八条 可用不可见): per dataset that may be opened,
the governed data of all counties, desensitized by the grade policy with the secret pseudonymization
key, leak-scanned and written by the zone writer; the checks report what the writer measured over the
whole new table (``checks``)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.audit import log as audit
from assets.classification.keys import classification_key
from assets.classification.records import read_register, register_levels
from assets.common import progress
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.desensitization.policy import load_policy
from assets.exchange.metadata import column_schema
from assets.governance.keys import governance_key
from assets.governance.records import governed_path, governed_rows
from assets.operation.checks import (
    LEAK_CHECK,
    operation_check_specs,
    published_check_results,
    zone_check_results,
)
from assets.operation.keyfile import resolve_pseudonym_key
from assets.operation.keys import operation_key
from assets.operation.records import record_publication
from assets.operation.streamed import publish_governed
from assets.operation.suspension import active_suspensions
from assets.storage.engine import safe_url
from assets.storage.platform import PlatformResource
from assets.storage.tables import operation_table_name

OPERATOR = "team:operating_institution"

TRANSFORMATION_LABELS = {
    "masked": "掩码",
    "pseudonymized": "假名化（HMAC-SM3）",
    "generalized": "泛化",
    "kept": "保留",
    "suppressed": "置空",
}


def _schema(
    entry: CatalogEntry, columns: list[str], transformations: dict[str, str], register: pd.DataFrame
) -> dg.TableSchema:
    tags: dict[str, dict[str, str]] = {}
    by_column = register.set_index("column_name") if len(register) else None
    for column, transformation in transformations.items():
        column_tags = {"脱敏方式": TRANSFORMATION_LABELS.get(transformation, transformation)}
        if by_column is not None and column in by_column.index:
            row = by_column.loc[column]
            column_tags |= {"分类": row["category"], "分级": row["grade"], "敏感级别": row["level"]}
        tags[column] = column_tags
    full = column_schema(entry, extra_tags=tags)
    return dg.TableSchema(columns=[c for c in full.columns if c.name in set(columns)])


def _lineage(dataset_id: str, columns: list[str]) -> dg.TableColumnLineage:
    upstream = governance_key(dataset_id)
    return dg.TableColumnLineage(
        deps_by_column={c: [dg.TableColumnDep(asset_key=upstream, column_name=c)] for c in columns}
    )


LINEAGE_COLUMNS = ("信息项", "交换表列", "治理后列", "发布列", "分类", "分级", "脱敏方式")


def lineage_table(
    entry: CatalogEntry, columns: list[str], transformations: dict[str, str], register: pd.DataFrame
) -> dg.MetadataValue:
    """Column lineage as a bureau official reads it: 信息项 → exchange column → governed column →
    published column, with its classification, grade and the transformation applied."""
    by_column = register.set_index("column_name") if len(register) else None
    published = set(columns)
    records = []
    for item in entry.items:
        row = (
            by_column.loc[item.column]
            if by_column is not None and item.column in by_column.index
            else None
        )
        transformation = transformations.get(item.column)
        records.append(
            dg.TableRecord(
                {
                    "信息项": item.name,
                    "交换表列": f"exchange_{entry.dataset_id}.{item.column}",
                    "治理后列": f"governance/{entry.dataset_id}.{item.column}",
                    "发布列": (
                        f"operation_{entry.dataset_id}.{item.column}"
                        if item.column in published
                        else "（不发布）"
                    ),
                    "分类": str(row["category"]) if row is not None else "",
                    "分级": str(row["grade"]) if row is not None else "",
                    "脱敏方式": TRANSFORMATION_LABELS.get(
                        transformation or "", transformation or ""
                    ),
                }
            )
        )
    schema = dg.TableSchema(columns=[dg.TableColumn(name, "string") for name in LINEAGE_COLUMNS])
    return dg.MetadataValue.table(records=records, schema=schema)


def _preview(frame: pd.DataFrame, entry: CatalogEntry) -> dg.MetadataValue:
    head = frame.head(5).astype(object)
    head = head.where(head.notna(), "")
    names = {i.column: i.name for i in entry.items}
    return dg.MetadataValue.md(head.rename(columns=names).to_markdown(index=False))


def operation_asset(entry: CatalogEntry, city: City) -> dg.AssetsDefinition:
    dataset_id = entry.dataset_id
    table_name = operation_table_name(dataset_id)

    key = operation_key(dataset_id)

    @dg.multi_asset(
        name=key.to_python_identifier(),
        specs=[
            dg.AssetSpec(
                key,
                deps=[governance_key(dataset_id), classification_key(dataset_id)],
                group_name="operation",
                kinds={"sql", "table"},
                owners=[OPERATOR, city.dataset_owner(entry.provider, entry.title)],
                skippable=True,  # not while supply is suspended
                description=(
                    f"{entry.title}（公共数据运营平台）：全部县区治理后的数据，按分级脱敏策略处理（掩码；"
                    "身份号码以 HMAC-SM3 密钥假名化作关联键；出生日期、地址、金额泛化；k-匿名不足的等价类"
                    "压制），泄露扫描（阻断：任何明文身份号码、手机号、银行卡号都停止发布）后由运营区写入器"
                    f"整体替换表 {table_name}（读者只见旧版或新版）。暂停供给期间不更新；每次发布写审计日志。"
                ),
                tags={"stage": "operation"},
                metadata={"dagster/table_name": table_name},
            )
        ],
        check_specs=operation_check_specs(entry),
        # the checks alone measure the table as it stands in the zone (no publish)
        can_subset=True,
    )
    def _operation(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        asked = {
            check.name for check in context.selected_asset_check_keys if check.asset_key == key
        }
        if key not in context.selected_asset_keys:
            yield from zone_check_results(
                entry, platform.operation_engine(), platform.platform_engine(), asked
            )
            return
        platform_engine = platform.platform_engine()
        target = audit.operation_target(dataset_id)
        held = active_suspensions(platform_engine, dataset_id)
        if held:
            scopes = "、".join(s.county_code or "全部县区" for s in held)
            with platform_engine.begin() as connection:
                audit.record(
                    connection,
                    actor=audit.SYSTEM_ACTOR,
                    action=audit.PUBLISH_WITHHELD,
                    target=target,
                    reason=f"暂停供给中（{scopes}）: " + "；".join(s.reason for s in held),
                    rows=0,
                    detail={"run_id": context.run_id, "suspensions": [s.id for s in held]},
                )
            context.log.warning(f"{dataset_id} 暂停供给中（{scopes}），运营平台表不更新")
            return

        path = governed_path(platform.data_path, dataset_id)
        progress.report(
            context.log.info,
            "operation",
            dataset_id,
            entry.title,
            rows=governed_rows(path),
            finished=False,
        )
        register = read_register(platform_engine, dataset_id)
        levels, detected = register_levels(register) if len(register) else (None, None)
        policy = load_policy()
        # desensitized and published a row group at a time (k-anonymity decided over the whole
        # dataset's quasi-identifiers first)
        outcome, report, published = publish_governed(
            platform.operation_engine(),
            entry,
            path,
            levels=levels,
            detected=detected,
            policy=policy,
            key=resolve_pseudonym_key(
                platform.data_path, platform.pseudonym_key, platform.pseudonym_key_file
            ),
            city=platform.city,
            scan_carried=LEAK_CHECK in asked,
        )
        progress.report(context.log.info, "operation", dataset_id, entry.title, rows=outcome.rows)
        if published.carried:
            context.log.info(
                f"{dataset_id}: 县区 {'、'.join(published.carried)} 未变化，沿用已发布的行"
            )
        now = datetime.now(UTC)
        with platform_engine.begin() as connection:
            record_publication(
                connection,
                dataset_id=dataset_id,
                table_name=outcome.table_name,
                status="published",
                report=report,
                rows=outcome.rows,
                run_id=context.run_id,
                at=now,
                k_threshold=policy.k_threshold,
            )
            audit.record(
                connection,
                actor=audit.SYSTEM_ACTOR,
                action=audit.PUBLISH,
                target=target,
                reason="治理、分类分级、脱敏后供给运营平台",
                rows=outcome.rows,
                detail={
                    "run_id": context.run_id,
                    "table": outcome.table_name,
                    "rows_in": report.rows_in,
                    "replaced_rows": outcome.replaced_rows,
                    "k": outcome.k,
                    "k_threshold": report.k_threshold,
                    "suppressed": report.suppressed,
                    "key_id": report.key_id,
                },
                at=now,
            )
        columns = published.columns
        zone = platform.operation_engine()
        emptied = published.measure_emptied(zone, dataset_id)
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": outcome.rows,
                "rows_in": report.rows_in,
                "k": report.k,
                "k_threshold": report.k_threshold,
                "suppressed": report.suppressed,
                "quasi_identifiers": list(report.quasi_identifiers),
                "generalization_levels": dict(report.generalization_levels),
                "transformations": dict(report.transformations),
                "dropped_columns": list(report.dropped_columns),
                "key_id": report.key_id,
                "replaced_rows": outcome.replaced_rows,
                "zone": safe_url(platform.operation_url),
                "dagster/column_schema": _schema(
                    entry, columns, dict(report.transformations), register
                ),
                "dagster/column_lineage": _lineage(dataset_id, columns),
                "column_lineage_table": lineage_table(
                    entry, columns, dict(report.transformations), register
                ),
                # counties whose rows were copied over unchanged (only the others desensitized)
                "carried_counties": list(published.carried),
                "emptied_columns": emptied,
                "preview": _preview(published.head, entry),
            },
            check_results=published_check_results(
                entry,
                outcome,
                k_threshold=report.k_threshold,
                quasi_identifiers=report.quasi_identifiers,
                leaks=published.measure_leaks(zone, dataset_id) if LEAK_CHECK in asked else None,
                emptied=emptied,
                names=asked,
            ),
        )

    return _operation
