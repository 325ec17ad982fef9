"""`publicdata catalog`: the resource catalog (第八条, 第九条) from the command line.

    publicdata catalog validate   check every registration in <data dir>/registry against 第八条
    publicdata catalog list       the current city catalog, per-county registrations and data mounting
    publicdata catalog diff       what changed between two versions (default: the latest and the one before)
    publicdata catalog publish    validate, aggregate, version and publish; tell the subscribers
    publicdata catalog export     the current public catalog on stdout (--format json | dcat)
    publicdata catalog seed       demo: register the shipped entries for every county

Every command takes --data-dir (else PUBLICDATA_HOME, else ./data).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
json_option = click.option("--json", "as_json", is_flag=True, help="以 JSON 输出到标准输出")


def _console() -> Console:
    # click's CliRunner swaps sys.stdout; look it up per call
    return Console(file=sys.stdout, width=140)


def _platform(settings: Settings, *, read_only: bool = False) -> Engine:
    """The platform records; a read-only command on a data directory without them (a mistyped
    --data-dir) is an error and creates nothing there."""
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    if read_only and (missing := settings.missing_data_dir()):
        raise click.ClickException(missing)
    ensure_platform_schema(settings.platform_url)
    return get_engine(settings.platform_url)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def _latest_or_exit(engine: Engine):  # -> CatalogVersion
    from assets.catalog_sync.versions import latest_version

    version = latest_version(engine)
    if version is None:
        raise click.ClickException("尚无目录版本：请先运行 publicdata catalog publish")
    return version


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def catalog() -> None:
    """公共数据资源目录：登记校验、全市汇聚、版本和发布（第八条、第九条）。"""


@catalog.command()
@data_dir_option
def seed(data_dir: Path | None) -> None:
    """演示：登记区为空时，为每个县（区）登记随附的目录条目。"""
    from assets.catalog_sync.registry import registry_dir, seed_registry
    from assets.common.city import load_city

    settings = Settings.load(data_dir)
    written = seed_registry(
        settings.data_dir, load_city(settings.city_config), settings.catalog_dir
    )
    where = registry_dir(settings.data_dir)
    if written:
        click.echo(f"已在 {where} 登记 {written} 个目录条目文件")
    else:
        click.echo(f"{where} 已有登记，未做改动")


@catalog.command()
@data_dir_option
@json_option
def validate(data_dir: Path | None, as_json: bool) -> None:
    """按第八条校验登记区中的每个目录条目；有不合格条目时退出码为 1。"""
    from assets.catalog_sync.registry import registry_dir, scan_registry
    from assets.catalog_sync.validation import rejection_notice, validate_registry
    from assets.common.city import load_city

    settings = Settings.load(data_dir)
    city = load_city(settings.city_config)
    results = validate_registry(scan_registry(settings.data_dir), city)
    rejected = [r for r in results if not r.valid]
    if as_json:
        _echo_json(
            {
                "registrations": len(results),
                "valid": len(results) - len(rejected),
                "rejected": [
                    {
                        "registration": r.key,
                        "department_id": r.department_id,
                        "reasons": list(r.reasons),
                    }
                    for r in rejected
                ],
            }
        )
    elif not results:
        click.echo(
            f"登记区 {registry_dir(settings.data_dir)} 为空（演示可运行 publicdata catalog seed）"
        )
    else:
        click.echo(
            f"共 {len(results)} 个登记，合格 {len(results) - len(rejected)} 个，退回 {len(rejected)} 个"
        )
        for result in rejected:
            click.echo("")
            click.echo(f"[{result.key}]")
            click.echo(rejection_notice(result, city))
    if rejected:
        sys.exit(1)


@catalog.command(name="list")
@data_dir_option
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="以哪一天判断数据是否及时（默认今天）",
)
@json_option
def list_entries(data_dir: Path | None, as_of: datetime | None, as_json: bool) -> None:
    """当前全市目录：每个条目的登记县区、县区差异和数据挂接情况。"""
    from assets.catalog_sync.mounting import mounting_status
    from assets.common.city import load_city
    from assets.storage.engine import get_engine

    settings = Settings.load(data_dir)
    city = load_city(settings.city_config)
    version = _latest_or_exit(_platform(settings, read_only=True))
    today: date = as_of.date() if as_of else datetime.now(CHINA).date()
    entries = version.catalog.entries
    mounting = mounting_status(
        get_engine(settings.exchange_url),
        [(e.entry, e.counties) for e in entries.values()],
        city,
        today,
    )
    by_dataset = {key: frame for key, frame in mounting.groupby("dataset_id")}
    if as_json:
        _echo_json(
            {
                "version": version.version,
                "as_of": today.isoformat(),
                "entries": [
                    {
                        "dataset_id": key,
                        "title": e.entry.title,
                        "provider": e.entry.provider,
                        "frequency": e.entry.frequency.value,
                        "openness": e.entry.openness.value,
                        "counties": list(e.counties),
                        "differences": {c: list(v) for c, v in e.differences.items()},
                        "mounting": by_dataset[key][
                            ["county_code", "rows", "latest_period", "expected_period", "status"]
                        ].to_dict("records"),
                    }
                    for key, e in entries.items()
                ],
            }
        )
        return
    table = Table(title=f"全市资源目录 第{version.version}版（挂接情况截至 {today}）")
    for header in (
        "dataset_id",
        "数据目录名称",
        "提供方",
        "更新频率",
        "开放属性",
        "登记县区",
        "挂接",
    ):
        table.add_column(header, overflow="fold")
    names = {c.code: c.name for c in city.counties}
    departments = {d.id: d.name for d in city.departments}
    for key, e in entries.items():
        frame = by_dataset[key]
        statuses = frame.groupby("status", sort=False)["county_code"].agg(list)
        mounted = (
            f"{statuses.index[0]}（全部）"
            if len(statuses) == 1
            else "；".join(
                f"{status}：{'、'.join(names[c] for c in codes)}"
                for status, codes in statuses.items()
            )
        )
        table.add_row(
            key,
            e.entry.title,
            departments.get(e.entry.provider, e.entry.provider),
            e.entry.frequency.value,
            e.entry.openness.value,
            f"全部 {len(e.counties)} 个"
            if set(e.counties) == set(names)
            else "、".join(names.get(c, c) for c in e.counties),
            mounted,
        )
    console = _console()
    console.print(table)
    for key, e in entries.items():
        for county, lines in e.differences.items():
            console.print(f"[yellow]差异[/] {key} {names.get(county, county)}：{'；'.join(lines)}")


def _print_diff(diff: dict[str, Any]) -> None:
    from assets.catalog_sync.versions import diff_counts

    counts = diff_counts(diff)
    click.echo(
        f"条目：新增 {counts['entries_added']}，变更 {counts['entries_modified']}，"
        f"下架 {counts['entries_retired']}；信息项：新增 {counts['items_added']}，"
        f"变更 {counts['items_modified']}，下架 {counts['items_retired']}"
    )
    for key in diff["added"]:
        click.echo(f"+ {key}")
    for key in diff["retired"]:
        click.echo(f"- {key}")
    for key, change in diff["modified"].items():
        click.echo(f"~ {key}")
        for name, value in change["fields"].items():
            click.echo(f"    {name}: {value['from']} → {value['to']}")
        for column in change["items_added"]:
            click.echo(f"    + 信息项 {column}")
        for column in change["items_retired"]:
            click.echo(f"    - 信息项 {column}")
        for column, attrs in change["items_modified"].items():
            detail = "；".join(f"{a}: {v['from']} → {v['to']}" for a, v in attrs.items())
            click.echo(f"    ~ 信息项 {column}（{detail}）")
        for county in change.get("counties_added", []):
            click.echo(f"    + 登记县区 {county}")
        for county in change.get("counties_retired", []):
            click.echo(f"    - 登记县区 {county}")


@catalog.command()
@data_dir_option
@click.option(
    "--from",
    "from_version",
    type=click.IntRange(min=0),
    default=None,
    help="起始版本（0 为空目录）",
)
@click.option(
    "--to", "to_version", type=click.IntRange(min=1), default=None, help="目标版本（默认最新）"
)
@json_option
def diff(
    data_dir: Path | None, from_version: int | None, to_version: int | None, as_json: bool
) -> None:
    """两个目录版本之间的变更（默认：最新版与上一版）。"""
    from assets.catalog_sync.versions import diff_versions

    engine = _platform(Settings.load(data_dir), read_only=True)
    _latest_or_exit(engine)
    try:
        changes = diff_versions(engine, from_version, to_version)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    if as_json:
        _echo_json(changes)
    else:
        _print_diff(changes)


@catalog.command()
@data_dir_option
@as_option
@json_option
def publish(data_dir: Path | None, acting_as: str | None, as_json: bool) -> None:
    """校验登记、汇聚全市目录、生成版本并发布到运营平台，通知订阅方（市数据局、平台运维）。"""
    from assets.catalog_sync.aggregate import prohibited_datasets
    from assets.catalog_sync.cycle import run_catalog_cycle
    from assets.common.catalog import load_catalog
    from assets.common.city import load_city

    settings = Settings.load(data_dir)
    engine = _platform(settings)
    account = acting_account(engine, acting_as, "catalog.publish")
    cycle = run_catalog_cycle(
        settings.data_dir,
        engine,
        load_city(settings.city_config),
        subscribers=settings.catalog_subscribers,
        now=datetime.now(UTC),
        actor=account.name,
        actor_role=account.role,
        base_url=settings.public_base_url,
        prohibited=prohibited_datasets(load_catalog(settings.catalog_dir)),
    )
    summary = {
        "registrations": len(cycle.results),
        "rejected": [{"registration": r.key, "reasons": list(r.reasons)} for r in cycle.rejected],
        "version": cycle.version.version if cycle.version else None,
        "new_version": cycle.created,
        "counts": cycle.counts,
        "published_to": str(cycle.publication.directory) if cycle.publication else None,
        # 禁止开放 entries: in the city catalog, never in the public one
        "withheld": [e.dataset_id for e in cycle.catalog.withheld],
        "deliveries": [{"channel": d.channel, "status": d.status} for d in cycle.deliveries],
        "tickets": cycle.tickets,
    }
    if as_json:
        _echo_json(summary)
        return
    click.echo(f"登记 {len(cycle.results)} 个，退回 {len(cycle.rejected)} 个")
    for result in cycle.rejected:
        click.echo(f"  退回 {result.key}：{'；'.join(result.reasons)}")
    if cycle.version is None:
        click.echo("没有合格的登记，未生成目录版本")
    elif cycle.created:
        click.echo(f"已生成并发布第 {cycle.version.version} 版：{cycle.publication.directory}")
        _print_diff(cycle.version.diff)
        for delivery in cycle.deliveries:
            click.echo(f"  通知 {delivery.channel}：{delivery.status}")
    else:
        click.echo(f"目录无变化，仍为第 {cycle.version.version} 版")


@catalog.command()
@data_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "dcat"]),
    default="json",
    show_default=True,
    help="json：目录 JSON；dcat：DCAT JSON-LD",
)
@click.option(
    "--version", "version_number", type=click.IntRange(min=1), default=None, help="版本（默认最新）"
)
def export(data_dir: Path | None, fmt: str, version_number: int | None) -> None:
    """把公开目录（只含元数据，不含禁止开放的条目）输出到标准输出。"""
    from assets.catalog_sync.render import (
        catalog_dcat_of,
        catalog_json,
        public_diff,
        public_view,
    )
    from assets.catalog_sync.versions import get_version
    from assets.common.city import load_city

    settings = Settings.load(data_dir)
    engine = _platform(settings, read_only=True)
    latest = _latest_or_exit(engine)
    try:
        version = latest if version_number is None else get_version(engine, version_number)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    city = load_city(settings.city_config)
    view = public_view(engine, version, city, settings.public_base_url)
    if fmt == "dcat":
        document = catalog_dcat_of(version.catalog, version, view)
    else:
        before = get_version(engine, version.version - 1).snapshot if version.version > 1 else None
        document = catalog_json(
            version.catalog, version, view, public_diff(before, version.snapshot)
        )
    _echo_json(document)
