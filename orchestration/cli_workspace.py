"""``publicdata workspace``: the merchants' workspace on the operation platform (第四条 可用不可见).

    publicdata workspace sql --merchant M "SELECT …" [--limit N] [--timeout S] [--json] [--as ACCOUNT]
    publicdata workspace credentials --merchant M [--rotate] [--host H] [--as ACCOUNT]
    publicdata workspace reconcile [--json] [--as ACCOUNT]
    publicdata workspace check [--json]
    publicdata workspace status [--json]

``sql`` (SQLite zone) and ``credentials`` (PostgreSQL zone) act for a merchant: a merchant user of
that merchant (``workspace.query``). ``reconcile`` brings the database to the live grants of today
(``PUBLICDATA_TODAY``); ``check`` reads the privileges that exist and exits 1 when any has no live
grant. Query results are shown in the terminal only (at most ``--limit`` rows); nothing is written to
a file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

out = Console() if sys.stdout.isatty() else Console(width=140)

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_merchant = click.option("--merchant", "merchant_id", required=True, help="数据商编号")
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings.load(data_dir)
    if problem := settings.missing_data_dir():
        raise click.ClickException(problem)
    return settings


def _engines(settings: Settings):
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    ensure_platform_schema(settings.platform_url)
    return get_engine(settings.platform_url), get_engine(settings.operation_url)


def _write_json(record: object) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


@click.group()
def workspace() -> None:
    """运营平台工作区：数据商在授权范围内查询（可用不可见）。"""


@workspace.command()
@_data_dir
@_merchant
@click.argument("sql")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--timeout", "timeout_seconds", type=click.FloatRange(0.1, 3600), default=60.0)
@as_option
@_json
def sql(
    data_dir: Path | None,
    merchant_id: str,
    sql: str,
    limit: int,
    timeout_seconds: float,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """以数据商身份在工作区执行一条只读查询（嵌入式 SQLite；只显示结果，不导出）。"""
    from assets.workspace.reconcile import live_state, merchant_query
    from assets.workspace.sqlite import WorkspaceError

    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    account = acting_account(platform, acting_as, "workspace.query", merchant_id=merchant_id)
    grants, _ = live_state(platform, settings.today_date())
    try:
        result = merchant_query(
            platform,
            operation,
            grants,
            merchant_id,
            sql,
            actor=account.name,
            actor_role=account.role,
            max_rows=limit,
            timeout_seconds=timeout_seconds,
        )
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _write_json(
            {
                "merchant": merchant_id,
                "columns": result.columns,
                "rows": [list(row) for row in result.rows],
                "truncated": result.truncated,
            }
        )
        return
    table = Table(*result.columns)
    for row in result.rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    out.print(table)
    more = f"，只显示前 {limit} 行" if result.truncated else ""
    out.print(f"{len(result.rows)} 行{more}（结果只在工作区内查看，不导出）")


@workspace.command()
@_data_dir
@_merchant
@click.option("--rotate", is_flag=True, help="重新发放：设置新密码，旧密码立即失效")
@click.option("--host", default=None, help="连接串中的主机名（默认：运营平台数据库的主机）")
@as_option
def credentials(
    data_dir: Path | None, merchant_id: str, rotate: bool, host: str | None, acting_as: str | None
) -> None:
    """发放数据商连接运营平台 PostgreSQL 工作区的连接串（只显示一次）。"""
    from assets.workspace.credentials import issue_credentials
    from assets.workspace.sqlite import WorkspaceError

    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    account = acting_account(platform, acting_as, "workspace.query", merchant_id=merchant_id)
    try:
        issued = issue_credentials(
            platform,
            operation,
            merchant_id,
            actor=account.name,
            actor_role=account.role,
            rotate=rotate,
            host=host,
        )
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(issued.connection_string)
    click.echo(
        f"数据商 {merchant_id} 的数据库账号 {issued.role}：以上连接串只显示这一次，平台不保存密码；"
        "遗失后用 --rotate 重新发放（旧密码立即失效）。",
        err=True,
    )


@workspace.command()
@_data_dir
@as_option
@_json
def reconcile(data_dir: Path | None, acting_as: str | None, as_json: bool) -> None:
    """按今天生效的授权同步工作区（角色、模式、视图、权限 / SQLite 允许清单）。"""
    from assets.workspace.reconcile import live_state
    from assets.workspace.reconcile import reconcile as run_reconcile

    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    account = acting_account(platform, acting_as, "pipeline.run")
    grants, merchants = live_state(platform, settings.today_date())
    outcome = run_reconcile(
        platform,
        operation,
        grants,
        merchants=merchants,
        actor=account.name,
        actor_role=account.role,
    )
    metadata = outcome.metadata()
    if as_json:
        _write_json({"today": settings.today_date().isoformat(), **metadata})
        return
    out.print(
        f"工作区（{metadata['backend']}）：生效授权 {metadata['grants_live']} 项，已生效 "
        f"{metadata['grants_applied']} 项；新建 {metadata['objects_created']} 项、"
        f"删除/收回 {metadata['objects_dropped']} 项"
    )
    for change in outcome.changes:
        out.print(f"  {change.action}  {change.target}")
    for line in metadata["grants_pending"]:
        out.print(f"  [yellow]暂不生效[/] {line}")
    for line in metadata["privileges_without_grant_remaining"]:
        out.print(f"  [red]仍存在没有授权的权限[/] {line}")


@workspace.command()
@_data_dir
@_json
def check(data_dir: Path | None, as_json: bool) -> None:
    """核对数据库中实际存在的权限与今天生效的授权；有任何没有授权的权限时退出码为 1。"""
    from assets.workspace.reconcile import check_privileges, live_state

    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    grants, merchants = live_state(platform, settings.today_date())
    outcome = check_privileges(platform, operation, grants, merchants=merchants)
    if as_json:
        _write_json(
            {
                "passed": outcome.passed,
                "backend": outcome.backend,
                "violations": outcome.violations,
                "not_applied": outcome.not_applied,
            }
        )
    else:
        out.print(
            ("[green]通过[/] " if outcome.passed else "[red]不通过[/] ") + outcome.description()
        )
        for line in outcome.not_applied:
            out.print(f"  [yellow]尚未同步[/] {line}")
    if not outcome.passed:
        sys.exit(1)


@workspace.command()
@_data_dir
@_json
def status(data_dir: Path | None, as_json: bool) -> None:
    """各数据商在工作区可查询的授权视图与字段。"""
    from assets.workspace.records import applied_access

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    rows = sorted(applied_access(platform))
    by_grant: dict[tuple[str, str, str, str], list[str]] = {}
    for row in rows:
        key = (row.merchant_id, row.grant_id, row.dataset_id, row.view_name or row.dataset_id)
        by_grant.setdefault(key, []).append(row.column_name)
    records = [
        {"merchant": m, "grant": g, "dataset": d, "view": v, "columns": sorted(columns)}
        for (m, g, d, v), columns in sorted(by_grant.items())
    ]
    if as_json:
        _write_json(records)
        return
    table = Table("数据商", "授权", "数据集", "视图", "字段")
    for record in records:
        table.add_row(
            record["merchant"],
            record["grant"],
            record["dataset"],
            record["view"],
            ", ".join(record["columns"]),
        )
    out.print(table)
