"""Classification & grading assets (分类分级, GB/T 43697-2024): per dataset, every column's category,
grade and sensitivity level from the catalog's declaration and from detection over the governed values,
written to the classification register in the platform records and shown as column tags in the UI."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.classification.classify import classify_columns, dataset_grade
from assets.classification.keys import classification_key
from assets.classification.records import record_register
from assets.classification.scheme import default_scheme
from assets.common import progress
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.exchange.metadata import column_schema
from assets.governance.assets import DATA_BUREAU
from assets.governance.keys import governance_key
from assets.governance.records import (
    governed_columns,
    governed_path,
    governed_rows,
    governed_text_column,
    read_governed,
)
from assets.storage.platform import PlatformResource


def classification_asset(entry: CatalogEntry, city: City) -> dg.AssetsDefinition:
    dataset_id = entry.dataset_id

    @dg.asset(
        key=classification_key(dataset_id),
        deps=[governance_key(dataset_id)],
        group_name="classification",
        kinds={"sql"},
        owners=[DATA_BUREAU, city.dataset_owner(entry.provider, entry.title)],
        description=(
            f"{entry.title}（分类分级）：按 GB/T 43697-2024 给每一列定分类（门类/业务属性/个人信息类别）、"
            "分级（核心/重要/一般）和敏感级别（L1 公开 … L4 高敏感），依据目录声明和对治理后数据的检测"
            "（公民身份号码、统一社会信用代码、手机号、银行卡号、姓名、地址、邮箱，校验位验证）；"
            "数据集分级取各列最高（就高从严）。结果写入分类分级登记表，声明与检测不一致的列提请数源部门核实。"
        ),
        tags={"stage": "classification"},
    )
    def _classification(
        context: dg.AssetExecutionContext, platform: PlatformResource
    ) -> dg.MaterializeResult:
        scheme = default_scheme()
        path = governed_path(platform.data_path, dataset_id)
        present = set(governed_columns(path))
        columns = [item.column for item in entry.items if item.column in present]
        rows = governed_rows(path)
        # one column of the governed file in memory at a time, as Arrow-backed text
        classifications = classify_columns(
            columns,
            lambda i: governed_text_column(
                read_governed(path, [columns[i]], arrow_strings=True)[columns[i]]
            ),
            rows,
            dataset_id=dataset_id,
            entry=entry,
            scheme=scheme,
        )
        grade = dataset_grade(classifications, scheme)
        progress.report(context.log.info, "classification", dataset_id, entry.title, rows=rows)
        record_register(
            platform.platform_engine(),
            dataset_id,
            classifications,
            grade,
            run_id=context.run_id,
            at=datetime.now(UTC),
        )
        register = pd.DataFrame(
            [
                {
                    "列": c.column,
                    "信息项": c.item_name or "",
                    "分类": c.category,
                    "分级": c.grade,
                    "级别": c.level,
                    "检测类型": c.detected_type,
                    "置信度": round(c.confidence, 3),
                    "声明类型": c.declared_type or "",
                    "一致性": c.agreement,
                }
                for c in classifications
            ]
        )
        flagged = {c.column: c.remark for c in classifications if c.remark}
        for column, remark in flagged.items():
            context.log.warning(f"{dataset_id}.{column}: {remark}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(classifications),
                "dataset_grade": grade.grade,
                "dataset_level": grade.level,
                "grade_label": grade.label,
                "flagged_columns": flagged,
                "register": dg.MetadataValue.md(register.to_markdown(index=False)),
                "dagster/column_schema": column_schema(
                    entry,
                    provenance=False,
                    extra_tags={c.column: c.column_tags() for c in classifications},
                ),
            }
        )

    return _classification
