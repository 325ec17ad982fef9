"""The supervision reports of one period, written under ``<reports dir>/supervision/``:

- ``department/<period>/department_notice.{xlsx,html}`` — 第三十一条 通报 on each source department;
- ``operator/<period>/operator_report.{xlsx,html}`` and ``public_disclosure.html`` — 第三十二条;
- ``annual/<year>/annual_evaluation.{xlsx,html}`` — 第三十三条, the evaluation data set with an empty
  ratings sheet for the departments, counties and merchants to fill in.

Each report carries the audit log's head (seq and SM3) at the moment it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.audit.verify import verify_log
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.storage.tables import merchants
from assets.supervision.figures import (
    DISCLOSED,
    OPERATOR_LABELS,
    DepartmentFigures,
    department_figures,
    operator_figures,
)
from assets.supervision.periods import CHINA, Period
from assets.supervision.render import write_html, write_xlsx

SUPERVISION_DIR = "supervision"

COUNTY_HEADER = (
    "数源部门", "县（区）", "登记目录条目", "已挂接数据", "按时更新", "新开质量工单",
    "逾期工单", "本期关闭", "按期关闭",
)  # fmt: skip
DEPARTMENT_HEADER = (
    "数源部门", "登记目录条目", "已挂接数据", "按时更新", "新开质量工单", "逾期工单",
    "本期关闭", "按期关闭", "审核申请（已决定）", "按期审核", "视为同意（逾期未审）",
)  # fmt: skip


@dataclass
class Written:
    paths: list[Path]
    head_seq: int
    head_hash: str
    figures: dict[str, Any] = field(default_factory=dict)


def _context(period: Period, title: str, article: str, head: tuple[int, str]) -> dict[str, Any]:
    return {
        "title": title,
        "period_label": period.label,
        "generated_at": datetime.now(UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        "article": article,
        "audit_head_seq": head[0],
        "audit_head_hash": head[1],
    }


def _head_sheet(head: tuple[int, str], period: Period, note: str | None = None):
    rows = [["报告期", period.label], ["审计日志链头序号", head[0]], ["审计日志链头 SM3", head[1]]]
    if note:
        rows.append(["说明", note])
    return ("说明", ["项目", "内容"], rows)


def _department_rows(found: list[DepartmentFigures]) -> tuple[list[list], list[list]]:
    summary = [
        [
            f.department_name,
            f.total("entries_registered"),
            f.total("entries_mounted"),
            f.total("entries_on_time"),
            f.total("tickets_opened"),
            f.total("tickets_overdue"),
            f.total("tickets_closed"),
            f.total("tickets_closed_in_time"),
            f.reviews_decided,
            f.reviews_on_time,
            f.reviews_deemed,
        ]
        for f in found
    ]
    detail = [
        [
            c.department_name,
            c.county_name,
            c.entries_registered,
            c.entries_mounted,
            c.entries_on_time,
            c.tickets_opened,
            c.tickets_overdue,
            c.tickets_closed,
            c.tickets_closed_in_time,
        ]
        for f in found
        for c in f.counties
    ]
    return summary, detail


def write_department_notice(
    platform: Engine,
    exchange: Engine,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    period: Period,
    reports_dir: Path,
    today: date,
) -> Written:
    """第三十一条: the bureau's notice on each source department's work in the period."""
    found = department_figures(platform, exchange, city, catalog, period, today)
    head = audit.head(platform)
    summary, detail = _department_rows(found)
    target = Path(reports_dir) / SUPERVISION_DIR / "department" / period.key
    title = (
        f"{city.city.data_bureau}关于数源部门公共数据资源授权运营工作情况的通报（{period.label}）"
    )
    xlsx = write_xlsx(
        target / "department_notice.xlsx",
        [
            ("各数源部门", DEPARTMENT_HEADER, summary),
            ("分县区", COUNTY_HEADER, detail),
            _head_sheet(head, period, "目录挂接按报告期最后一天（或今天）的更新频率判定"),
        ],
    )
    html = write_html(
        target / "department_notice.html",
        "table.html.j2",
        **_context(period, title, "第三十一条", head),
        sections=[
            {"title": "各数源部门", "header": DEPARTMENT_HEADER, "rows": summary, "note": None},
            {"title": "分县（区）", "header": COUNTY_HEADER, "rows": detail, "note": None},
        ],
    )
    figures = {
        f.department_id: {
            "entries_registered": f.total("entries_registered"),
            "entries_mounted": f.total("entries_mounted"),
            "entries_on_time": f.total("entries_on_time"),
            "tickets_opened": f.total("tickets_opened"),
            "tickets_overdue": f.total("tickets_overdue"),
            "tickets_closed_in_time": f.total("tickets_closed_in_time"),
            "reviews_decided": f.reviews_decided,
            "reviews_on_time": f.reviews_on_time,
            "reviews_deemed": f.reviews_deemed,
        }
        for f in found
    }
    return Written([xlsx, html], *head, figures=figures)


def _operator_rows(figures: Mapping[str, Any], keys) -> list[list]:
    return [[OPERATOR_LABELS[k], figures[k] if figures[k] is not None else "暂无"] for k in keys]


def write_operator_report(platform: Engine, period: Period, reports_dir: Path) -> Written:
    """第三十二条: the operator's periodic report to the bureau and the public disclosure page."""
    figures = operator_figures(platform, period)
    head = audit.head(platform)
    target = Path(reports_dir) / SUPERVISION_DIR / "operator" / period.key
    rows = _operator_rows(figures, OPERATOR_LABELS)
    xlsx = write_xlsx(
        target / "operator_report.xlsx",
        [("运营情况", ["指标", "数值"], rows), _head_sheet(head, period)],
    )
    report = write_html(
        target / "operator_report.html",
        "table.html.j2",
        **_context(period, f"公共数据运营情况报告（{period.label}）", "第三十二条", head),
        sections=[{"title": "运营情况", "header": ["指标", "数值"], "rows": rows, "note": None}],
    )
    disclosure = write_html(
        target / "public_disclosure.html",
        "table.html.j2",
        **_context(period, f"公共数据资源授权运营情况公开（{period.label}）", "第三十二条", head),
        sections=[
            {
                "title": "授权运营情况",
                "header": ["项目", "数量"],
                "rows": _operator_rows(figures, DISCLOSED),
                "note": None,
            }
        ],
    )
    return Written([xlsx, report, disclosure], *head, figures=figures)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def write_annual_evaluation(
    platform: Engine,
    exchange: Engine,
    city: City,
    catalog: Mapping[str, CatalogEntry],
    period: Period,
    reports_dir: Path,
    today: date,
) -> Written:
    """第三十三条: the year's evaluation data set of the operator, and the ratings sheet."""
    if period.kind != "yearly":
        raise ValueError("年度评估的报告期是一年（YYYY）")
    operator = operator_figures(platform, period)
    departments = department_figures(platform, exchange, city, catalog, period, today)
    verification = verify_log(platform)
    head = audit.head(platform)

    def total(name: str) -> int:
        return sum(f.total(name) for f in departments)

    reviews_due = sum(f.reviews_due for f in departments)
    reviews_on_time = sum(f.reviews_on_time for f in departments)
    indicators = [
        *[(k, OPERATOR_LABELS[k], operator[k]) for k in OPERATOR_LABELS],
        ("compliance_on_time_rate", "合规核查按期率", _rate(
            operator["compliance_on_time"], operator["compliance_checked"])),
        ("department_reviews_on_time_rate", "数源部门按期审核率", _rate(reviews_on_time, reviews_due)),
        ("tickets_opened", "全年新开质量工单", total("tickets_opened")),
        ("tickets_closed_in_time_rate", "质量工单按期关闭率", _rate(
            total("tickets_closed_in_time"), total("tickets_closed"))),
        ("audit_log_intact", "审计日志校验通过", verification.ok),
    ]  # fmt: skip
    with platform.connect() as connection:
        merchant_rows = connection.execute(
            sa.select(merchants.c.merchant_id, merchants.c.name)
            .where(merchants.c.status == "approved")
            .order_by(merchants.c.merchant_id)
        ).all()
    raters = [
        *[("数源部门", d.id, d.name) for d in city.departments],
        *[("县（区）公共数据主管部门", c.code, c.data_bureau) for c in city.counties],
        *[("数据商", m, name) for m, name in merchant_rows],
    ]
    target = Path(reports_dir) / SUPERVISION_DIR / "annual" / period.key
    indicator_rows = [
        [code, label, "暂无" if value is None else value] for code, label, value in indicators
    ]
    rating_header = ["评价主体类别", "编号", "名称", "评分（百分制）", "评价意见"]
    rating_rows = [[kind, code, name, None, None] for kind, code, name in raters]
    xlsx = write_xlsx(
        target / "annual_evaluation.xlsx",
        [
            ("评估指标", ["指标代码", "指标", "数值"], indicator_rows),
            ("评价表", rating_header, rating_rows),
            _head_sheet(head, period),
        ],
    )
    html = write_html(
        target / "annual_evaluation.html",
        "table.html.j2",
        **_context(period, f"运营机构年度评估数据（{period.label}）", "第三十三条", head),
        sections=[
            {"title": "评估指标", "header": ["指标代码", "指标", "数值"],
             "rows": [[c, lb, "是" if v is True else "否" if v is False else v] for c, lb, v in indicator_rows],
             "note": None},
            {"title": "评价主体（评分由各主体填写）", "header": rating_header[:3],
             "rows": [r[:3] for r in rating_rows], "note": None},
        ],
    )  # fmt: skip
    return Written([xlsx, html], *head, figures={code: value for code, _, value in indicators})
