"""``publicdata audit``: read and verify the tamper-evident audit log (第二十七条 行为留痕).

    publicdata audit list [--actor A] [--action X] [--since YYYY-MM-DD] [--limit N] [--json]
    publicdata audit verify [--archives] [--json]
    publicdata audit head [--json]
    publicdata audit purge --before YYYY-MM-DD

``verify`` walks the hash chain from the newest archive anchor to the head and exits 1 naming the
first bad record (modified, deleted, inserted or reordered); ``--archives`` also checks every archive
file against its anchor. Every command acts as an account with ``audit.read`` (``purge``:
``audit.purge``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def _engine(data_dir: Path | None):
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    settings = Settings.load(data_dir)
    if problem := settings.missing_data_dir():
        raise click.ClickException(problem)
    ensure_platform_schema(settings.platform_url)
    return settings, get_engine(settings.platform_url)


@click.group()
def audit() -> None:
    """审计日志：查阅、校验散列链、按留存期归档清理（第二十七条）。"""


@audit.command(name="list")
@_data_dir
@click.option("--actor", default=None, help="操作账号")
@click.option("--action", default=None, help="操作代码，如 supply_suspend")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="起始日（中国时间）"
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="只显示最近 N 条")
@as_option
@_json
def list_command(
    data_dir: Path | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    limit: int | None,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """列出审计记录（按链顺序）。"""
    from assets.audit.log import entries

    _, engine = _engine(data_dir)
    acting_account(engine, acting_as, "audit.read")
    found = entries(
        engine,
        actor=actor,
        actions=(action,) if action else None,
        since=since.replace(tzinfo=CHINA) if since else None,
        limit=limit,
    )
    if as_json:
        click.echo(json.dumps([e.as_record() for e in found], ensure_ascii=False, indent=2))
        return
    for e in found:
        at = (e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)).astimezone(CHINA)
        role = f"（{e.role}）" if e.role else ""
        reason = f"  {e.reason}" if e.reason else ""
        click.echo(
            f"{e.seq:>6}  {at:%Y-%m-%d %H:%M:%S}  {e.actor}{role}  {e.action}  {e.target}{reason}"
        )
    click.echo(f"共 {len(found)} 条。")


@audit.command()
@_data_dir
@click.option("--archives", is_flag=True, help="同时校验全部归档文件")
@as_option
@_json
def verify(data_dir: Path | None, archives: bool, acting_as: str | None, as_json: bool) -> None:
    """校验审计日志的散列链；发现问题时指出第一条有问题的记录并以非零状态退出。"""
    from assets.audit.verify import verify_log

    settings, engine = _engine(data_dir)
    acting_account(engine, acting_as, "audit.read")
    result = verify_log(engine, data_dir=settings.data_dir if archives else None)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        chain = result.chain
        if chain.problem is not None:
            click.echo(f"审计日志校验失败：{chain.problem.message}")
        for problem in result.problems:
            click.echo(f"审计日志校验失败：{problem}")
        if result.ok:
            span = f"第 {chain.first_seq}–{chain.last_seq} 条" if chain.checked else "（无记录）"
            anchor = f"，自归档锚点第 {result.anchor.to_seq} 条起" if result.anchor else ""
            click.echo(
                f"审计日志完整：校验 {chain.checked} 条{span}{anchor}；链头散列 {chain.head_hash}"
            )
            if archives:
                click.echo(f"归档文件 {result.archives_checked} 个，均与锚点相符")
    sys.exit(0 if result.ok else 1)


@audit.command()
@_data_dir
@as_option
@_json
def head(data_dir: Path | None, acting_as: str | None, as_json: bool) -> None:
    """当前链头（最新一条记录的序号和 SM3 散列），供外部留存比对。"""
    from assets.audit.log import head as audit_head

    _, engine = _engine(data_dir)
    acting_account(engine, acting_as, "audit.read")
    seq, digest = audit_head(engine)
    if as_json:
        click.echo(json.dumps({"seq": seq, "hash": digest}))
    else:
        click.echo(f"第 {seq} 条  {digest}")


@audit.command()
@_data_dir
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="清理此日（中国时间）之前的记录；不能晚于六个月前",
)
@as_option
def purge(data_dir: Path | None, before: datetime, acting_as: str | None) -> None:
    """把超过留存期的最早一段审计记录归档（JSONL + 锚点）后从数据库清理。"""
    from assets.audit.retention import RetentionError
    from assets.audit.retention import purge as purge_log

    settings, engine = _engine(data_dir)
    account = acting_account(engine, acting_as, "audit.purge")
    try:
        result = purge_log(
            engine,
            settings.data_dir,
            before=before.date(),
            today=settings.today_date(),
            actor=account.name,
            role=account.role,
        )
    except RetentionError as exc:
        raise click.ClickException(str(exc)) from exc
    if result is None:
        click.echo("没有早于截止日的审计记录。")
        return
    click.echo(
        f"已归档并清理第 {result.from_seq}–{result.to_seq} 条（{result.records} 条）"
        f" → {result.archive_file}；锚点散列 {result.anchor_hash}"
    )
