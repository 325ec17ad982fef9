"""``publicdata exports`` and ``publicdata products``: the export path (第二十三条) and the product
register with its fees (第十四条, 第二十四条, 第二十五条).

    publicdata exports request --product P --application A --recipient R (--sql SQL | --sql-file F
                               | --file PATH [--count-column C]) [--suppress] [--as ACCOUNT] [--json]
    publicdata exports list [--status S] [--merchant M] [--json]
    publicdata exports show ID [--json]
    publicdata exports review ID (--approve | --reject) --reason R [--as ACCOUNT] [--json]
    publicdata exports file ID --filing-no NO [--as ACCOUNT] [--json]
    publicdata exports releases [--json]      publicdata exports trace FILE [--json]
    publicdata products add --merchant M --name N --kind K --scenario S --use U [--margin 0.05] …
    publicdata products cost ID --item 数据加工 --amount 1000.00 --basis … [--as ACCOUNT]
    publicdata products list | show ID | ledger [--release R]   (each with --json)
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from orchestration.settings import Settings

out = Console() if sys.stdout.isatty() else Console(width=140)

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")
_as = click.option(
    "--as", "--by", "acting_as", default=None, metavar="ACCOUNT", help="以哪个账号操作"
)


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


def _account(engine, acting_as: str | None) -> str:
    """``--as``, else the account mapped to the OS user; the domain checks its role and scope."""
    if acting_as:
        return acting_as
    from assets.accounts.store import account_for_os_user

    os_user = getpass.getuser()
    mapped = account_for_os_user(engine, os_user)
    if mapped is None:
        raise click.ClickException(
            f"未指定操作账号：请用 --as 账号，或为系统用户 {os_user} 建立对应账号"
        )
    return mapped.name


def _emit(record: object, as_json: bool, message: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    else:
        out.print(message)


def _refusals():
    from assets.accounts.authorize import AccessDenied
    from assets.authorization.records import AuthorizationError
    from assets.exports.sources import SourceError
    from assets.exports.workflow import ExportError
    from assets.products.fees import FeeError
    from assets.products.register import ProductError

    return (AccessDenied, AuthorizationError, ExportError, FeeError, ProductError, SourceError)


def _config(settings: Settings):
    from assets.exports.config import load_exports_config

    return load_exports_config(settings.exports_config)


def _checks_text(record: dict) -> str:
    lines = [f"出域申请 {record['id']}：{record['status_label']}"]
    for c in record["checks"]:
        mark = "[green]✓[/]" if c["passed"] else "[red]✗[/]"
        lines.append(f"  {mark} {c['name']}：{c['reason']}")
    if record.get("due_date"):
        lines.append(f"  期限：{record['due_date']}" + ("（已逾期）" if record["overdue"] else ""))
    return "\n".join(lines)


@click.group()
def exports() -> None:
    """产品和服务出域：自动核查 → 运营机构审核 → 市数据局备案 → 出域（第二十三条）。"""


@exports.command("request")
@_data_dir
@click.option("--product", "product_id", required=True, help="产品编号")
@click.option("--application", "application_id", required=True, help="所服务的数据使用申请编号")
@click.option("--recipient", required=True, help="接收方")
@click.option("--sql", default=None, help="工作区中对授权数据的查询")
@click.option("--sql-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--file", "file_path", default=None, help="工作区中产生的 CSV/XLSX 文件")
@click.option("--count-column", default=None, help="文件为汇总表时，各单元格贡献者数所在的列")
@click.option("--suppress", is_flag=True, help="不达标的单元格/记录先压制（逐一说明原因）再出域")
@_as
@_json
def request_cmd(
    data_dir, product_id, application_id, recipient, sql, sql_file, file_path, count_column,
    suppress, acting_as, as_json,
) -> None:  # fmt: skip
    """提出出域申请；自动核查立即执行。"""
    from assets.exports.intake import Source, request_export
    from assets.exports.workflow import get_export

    if sql_file is not None:
        sql = sql_file.read_text(encoding="utf-8")
    if (sql is None) == (file_path is None):
        raise click.UsageError("须给出 --sql/--sql-file 或 --file 之一")
    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    config = _config(settings)
    from assets.common.catalog import load_catalog

    try:
        export_id = request_export(
            platform_engine=platform,
            operation_engine=operation,
            data_dir=settings.data_dir,
            catalog=load_catalog(settings.catalog_dir),
            config=config,
            account=_account(platform, acting_as),
            product_id=product_id,
            application_id=application_id,
            recipient=recipient,
            source=Source(sql=sql, file=file_path, count_column=count_column),
            today=settings.today_date(),
            suppress=suppress,
        )
    except (*_refusals(), ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    record = get_export(platform, export_id).as_record(config, today=settings.today_date())
    _emit(record, as_json, _checks_text(record))


@exports.command("list")
@_data_dir
@click.option("--status", default=None)
@click.option("--merchant", "merchant_id", default=None)
@_json
def list_cmd(data_dir, status, merchant_id, as_json) -> None:
    """出域申请列表（含期限）。"""
    from assets.exports.workflow import list_exports

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    config, today = _config(settings), settings.today_date()
    records = [
        r.as_record(config, today=today)
        for r in list_exports(platform, status=status, merchant_id=merchant_id)
    ]
    table = Table("编号", "状态", "产品", "申请", "接收方", "行数", "期限")
    for r in records:
        table.add_row(
            r["id"], r["status_label"], r["product_id"], r["application_id"], r["recipient"],
            str(r["rows"] or ""), (r["due_date"] or "") + (" 逾期" if r["overdue"] else ""),
        )  # fmt: skip
    if as_json:
        _emit(records, True, "")
    else:
        out.print(table)


@exports.command("show")
@_data_dir
@click.argument("export_id")
@_json
def show_cmd(data_dir, export_id, as_json) -> None:
    """一个出域申请：核查结果、核查报告、审核与备案。"""
    from assets.exports.workflow import ExportError, get_export

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    try:
        record = get_export(platform, export_id).as_record(
            _config(settings), today=settings.today_date()
        )
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(record, as_json, _checks_text(record))


@exports.command("review")
@_data_dir
@click.argument("export_id")
@click.option("--approve/--reject", required=True)
@click.option("--reason", required=True, help="审核意见（通过或不通过都须写明理由）")
@_as
@_json
def review_cmd(data_dir, export_id, approve, reason, acting_as, as_json) -> None:
    """运营机构审核（operator_review）。"""
    from assets.exports.workflow import review_export

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    try:
        request = review_export(
            platform, settings.data_dir, _account(platform, acting_as), export_id,
            approve=approve, reason=reason, today=settings.today_date(),
        )  # fmt: skip
    except _refusals() as exc:
        raise click.ClickException(str(exc)) from exc
    record = request.as_record(_config(settings), today=settings.today_date())
    _emit(record, as_json, _checks_text(record))


@exports.command("file")
@_data_dir
@click.argument("export_id")
@click.option("--filing-no", required=True, help="市数据局备案号")
@_as
@_json
def file_cmd(data_dir, export_id, filing_no, acting_as, as_json) -> None:
    """市数据局备案（bureau）；备案后结果出域到数据商的出域文件箱。"""
    from assets.common.catalog import load_catalog
    from assets.common.city import load_city
    from assets.exports.release import list_releases
    from assets.exports.workflow import file_export
    from assets.products.fees import load_fee_config

    settings = _settings(data_dir)
    platform, operation = _engines(settings)
    try:
        request = file_export(
            platform_engine=platform,
            operation_engine=operation,
            data_dir=settings.data_dir,
            account=_account(platform, acting_as),
            export_id=export_id,
            filing_no=filing_no,
            fee_config=load_fee_config(settings.fees_config),
            city=load_city(settings.city_config),
            catalog=load_catalog(settings.catalog_dir),
        )
    except _refusals() as exc:
        raise click.ClickException(str(exc)) from exc
    record = request.as_record(_config(settings), today=settings.today_date())
    release = next(r for r in list_releases(platform) if r.export_id == export_id)
    record["release"] = release.as_record()
    _emit(
        record,
        as_json,
        _checks_text(record) + f"\n已出域：{release.file_path}\nSM3：{release.sm3}",
    )


@exports.command("releases")
@_data_dir
@_json
def releases_cmd(data_dir, as_json) -> None:
    """出域登记簿：产品、申请、接收方、摘要、行数、审核人、备案号。"""
    from assets.exports.release import list_releases

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    records = [r.as_record() for r in list_releases(platform)]
    table = Table("登记号", "出域申请", "产品", "接收方", "行数", "审核", "备案号", "SM3")
    for r in records:
        table.add_row(
            r["release_id"], r["export_id"], r["product_id"], r["recipient"], str(r["rows"]),
            r["approved_by"], r["filing_no"], r["sm3"][:16] + "…",
        )  # fmt: skip
    if as_json:
        _emit(records, True, "")
    else:
        out.print(table)


@exports.command("trace")
@_data_dir
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_json
def trace_cmd(data_dir, path, as_json) -> None:
    """由文件的 SM3 摘要查到它是哪一次出域（去向可查）。"""
    from assets.exports.release import trace

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    found = [r.as_record() for r in trace(platform, path)]
    if not found:
        raise click.ClickException(f"{path} 不是登记过的出域文件（SM3 不在出域登记簿中）")
    _emit(found, as_json, "\n".join(f"{r['release_id']}：{r}" for r in found))


@click.group()
def products() -> None:
    """数据产品登记、成本定价与收益分配（第十四条、第二十四条、第二十五条）。"""


@products.command("add")
@_data_dir
@click.option("--merchant", "merchant_id", required=True)
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["data_product", "data_service", "model"]), required=True)
@click.option("--scenario", required=True, help="应用场景（须与所服务申请的场景一致）")
@click.option("--use", type=click.Choice(["public_good", "commercial"]), required=True)
@click.option("--description", default="")
@click.option("--margin", default=None, help="利润率（商业用途；不超过配置上限）")
@_as
@_json
def add_cmd(data_dir, merchant_id, name, kind, scenario, use, description, margin, acting_as,
            as_json) -> None:  # fmt: skip
    """登记一个数据产品/服务/模型。"""
    from assets.products.fees import load_fee_config
    from assets.products.register import register_product

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    try:
        product = register_product(
            platform, _account(platform, acting_as), load_fee_config(settings.fees_config),
            merchant_id=merchant_id, name=name, kind=kind, scenario=scenario, use=use,
            description=description, margin=margin,
        )  # fmt: skip
    except _refusals() as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(product.as_record(), as_json, f"已登记产品 {product.product_id}：{product.name}")


@products.command("cost")
@_data_dir
@click.argument("product_id")
@click.option("--item", required=True, help="成本项：数据加工、算力支持、合规支持、平台运维、其他")
@click.option("--amount", required=True, help="金额（元，精确到分）")
@click.option("--basis", required=True, help="依据")
@_as
@_json
def cost_cmd(data_dir, product_id, item, amount, basis, acting_as, as_json) -> None:
    """记录一项成本；商业产品的价格 = 成本合计 ×（1 + 利润率）。"""
    from assets.products.fees import parse_yuan
    from assets.products.register import record_cost

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    try:
        product = record_cost(
            platform, _account(platform, acting_as), product_id,
            item=item, amount_fen=parse_yuan(amount), basis=basis,
        )  # fmt: skip
    except _refusals() as exc:
        raise click.ClickException(str(exc)) from exc
    record = product.as_record()
    _emit(
        record,
        as_json,
        f"{product.name}：成本 {record['cost_fen']} 分，价格 {record['price_yuan']} 元",
    )


@products.command("list")
@_data_dir
@click.option("--merchant", "merchant_id", default=None)
@_json
def products_list(data_dir, merchant_id, as_json) -> None:
    """产品登记簿。"""
    from assets.products.register import list_products

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    records = [p.as_record() for p in list_products(platform, merchant_id=merchant_id)]
    table = Table("编号", "名称", "类型", "用途", "场景", "价格（元）", "状态")
    for r in records:
        table.add_row(
            r["product_id"], r["name"], r["kind_label"], r["use"], r["scenario"],
            r["price_yuan"], r["status"],
        )  # fmt: skip
    if as_json:
        _emit(records, True, "")
    else:
        out.print(table)


@products.command("show")
@_data_dir
@click.argument("product_id")
@_json
def products_show(data_dir, product_id, as_json) -> None:
    from assets.products.register import ProductError, get_product

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    try:
        record = get_product(platform, product_id).as_record()
    except ProductError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(record, as_json, json.dumps(record, ensure_ascii=False, indent=2))


@products.command("ledger")
@_data_dir
@click.option("--release", "release_id", default=None)
@_json
def products_ledger(data_dir, release_id, as_json) -> None:
    """收入与分配台账（每次商业产品出域的收入，按配置的份额分到市、县区、数源部门）。"""
    from assets.products.ledger import income, ledger

    settings = _settings(data_dir)
    platform, _ = _engines(settings)
    record = {
        "income": income(platform, release_id=release_id),
        "ledger": [line.as_record() for line in ledger(platform, release_id=release_id)],
    }
    table = Table("出域登记号", "分配对象", "份额", "金额（元）")
    for line in record["ledger"]:
        table.add_row(line["release_id"], line["party_label"], line["weight"], line["amount_yuan"])
    if as_json:
        _emit(record, True, "")
    else:
        out.print(table)
