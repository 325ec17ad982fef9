"""Dagster metadata for zone tables: column schemas with the catalog's names and tags, masked previews."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from assets.common.catalog import CatalogEntry
from assets.common.masking import mask_digit_runs, mask_series

_PROVENANCE_DOCS = {
    "county_code": ("string", "行政区划代码（交付县区）"),
    "period": ("string", "数据期"),
    "source_department": ("string", "数源部门"),
    "source_file": ("string", "来源文件"),
    "file_checksum": ("string", "来源文件 SHA-256"),
    "batch_id": ("string", "批次号（Dagster run id）"),
    "ingested_at": ("timestamp", "入库时间"),
    "source_row": ("integer", "来源文件行号（表头为第1行）"),
}


def column_schema(
    entry: CatalogEntry,
    *,
    provenance: bool = True,
    extra_tags: Mapping[str, Mapping[str, str]] | None = None,
) -> dg.TableSchema:
    columns: list[dg.TableColumn] = []
    if provenance:
        columns += [
            dg.TableColumn(name, type=kind, description=doc, tags={"provenance": ""})
            for name, (kind, doc) in _PROVENANCE_DOCS.items()
        ]
    for item in entry.items:
        tags = {"catalog_type": item.type}
        if item.pii:
            tags["pii"] = item.pii
        if item.format:
            tags["format"] = item.format
        tags.update((extra_tags or {}).get(item.column, {}))
        columns.append(
            dg.TableColumn(
                item.column,
                type="string",
                description=f"{item.name}" + (f"：{item.rule}" if item.rule else ""),
                constraints=dg.TableColumnConstraints(
                    nullable=not item.required, unique=item.unique
                ),
                tags=tags,
            )
        )
    return dg.TableSchema(columns=columns)


def masked_preview(frame: pd.DataFrame, entry: CatalogEntry, rows: int = 5) -> dg.MetadataValue:
    """A few rows for the UI with every personal-data column masked."""
    head = frame.head(rows)[entry.columns].copy()
    for item in entry.items:
        # declared personal data by its type; anything else still loses every long digit run,
        # since a column the catalog calls non-personal can hold a mobile (a clinic's 联系电话)
        if item.pii:
            head[item.column] = mask_series(head[item.column], item.pii)
        else:
            head[item.column] = mask_digit_runs(head[item.column])
    head = head.astype(object).where(head.notna(), "")
    return dg.MetadataValue.md(
        head.rename(columns={i.column: i.name for i in entry.items}).to_markdown(index=False)
    )
