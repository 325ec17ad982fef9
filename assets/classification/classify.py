"""Column classification & grading (分类分级) of a dataset: the catalog's declaration against detection.

For every column: the detected type (``detectors.detect_column``, from values and names), the declared
type (the catalog item's ``pii``), whether they agree, the category (门类/业务属性, refined by the GB/T
35273 category of a personal column), the sensitivity level (the highest of the dataset's default level,
the quasi-identifier level, and the levels of the declared and the detected type) and the grade (一般
unless a grade rule or the authority's designation makes it 重要 or 核心). The dataset's grade is the
highest of its columns (就高从严).

A column whose declaration and detection disagree, or that holds personal information the catalog does
not declare, is marked so that the source department can be told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from assets.classification.detectors import LABELS, NONE, Detection, detect_column
from assets.classification.scheme import Scheme, default_scheme
from assets.common.catalog import (
    SHIPPED_CATALOG_DIR,
    CatalogEntry,
    CatalogItem,
    load_catalog,
)
from assets.landing.reader import read_table

Agreement = Literal["agree", "disagree", "undeclared"]


@dataclass(frozen=True)
class ColumnClassification:
    """One row of the classification register (分类分级登记)."""

    dataset: str | None
    column: str
    category: str
    grade: str
    level: str
    detected_type: str
    confidence: float
    declared_type: str | None
    agreement: Agreement
    evidence: str
    item_name: str | None = None
    remark: str | None = None

    def as_record(self) -> dict[str, object]:
        return asdict(self)

    def column_tags(self) -> dict[str, str]:
        """Tags for the column in a Dagster column schema (``dg.TableColumn(tags=...)``)."""
        tags = {
            "分类": self.category,
            "分级": self.grade,
            "敏感级别": self.level,
            "检测类型": self.detected_type,
            "声明一致性": self.agreement,
        }
        if self.declared_type:
            tags["声明类型"] = self.declared_type
        return tags


@dataclass(frozen=True)
class DatasetGrade:
    """The dataset's grade and, for the desensitization policy, its highest sensitivity level."""

    grade: str
    level: str

    @property
    def label(self) -> str:
        return f"{self.grade}数据（{self.level}）"


def _item_lookup(entry: CatalogEntry | None) -> dict[str, CatalogItem]:
    """Catalog items by canonical column and by Chinese header, so either kind of frame maps."""
    if entry is None:
        return {}
    lookup: dict[str, CatalogItem] = {}
    for item in entry.items:
        lookup[item.name] = item
        lookup[item.column] = item
    return lookup


def _agreement(
    declared: str | None, detected: str, *, scheme: Scheme, has_person: bool
) -> Agreement:
    if declared is not None and declared == detected:
        return "agree"
    declared_personal = scheme.is_personal(declared, has_person=True)
    detected_personal = scheme.is_personal(
        None if detected == NONE else detected, has_person=has_person
    )
    if not declared_personal:
        return "undeclared" if detected_personal else "agree"
    return "disagree"


def _remark(agreement: Agreement, declared: str | None, detected: str) -> str | None:
    if agreement == "disagree":
        return (
            f"目录声明为{LABELS.get(declared or NONE, declared)}，"
            f"检测结果为{LABELS[detected]}，请数源部门核实目录声明或数据"
        )
    if agreement == "undeclared":
        return f"检测为{LABELS[detected]}，目录未声明个人信息类型，请数源部门核实并补充声明"
    return None


def classify_frame(
    frame: pd.DataFrame,
    *,
    dataset_id: str | None = None,
    entry: CatalogEntry | None = None,
    scheme: Scheme | None = None,
) -> list[ColumnClassification]:
    """Classify and grade every column of ``frame`` (columns canonical or as Chinese headers)."""
    columns = [str(c) for c in frame.columns]
    return classify_columns(
        columns,
        lambda i: frame.iloc[:, i],
        len(frame),
        dataset_id=dataset_id,
        entry=entry,
        scheme=scheme,
    )


def classify_columns(
    columns: Sequence[str],
    values_of: Callable[[int], pd.Series],
    rows: int,
    *,
    dataset_id: str | None = None,
    entry: CatalogEntry | None = None,
    scheme: Scheme | None = None,
) -> list[ColumnClassification]:
    """``classify_frame`` of a table of ``rows`` rows whose ``columns`` are read one at a time
    (``values_of(i)`` gives the i-th column), so that only one column is in memory at once."""
    scheme = scheme or default_scheme()
    dataset = dataset_id or (entry.dataset_id if entry is not None else None)
    lookup = _item_lookup(entry)
    columns = [str(c) for c in columns]
    items = [lookup.get(c) for c in columns]
    declared = [item.pii if item is not None else None for item in items]
    detections: list[Detection] = []
    # how many people the dataset is about: distinct ID numbers, or the row count without them
    id_counts: list[int] = []
    for i, (column, item) in enumerate(zip(columns, items, strict=True)):
        aliases = [item.name, item.column] if item is not None else []
        values = values_of(i)
        detections.append(detect_column(values, column, aliases=aliases))
        if "cn_id_number" in (declared[i], detections[-1].pii_type):
            id_counts.append(int(values.nunique(dropna=True)))
        del values

    person_types = set(scheme.person_identifiers)
    has_person = any(d in person_types for d in declared) or any(
        d.pii_type in person_types for d in detections
    )
    subjects = max(id_counts) if id_counts else rows
    base_level = scheme.base_level(entry)
    dataset_category = scheme.dataset_category(entry)
    designated = scheme.designated_grade(dataset)

    results: list[ColumnClassification] = []
    for column, item, dec, det in zip(columns, items, declared, detections, strict=True):
        detected = det.pii_type
        levels = [
            base_level,
            scheme.quasi_identifier_level if item is not None and item.quasi_identifier else None,
            scheme.type_level(dec, has_person=True),
            scheme.type_level(detected if det.detected else None, has_person=has_person),
        ]
        level = scheme.max_level(*levels)

        category = dataset_category
        category_type = dec or (detected if det.detected else None)
        rule = scheme.types.get(category_type or "")
        personal = scheme.is_personal(dec, has_person=True) or scheme.is_personal(
            detected if det.detected else None, has_person=has_person
        )
        if rule is not None and (not rule.personal or personal):
            category = f"{dataset_category}/{rule.category}"

        grade, _ = scheme.rule_grade(level, personal=personal, subjects=subjects)
        if designated is not None:
            grade = scheme.max_grade(grade, designated)

        agreement = _agreement(dec, detected, scheme=scheme, has_person=has_person)
        results.append(
            ColumnClassification(
                dataset=dataset,
                column=column,
                category=category,
                grade=grade,
                level=level,
                detected_type=detected,
                confidence=det.confidence,
                declared_type=dec,
                agreement=agreement,
                evidence=det.evidence,
                item_name=item.name if item is not None else None,
                remark=_remark(agreement, dec, detected),
            )
        )
    return results


def dataset_grade(
    classifications: Sequence[ColumnClassification], scheme: Scheme | None = None
) -> DatasetGrade:
    """The highest grade and the highest level of the dataset's columns (就高从严)."""
    if not classifications:
        raise ValueError("没有列的分类分级结果，无法确定数据集分级")
    scheme = scheme or default_scheme()
    return DatasetGrade(
        grade=scheme.max_grade(*(c.grade for c in classifications)),
        level=scheme.max_level(*(c.level for c in classifications)),
    )


def match_entry(
    headers: Sequence[str], catalog: Mapping[str, CatalogEntry], *, min_overlap: float = 0.8
) -> CatalogEntry | None:
    """The catalog entry whose Chinese item names a file's headers cover (at least ``min_overlap`` of
    them), or None when no entry, or more than one, fits that well."""
    present = {str(h).strip() for h in headers}
    scored = []
    for entry in catalog.values():
        names = {item.name for item in entry.items}
        scored.append((len(present & names) / len(names), entry))
    fitting = [(score, entry) for score, entry in scored if score >= min_overlap]
    if not fitting:
        return None
    fitting.sort(key=lambda pair: pair[0], reverse=True)
    if len(fitting) > 1 and fitting[0][0] == fitting[1][0]:
        return None
    return fitting[0][1]


def classify_file(
    path: Path | str,
    *,
    scheme: Scheme | None = None,
    catalog: Mapping[str, CatalogEntry] | None = None,
) -> list[dict[str, object]]:
    """Classify the columns of any CSV or XLSX file (encoding detected) for ``publicdata classify``.

    When the headers are those of a catalog entry, its category, openness and declarations are used.
    One object per column: ``column``, ``pii_type``, ``category``, ``level``, ``confidence``,
    ``evidence`` — counts and percentages, never a value.
    """
    frame, _encoding = read_table(Path(path))
    if catalog is None:
        catalog = load_catalog(SHIPPED_CATALOG_DIR)
    entry = match_entry([str(c) for c in frame.columns], catalog)
    classifications = classify_frame(
        frame,
        dataset_id=entry.dataset_id if entry is not None else None,
        entry=entry,
        scheme=scheme,
    )
    return [
        {
            "column": c.column,
            "pii_type": c.detected_type,
            "category": c.category,
            "level": c.level,
            "confidence": round(c.confidence, 3),
            "evidence": c.evidence,
        }
        for c in classifications
    ]
