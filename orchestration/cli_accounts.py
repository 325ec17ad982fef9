"""``publicdata accounts``: accounts, roles and who acts (第五条), and the ``--as`` option every
state-changing command takes.

    publicdata accounts init [--bureau NAME] [--engineer NAME] [--os-user USER]
    publicdata accounts add NAME --role R --display-name TEXT [--county C] [--department D]
                            [--merchant M] [--os-user USER] [--password-stdin] [--as NAME]
    publicdata accounts list [--json]
    publicdata accounts disable NAME [--reason TEXT] [--as NAME]
    publicdata accounts passwd NAME [--password-stdin] [--as NAME]
    publicdata accounts roles [--json]

A command acts as the account named by ``--as``, else the account whose ``os_user`` is the current
operating-system user. Unknown accounts, disabled accounts and missing roles are refused with a Chinese
message and exit status 1.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from assets.accounts.authorize import AccessDenied, require
from assets.accounts.store import Account, account_for_os_user
from orchestration.settings import Settings

as_option = click.option(
    "--as",
    "--by",
    "acting_as",
    default=None,
    metavar="ACCOUNT",
    help="以哪个账号操作（默认：与当前系统用户对应的账号）",
)
_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def acting_account(
    engine: Engine,
    acting_as: str | None,
    action: str,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
) -> Account:
    """The account the command acts as, checked for ``action`` in the scope; a refusal is a
    ``ClickException`` (exit 1) with the reason in Chinese."""
    name = acting_as
    if not name:
        os_user = getpass.getuser()
        mapped = account_for_os_user(engine, os_user)
        if mapped is None:
            raise click.ClickException(
                f"未指定操作账号：请用 --as 账号，或为系统用户 {os_user} 建立对应账号"
                f"（publicdata accounts add … --os-user {os_user}）"
            )
        name = mapped.name
    try:
        return require(
            engine,
            name,
            action,
            county_code=county_code,
            department_id=department_id,
            merchant_id=merchant_id,
        )
    except AccessDenied as exc:
        raise click.ClickException(f"拒绝：{exc}") from exc


def _platform(data_dir: Path | None) -> tuple[Settings, Engine]:
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    settings = Settings.load(data_dir)
    ensure_platform_schema(settings.platform_url)
    return settings, get_engine(settings.platform_url)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password from stdin (one line), or a generated one; and whether it was generated."""
    from assets.accounts.passwords import generate_password

    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return generate_password(), True


@click.group()
def accounts() -> None:
    """账号与角色（第五条）：谁可以做什么、在什么范围内。"""


@accounts.command()
@_data_dir
@click.option("--bureau", "bureau_name", default="bureau_admin", show_default=True)
@click.option("--engineer", "engineer_name", default="engineer_admin", show_default=True)
@click.option(
    "--os-user",
    default=None,
    help="与市数据局账号对应的系统用户（默认当前系统用户）",
)
def init(data_dir: Path | None, bureau_name: str, engineer_name: str, os_user: str | None) -> None:
    """首次建立市数据局和平台运维账号（仅在还没有任何账号时）。口令只显示这一次。"""
    from assets.accounts.passwords import generate_password
    from assets.accounts.roles import Role
    from assets.accounts.store import AccountError, count_accounts, create_account
    from assets.common.city import load_city

    settings, engine = _platform(data_dir)
    if count_accounts(engine):
        raise click.ClickException(
            "已有账号，不能再初始化：请用有“管理账号”权限的账号执行 publicdata accounts add"
        )
    city = load_city(settings.city_config)
    bootstrap = "system:accounts-init"
    created = []
    try:
        for name, display, role, mapped in (
            (bureau_name, city.city.data_bureau, Role.BUREAU, os_user or getpass.getuser()),
            (engineer_name, "平台运维", Role.ENGINEER, None),
        ):
            password = generate_password()
            account = create_account(
                engine,
                name=name,
                display_name=display,
                role=role,
                os_user=mapped,
                password=password,
                by=bootstrap,
                by_role=None,
            )
            created.append((account, password))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    for account, password in created:
        mapped = f"，对应系统用户 {account.os_user}" if account.os_user else ""
        click.echo(f"已建立 {account.describe()}{mapped}；初始口令（只显示这一次）：{password}")


@accounts.command()
@_data_dir
@click.argument("name")
@click.option("--role", required=True, help="角色代码（publicdata accounts roles 查看）")
@click.option("--display-name", required=True, help="姓名或单位名称")
@click.option("--county", "county_code", default=None, help="县区代码（县区机构、数源部门）")
@click.option("--department", "department_id", default=None, help="数源部门编号")
@click.option("--merchant", "merchant_id", default=None, help="数据商编号")
@click.option("--os-user", default=None, help="对应的操作系统用户")
@click.option("--password-stdin", is_flag=True, help="从标准输入读口令（默认随机生成并显示一次）")
@as_option
@_json
def add(
    data_dir: Path | None,
    name: str,
    role: str,
    display_name: str,
    county_code: str | None,
    department_id: str | None,
    merchant_id: str | None,
    os_user: str | None,
    password_stdin: bool,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """新建账号（需要“管理账号”权限）。"""
    from assets.accounts.passwords import PasswordError
    from assets.accounts.store import AccountError, create_account
    from assets.common.city import load_city

    settings, engine = _platform(data_dir)
    actor = acting_account(engine, acting_as, "accounts.manage")
    password, generated = _read_password(password_stdin)
    try:
        account = create_account(
            engine,
            name=name,
            display_name=display_name,
            role=role,
            county_code=county_code,
            department_id=department_id,
            merchant_id=merchant_id,
            os_user=os_user,
            password=password,
            by=actor.name,
            by_role=actor.role,
            city=load_city(settings.city_config),
        )
    except (AccountError, PasswordError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        record = account.as_record()
        if generated:
            record["password"] = password
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(f"已建立 {account.describe()}，范围：{account.scope_label}")
    if generated:
        click.echo(f"初始口令（只显示这一次）：{password}")


@accounts.command(name="list")
@_data_dir
@_json
def list_accounts_command(data_dir: Path | None, as_json: bool) -> None:
    """列出账号（不显示口令散列）。"""
    from assets.accounts.store import list_accounts

    _, engine = _platform(data_dir)
    found = list_accounts(engine)
    if as_json:
        click.echo(json.dumps([a.as_record() for a in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("还没有账号（publicdata accounts init 建立第一批账号）。")
        return
    for a in found:
        state = "" if a.active else "  [已停用]"
        mapped = f"  系统用户 {a.os_user}" if a.os_user else ""
        click.echo(f"{a.name}  {a.role.label}  {a.display_name}  {a.scope_label}{mapped}{state}")
    click.echo(f"共 {len(found)} 个账号。")


@accounts.command()
@_data_dir
@click.argument("name")
@click.option("--reason", default=None, help="停用原因")
@as_option
def disable(data_dir: Path | None, name: str, reason: str | None, acting_as: str | None) -> None:
    """停用账号（账号不删除，审计日志仍可追溯）。"""
    from assets.accounts.store import AccountError, disable_account

    _, engine = _platform(data_dir)
    actor = acting_account(engine, acting_as, "accounts.manage")
    if actor.name == name:
        raise click.ClickException("不能停用自己正在使用的账号")
    try:
        account = disable_account(engine, name, by=actor.name, by_role=actor.role, reason=reason)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已停用 {account.describe()}")


@accounts.command()
@_data_dir
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读口令（默认随机生成并显示一次）")
@as_option
def passwd(data_dir: Path | None, name: str, password_stdin: bool, acting_as: str | None) -> None:
    """设置口令（本人，或有“管理账号”权限的账号）。"""
    from assets.accounts.passwords import PasswordError
    from assets.accounts.store import AccountError, get_account, set_password

    _, engine = _platform(data_dir)
    own = acting_as == name or (
        not acting_as
        and (mapped := account_for_os_user(engine, getpass.getuser()))
        and mapped.name == name
    )
    if own:
        actor = get_account(engine, name)
        if actor is None or not actor.active:
            raise click.ClickException(f"拒绝：没有可用的账号 {name}")
    else:
        actor = acting_account(engine, acting_as, "accounts.manage")
    password, generated = _read_password(password_stdin)
    try:
        account = set_password(engine, name, password, by=actor.name, by_role=actor.role)
    except (AccountError, PasswordError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已为 {account.describe()} 设置新口令")
    if generated:
        click.echo(f"新口令（只显示这一次）：{password}")


@accounts.command()
@_data_dir
@_json
def roles(data_dir: Path | None, as_json: bool) -> None:
    """角色及各自可以执行的操作。"""
    from assets.accounts.permissions import PERMISSIONS
    from assets.accounts.roles import Role

    table = {
        role.value: {
            "label": role.label,
            "scope": role.scope.value,
            "actions": [
                {"action": p.action, "label": p.label, "match": g.match.value}
                for p in PERMISSIONS.values()
                for g in p.grants_for(role)
            ],
        }
        for role in Role
    }
    if as_json:
        click.echo(json.dumps(table, ensure_ascii=False, indent=2))
        return
    for code, row in table.items():
        click.echo(f"{code}（{row['label']}，范围 {row['scope']}）")
        for a in row["actions"]:
            match = "" if a["match"] == "any" else f"  [限本{_MATCH_LABELS[a['match']]}]"
            click.echo(f"    {a['action']:<26} {a['label']}{match}")


_MATCH_LABELS = {"county": "县区", "department": "部门（及县区）", "merchant": "商户"}
