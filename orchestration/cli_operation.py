"""``publicdata supply`` and ``publicdata classify``: supply suspension to the operation platform
(第二十七条) and classification & grading of any file.

    publicdata supply suspend --dataset D [--county C] --reason R [--withdraw] [--as ACCOUNT] [--json]
    publicdata supply resume --dataset D [--county C] --reason R [--as ACCOUNT] [--json]
    publicdata supply list [--json]
    publicdata classify FILE [--json]

Suspending stops the dataset's operation table from being updated by later runs; ``--withdraw`` also
removes the published version at once (the whole table, or the county's rows). Resuming lets the next
``publicdata run`` publish again. Only the bureau (市数据局) may do either; both are written to the
audit log with the acting account and its role. ``classify`` prints, per column, the
detected personal-data type, category, level, confidence and evidence — counts, never a value.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from assets.common.catalog import load_catalog
from assets.common.city import load_city
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

out = Console()

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_dataset = click.option(
    "--dataset", "dataset_id", required=True, help="数据集（目录条目 dataset_id）"
)
_county = click.option(
    "--county", "county_code", default=None, help="只针对一个县（区）（行政区划代码）"
)
_reason = click.option("--reason", required=True, help="原因（暂停：发现的风险；恢复：整改情况）")
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def _existing_settings(data_dir: Path | None) -> Settings:
    settings = Settings.load(data_dir)
    if problem := settings.missing_data_dir():
        raise click.ClickException(problem)
    return settings


def _settings_checked(data_dir: Path | None, dataset_id: str, county_code: str | None) -> Settings:
    # suspending before the first publication is allowed: the records are created then
    settings = Settings.load(data_dir)
    catalog = load_catalog(settings.catalog_dir)
    if dataset_id not in catalog:
        raise click.BadParameter(
            f"目录中没有数据集 {dataset_id}（可选: {', '.join(sorted(catalog))}）",
            param_hint="--dataset",
        )
    if county_code is not None:
        counties = load_city(settings.city_config).county_codes
        if county_code not in counties:
            raise click.BadParameter(
                f"不是本市的县（区）代码: {county_code}（可选: {', '.join(counties)}）",
                param_hint="--county",
            )
    ensure_platform_schema(settings.platform_url)
    return settings


def _emit(record: dict, as_json: bool, message: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    else:
        out.print(message)


@click.group()
def supply() -> None:
    """供给运营平台的暂停与恢复（第二十七条）。"""


@supply.command()
@_data_dir
@_dataset
@_county
@_reason
@click.option("--withdraw", is_flag=True, help="同时撤回已发布的版本（整表，或该县区的行）")
@as_option
@_json
def suspend(
    data_dir: Path | None,
    dataset_id: str,
    county_code: str | None,
    reason: str,
    withdraw: bool,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """暂停一个数据集（或其一个县区）向运营平台的供给（市数据局）。"""
    from assets.operation.suspension import SuspensionError, suspend_supply

    settings = _settings_checked(data_dir, dataset_id, county_code)
    account = acting_account(
        get_engine(settings.platform_url), acting_as, "supply.suspend", county_code=county_code
    )
    try:
        suspension, outcome = suspend_supply(
            get_engine(settings.platform_url),
            get_engine(settings.operation_url),
            dataset_id=dataset_id,
            county_code=county_code,
            reason=reason,
            actor=account.name,
            actor_role=account.role,
            withdraw_published=withdraw,
        )
    except SuspensionError as exc:
        raise click.ClickException(str(exc)) from exc
    record = suspension.as_record()
    message = f"[yellow]已暂停供给[/] {suspension.scope}：{reason}"
    if outcome is not None:
        record["withdrawn"] = {
            "removed": outcome.removed,
            "suppressed_for_k": outcome.suppressed,
            "remaining": outcome.remaining,
        }
        message += (
            f"\n已撤回 {outcome.table_name}：移除 {outcome.removed} 行"
            + (f"，为保持 k-匿名另压制 {outcome.suppressed} 行" if outcome.suppressed else "")
            + f"，剩余 {outcome.remaining} 行"
        )
    _emit(record, as_json, message)


@supply.command()
@_data_dir
@_dataset
@_county
@_reason
@as_option
@_json
def resume(
    data_dir: Path | None,
    dataset_id: str,
    county_code: str | None,
    reason: str,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """恢复供给（市数据局）；下一次 publicdata run 重新发布。"""
    from assets.operation.suspension import SuspensionError, resume_supply

    settings = _settings_checked(data_dir, dataset_id, county_code)
    account = acting_account(
        get_engine(settings.platform_url), acting_as, "supply.resume", county_code=county_code
    )
    try:
        suspension = resume_supply(
            get_engine(settings.platform_url),
            dataset_id=dataset_id,
            county_code=county_code,
            reason=reason,
            actor=account.name,
            actor_role=account.role,
        )
    except SuspensionError as exc:
        raise click.ClickException(str(exc)) from exc
    record = suspension.as_record()
    entry = load_catalog(settings.catalog_dir)[dataset_id]
    if entry.is_prohibited:
        # 第四条: lifting a suspension never opens a 禁止开放 resource
        record["status"] = "prohibited"
        message = (
            f"[yellow]已撤销暂停[/] {suspension.scope}：{reason}。但“{entry.title}”开放属性为"
            "禁止开放，仍不会发布到运营平台（第四条）。"
        )
    else:
        record["status"] = "resumed"
        message = f"[green]已恢复供给[/] {suspension.scope}：{reason}（下一次运行时重新发布）"
    _emit(record, as_json, message)


@supply.command(name="list")
@_data_dir
@click.option("--all", "show_all", is_flag=True, help="包括已恢复的")
@_json
def list_suspensions(data_dir: Path | None, show_all: bool, as_json: bool) -> None:
    """列出生效中的（或全部）暂停供给。"""
    from assets.operation.suspension import active_suspensions, suspension_history

    settings = _existing_settings(data_dir)
    ensure_platform_schema(settings.platform_url)
    engine = get_engine(settings.platform_url)
    found = suspension_history(engine) if show_all else active_suspensions(engine)
    if as_json:
        sys.stdout.write(
            json.dumps([s.as_record() for s in found], ensure_ascii=False, default=str) + "\n"
        )
        return
    table = Table(title="暂停供给")
    for column in ("编号", "数据集", "县区", "原因", "撤回", "暂停人", "暂停时间", "恢复时间"):
        table.add_column(column)
    for s in found:
        table.add_row(
            str(s.id),
            s.dataset_id,
            s.county_code or "全部",
            s.reason,
            "是" if s.withdraw else "否",
            s.suspended_by,
            f"{s.suspended_at:%Y-%m-%d %H:%M}",
            f"{s.resumed_at:%Y-%m-%d %H:%M}" if s.resumed_at else "",
        )
    out.print(table)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_json
def classify(file: Path, as_json: bool) -> None:
    """对任意 CSV / XLSX / XLS 文件的各列做分类分级（自动识别编码），不输出任何原始取值。"""
    from assets.classification.classify import classify_file
    from assets.landing.rejections import FileRejected

    if file.suffix.lower() not in (".csv", ".xlsx", ".xls"):
        raise click.ClickException(
            f"{file.name}: 只能分类 CSV 或 Excel 文件（.csv / .xlsx / .xls）"
        )
    try:
        columns = classify_file(file)
    except (FileRejected, ValueError) as exc:
        raise click.ClickException(f"{file.name}: 无法读取: {exc}") from exc
    if as_json:
        sys.stdout.write(json.dumps(columns, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"分类分级：{file.name}")
    for column in ("列", "个人信息类型", "分类", "级别", "置信度", "依据"):
        table.add_column(column)
    for c in columns:
        table.add_row(
            str(c["column"]),
            str(c["pii_type"]),
            str(c["category"]),
            str(c["level"]),
            f"{c['confidence']:.2f}",
            str(c["evidence"]),
        )
    out.print(table)
