"""``publicdata ingest``: redeliveries held because they would shrink their partition sharply.

    publicdata ingest held [--json]
    publicdata ingest confirm --dataset D --county C --period P --reason R [--as ACCOUNT] [--json]

A held delivery changes nothing until it is confirmed; the next ``publicdata run`` then applies it. A
confirmation names the delivery by its checksum: a different file for the period is judged afresh.
Confirming is for the bureau, the county's data office and the dataset's source department; it is
audited.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assets.accounts.permissions import Grant, Match, register_action
from assets.accounts.roles import Role
from assets.aggregation.holds import (
    AUDIT_CONFIRM,
    HoldError,
    confirm_delivery,
    held_deliveries,
    staged_rows,
)
from assets.aggregation.ingest import reject_nul_rows, staged_path
from assets.common.catalog import load_catalog
from assets.common.files import printable
from assets.landing.locate import LandingFileMissing, locate_landing_file
from assets.landing.paths import file_checksum
from assets.landing.reader import read_landing_file
from assets.landing.rejections import FileRejected
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

register_action(
    AUDIT_CONFIRM,
    "确认大幅缩减的重新交付",
    Role.BUREAU,
    Grant(Role.COUNTY_OFFICE, Match.COUNTY),
    Grant(Role.DEPARTMENT_OFFICE, Match.DEPARTMENT),
)

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings.load(data_dir)
    if problem := settings.missing_data_dir():
        raise click.ClickException(problem)
    ensure_platform_schema(settings.platform_url)
    return settings


@click.group()
def ingest() -> None:
    """交付文件入库：暂缓替换的重新交付及其确认。"""


@ingest.command()
@_data_dir
@_json
def held(data_dir: Path | None, as_json: bool) -> None:
    """列出因行数大幅减少而暂缓替换、待确认的重新交付。"""
    settings = _settings(data_dir)
    found = held_deliveries(get_engine(settings.platform_url))
    if as_json:
        records = printable([h.as_record() for h in found])
        sys.stdout.write(json.dumps(records, ensure_ascii=False) + "\n")
        return
    if not found:
        click.echo("没有待确认的重新交付。")
    for h in found:
        click.echo(f"{h.relative_path}（{h.dataset_id} {h.county_code} {h.period}）：{h.reason}")


@ingest.command()
@_data_dir
@click.option("--dataset", "dataset_id", required=True, help="数据集（目录条目 dataset_id）")
@click.option("--county", "county_code", required=True, help="县（区）代码")
@click.option("--period", required=True, help="期次（与文件名一致）")
@click.option("--reason", required=True, help="为什么本期数据比现有的少这么多")
@as_option
@_json
def confirm(
    data_dir: Path | None,
    dataset_id: str,
    county_code: str,
    period: str,
    reason: str,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """确认一份暂缓替换的重新交付：下一次 publicdata run 时以它替换现有数据。"""
    settings = _settings(data_dir)
    catalog = load_catalog(settings.catalog_dir)
    entry = catalog.get(dataset_id)
    if entry is None:
        raise click.BadParameter(
            f"目录中没有数据集 {dataset_id}（可选: {', '.join(sorted(catalog))}）",
            param_hint="--dataset",
        )
    engine = get_engine(settings.platform_url)
    account = acting_account(
        engine, acting_as, AUDIT_CONFIRM, county_code=county_code, department_id=entry.provider
    )
    try:
        landing = locate_landing_file(settings.data_dir, dataset_id, county_code, period)
        read = read_landing_file(landing.path, entry, settings.read_limits)
    except (LandingFileMissing, FileRejected) as exc:
        raise click.ClickException(f"无法确认：{exc}") from None
    kept, _ = reject_nul_rows(read.frame, entry)
    current = staged_rows(staged_path(settings.staging_dir, dataset_id, county_code, period))
    try:
        confirmation = confirm_delivery(
            engine,
            dataset_id=dataset_id,
            county_code=county_code,
            period=period,
            checksum=file_checksum(landing.path),
            rows_before=current[0] if current else 0,
            rows_after=len(kept),
            reason=reason,
            actor=account.name,
            actor_role=account.role,
        )
    except HoldError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(confirmation.as_record(), ensure_ascii=False) + "\n")
        return
    click.echo(
        f"已确认 {landing.relative_path}：下一次 publicdata run 时以本次交付的 "
        f"{confirmation.rows_after} 行替换现有的 {confirmation.rows_before} 行。"
    )
