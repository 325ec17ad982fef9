"""The quality suites as asset checks on each county's partition of the exchange-platform tables.

Severity is deliberate:
- a delivery with defective rows is ``WARN``, not blocking. The problems go to the source department
  as tickets (第十一条) and governance quarantines the bad rows downstream; failing the run or
  blocking the county's whole partition would hold back every good row for a few bad ones, and a
  department's data defect is not an outage of the platform.
- a rule that could not be evaluated at all (the suite or GE failing) is ``ERROR``: that is the
  platform's fault, nobody gets a ticket for it, and it must be looked at.
Check metadata carries counts, percentages, masked examples and ticket ids only: no raw personal
data reaches the Dagster event log.
"""

import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from assets.aggregation.partitions import dataset_partitions, split_partition_key
from assets.common import progress
from assets.common.catalog import CatalogEntry
from assets.common.city import City
from assets.common.workdays import china_date
from assets.exchange.assets import exchange_key
from assets.storage.platform import PlatformResource
from assets.tickets.changes import ticket_changes

if TYPE_CHECKING:
    # Great Expectations costs about 3 s of CPU to import: a process that checks nothing (the
    # runner of a parallel run, an unchanged rerun, the portal) never loads it
    from assets.quality.findings import PartitionCheck
    from assets.quality.validation import ExpectationOutcome

# CLI runs are tagged so (orchestration/runner.py); their checks leave Data Docs to the follow-up
TRIGGER_TAG = "publicdata/trigger"
CLI_TRIGGER = "cli"
# but the last run of a dataset in a CLI run builds its Data Docs (orchestration/runs.py tags it)
DATA_DOCS_TAG, BUILD_DOCS = "publicdata/data_docs", "build"

CHECK_NAME = "quality_suite"


def _cell(text: object) -> str:
    return str(text).replace("|", "｜").replace("\n", " ")


def failed_expectation_rows(check: "PartitionCheck") -> list[dict]:
    """Each failing rule: what, where, how bad, and a few masked examples with their file rows."""
    failing: list[ExpectationOutcome] = [
        e for e in check.outcome.expectations if not e.success or e.error is not None
    ]
    return [
        {
            "rule_id": e.rule_id,
            "expectation": e.description,
            "columns": list(e.columns),
            "dimension": e.dimension,
            "severity": e.severity,
            "failed_count": e.failed_count,
            "total": e.total,
            "percent": e.percent,
            "examples": [{"source_row": x.source_row, "value": x.value} for x in e.examples],
            **({"error": e.error} if e.error else {}),
        }
        for e in failing
    ]


def _column_names(entry: CatalogEntry, columns: list[str]) -> str:
    return "、".join(entry.item(c).name if c in entry.columns else c for c in columns)


def failed_expectations_markdown(rows: list[dict], entry: CatalogEntry) -> str:
    if not rows:
        return "全部规则通过。"
    lines = [
        "| 规则 | 信息项 | 质量维度 | 严重程度 | 不符合/总数 | 比例 | 示例（已脱敏，行号为来源文件行） |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        examples = "；".join(
            f"第{x['source_row']}行 {x['value'] if x['value'] is not None else '（空）'}"
            for x in row["examples"]
        )
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    row["expectation"] or row["rule_id"],
                    _column_names(entry, row["columns"]),
                    row["dimension"],
                    row["severity"],
                    f"{row['failed_count']}/{row['total']}",
                    f"{row['percent']:.2f}%",
                    row.get("error") or examples,
                )
            )
            + " |"
        )
    return "\n".join(lines)


RULES_FAILED_TAG = "publicdata/quality_rules_failed"
CHANGE_LABELS = {
    "tickets_opened": "新建",
    "tickets_reopened": "重新打开",
    "tickets_updated": "更新",
    "tickets_closed": "关闭",
}


def ticket_changes_text(check: "PartitionCheck") -> str:
    """What the check did to tickets, as a reader writes it: 新建 QT-640521-000001；关闭 …"""
    parts = [
        f"{CHANGE_LABELS[key]} {'、'.join(ids)}"
        for key, ids in ticket_changes(check.tickets).items()
        if ids
    ]
    return "；".join(parts) or "无变化"


def failed_rule_line(row: dict, entry: CatalogEntry) -> str:
    """One failing rule in a line: 公民身份号码：公民身份号码符合 GB 11643（规范性/高）3/50，6.00%."""
    what = row["expectation"] or row["rule_id"]
    return (
        f"{_column_names(entry, row['columns'])}：{what}（{row['dimension']}/{row['severity']}）"
        f"{row['failed_count']}/{row['total']}，{row['percent']:.2f}%"
    )


def check_result(check: "PartitionCheck", entry: CatalogEntry) -> dg.AssetCheckResult:
    rows = failed_expectation_rows(check)
    found = check.findings
    tickets = ticket_changes(check.tickets)
    metadata: dict = {
        "rows_checked": check.outcome.row_count,
        "as_of": check.outcome.as_of,
        "department": entry.provider,
        "rules_passed": len(found.passed_rule_ids),
        "rules_failed": len(found.findings),
        "rules_errored": len(found.errors),
        "failed_expectations": dg.MetadataValue.json(rows),
        "failed_expectations_table": dg.MetadataValue.md(failed_expectations_markdown(rows, entry)),
        **{key: dg.MetadataValue.json(ids) for key, ids in tickets.items()},
        "open_tickets": dg.MetadataValue.json(list(check.tickets.open_ids)),
    }
    if check.docs_page is not None and check.docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.url(check.docs_page.as_uri())
        metadata["data_docs_index"] = dg.MetadataValue.path(str(check.docs_index))
    # each failing rule as a line of its own: text metadata and the description are shown on the
    # check's result directly (the markdown table waits behind "Show Markdown")
    for number, row in enumerate(rows, start=1):
        metadata[f"不符合规则 {number}"] = dg.MetadataValue.text(failed_rule_line(row, entry))
    if found.errors:
        severity = dg.AssetCheckSeverity.ERROR
        description = f"{len(found.errors)} 条质量规则无法执行（平台问题，未生成工单）"
    else:
        severity = dg.AssetCheckSeverity.WARN
        description = (
            f"{len(found.findings)} 条质量规则不符合，已反馈数源部门（工单）："
            + "；".join(failed_rule_line(row, entry) for row in rows[:5])
            + ("；……" if len(rows) > 5 else "")
            if found.findings
            else f"{check.outcome.row_count} 行全部符合质量规则"
        )
    return dg.AssetCheckResult(
        passed=check.passed, severity=severity, description=description, metadata=metadata
    )


def exchange_quality_check(entry: CatalogEntry, city: City) -> dg.AssetChecksDefinition:
    with warnings.catch_warnings():
        # the suite checks one delivery (a partition) by design; Dagster 1.13 calls a partitioned
        # check "preview" on stderr, once per process that builds the Definitions
        warnings.filterwarnings(
            "ignore", message=".*partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
        )
        return _quality_check(entry, city)


def _quality_check(entry: CatalogEntry, city: City) -> dg.AssetChecksDefinition:
    dataset_id = entry.dataset_id

    @dg.asset_check(
        asset=exchange_key(dataset_id),
        name=CHECK_NAME,
        partitions_def=dataset_partitions(entry, city),
        blocking=False,
        description=(
            f"{entry.title}：按质量规则（quality_suites/{dataset_id}.json，Great Expectations）校验"
            "一个县（区）一期的数据；不符合的规则作为质量工单反馈数源部门，通过的规则关闭其工单。"
            "数据缺陷为警告（WARN），不阻断运行；规则本身无法执行为错误（ERROR）。"
        ),
        metadata={"suite": f"quality_suites/{dataset_id}.json", "数源部门": entry.provider},
    )
    def _quality_suite(
        context: dg.AssetCheckExecutionContext, platform: PlatformResource
    ) -> dg.AssetCheckResult:
        from assets.quality.findings import check_partition, validator_for

        county_code, period = split_partition_key(context)
        checked_at = datetime.now(UTC)
        check = check_partition(
            validator_for(platform.catalog_path),
            entry,
            exchange_engine=platform.exchange_engine(),
            platform_engine=platform.platform_engine(),
            county_code=county_code,
            period=period,
            townships=list(platform.city.county(county_code).townships),
            as_of=platform.quality_as_of_date or china_date(checked_at),
            checked_at=checked_at,
            data_dir=platform.data_path,
            staging_dir=platform.staging_dir,
            # a CLI run checks many partitions and builds each dataset's Data Docs once, in the
            # dataset's last run (else its follow-up's rebuild_stale_docs does); a run of its own
            # builds them here
            build_docs=context.run.tags.get(TRIGGER_TAG) != CLI_TRIGGER
            or context.run.tags.get(DATA_DOCS_TAG) == BUILD_DOCS,
        )
        progress.report(None, "quality", dataset_id, entry.title, rows=check.outcome.row_count)
        context.log.info(
            f"{dataset_id} {county_code} {period}: {check.outcome.row_count} 行，"
            f"{len(check.findings.findings)} 条规则不符合；工单 {ticket_changes_text(check)}"
        )
        if check.findings.findings:
            # the run list shows (and filters by) run tags: a delivery with failed rules is marked
            context.instance.add_run_tags(
                context.run.run_id,
                {
                    RULES_FAILED_TAG: "true",
                    f"{RULES_FAILED_TAG}.{dataset_id}": str(len(check.findings.findings)),
                },
            )
        return check_result(check, entry)

    return _quality_suite
