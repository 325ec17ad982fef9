"""`publicdata`: generate demo deliveries, run the pipeline, open the UI.

Every command takes --data-dir (else PUBLICDATA_HOME, else ./data). Progress goes to stderr; with --json,
stdout carries exactly one JSON object.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table

from orchestration.cli_generate import _with, generate_options
from orchestration.memory import paused_while_importing
from orchestration.settings import Settings

err = Console(stderr=True)
# piped output (CI logs, files) gets room for the Chinese table columns instead of rich's 80
out = Console() if sys.stdout.isatty() else Console(width=140)

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)


def _progress(console: Console | None = None) -> Progress:
    """The progress line: a spinner that keeps turning during long stages (governance takes a while
    after the last file), and the current file or stage folded onto further lines rather than cut
    at the terminal's width."""
    from orchestration.progress_line import still_while_forking

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn(
            "{task.fields[item]}",
            markup=False,
            table_column=Column(no_wrap=False, overflow="fold", ratio=1),
        ),
        console=console or err,
        transient=False,
        expand=True,
    )
    still_while_forking(progress.live)  # workers are forked while it turns
    return progress


# The command groups of their own modules, imported only when named (or listed by --help): each
# imports its part of the platform, and importing all of them cost every command 0.6 s — a fifth of
# an unchanged `publicdata run`.
GROUPS = {
    "accounts": "orchestration.cli_accounts:accounts",
    "agreements": "orchestration.cli_authorization:agreements_group",
    "applications": "orchestration.cli_applications:applications_group",
    "audit": "orchestration.cli_audit:audit",
    "calendar": "orchestration.cli_calendar:calendar_group",
    "catalog": "orchestration.cli_catalog:catalog",
    "classify": "orchestration.cli_operation:classify",
    "exports": "orchestration.cli_exports:exports",
    "incidents": "orchestration.cli_security:incidents",
    "ingest": "orchestration.cli_ingest:ingest",
    "merchants": "orchestration.cli_authorization:merchants_group",
    "operator": "orchestration.cli_authorization:operator_group",
    "portal": "orchestration.cli_portal:portal",
    "products": "orchestration.cli_exports:products",
    "risk": "orchestration.cli_security:risk",
    "supply": "orchestration.cli_operation:supply",
    "tickets": "orchestration.cli_tickets:tickets",
    "workspace": "orchestration.cli_workspace:workspace",
}


class _Commands(click.Group):
    """Turns the failures a person can fix into one line on stderr and a non-zero exit: a database
    that cannot be reached or vanished, a data directory another command holds. The groups of
    :data:`GROUPS` are imported when first named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in GROUPS and cmd_name not in self.commands:
            module, name = GROUPS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        import sqlalchemy as sa

        from assets.storage.engine import one_line_error
        from orchestration.locking import BUSY_EXIT_CODE, DataDirBusy

        try:
            return super().invoke(ctx)
        except DataDirBusy as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(BUSY_EXIT_CODE)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise click.ClickException(f"数据库不可用：{one_line_error(exc)}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise click.ClickException(f"数据库出错：{one_line_error(exc)}") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="publicdata", prog_name="publicdata", message="%(prog)s %(version)s"
)
def main() -> None:
    """中卫市公共数据资源授权运营 — public-data authorized operation pipeline."""
    from assets.common.files import private_umask

    private_umask()  # raw data, records and secrets this command creates are owner-only


def _generate(
    settings: Settings,
    rows: int,
    seed: int,
    as_of: date | None,
    defect_rate: float,
    periods: int,
    shapes: tuple[str, ...] = (),
):
    from assets.common.catalog import load_catalog
    from assets.common.city import load_city
    from assets.landing.generator import generate

    catalog = load_catalog(settings.catalog_dir)
    city = load_city(settings.city_config)
    with _progress() as progress:
        task = progress.add_task("generate", total=rows, item="")

        def on_file(label: str, written: int) -> None:
            progress.update(task, advance=written, item=label)

        manifest = generate(
            settings.data_dir,
            rows=rows,
            seed=seed,
            city=city,
            catalog=catalog,
            as_of=as_of,
            defect_rate=defect_rate,
            periods=periods,
            progress=on_file,
            shapes=shapes,
        )
    return manifest


@main.command()
@data_dir_option
@_with(generate_options)
def generate(
    data_dir: Path | None, rows: int, seed: int, as_of, defect_rate: float, periods: int, shapes
) -> None:
    """生成合成的演示交付文件（含已知缺陷和真值清单）。"""
    from orchestration.locking import exclusive_data_dir

    settings = Settings.load(data_dir)
    with exclusive_data_dir(settings.data_dir):
        day = as_of.date() if as_of else None
        manifest = _generate(settings, rows, seed, day, defect_rate, periods, shapes)
    err.print(
        f"[green]已生成[/] {len(manifest.files)} 个文件，{sum(f.rows for f in manifest.files)} 行，"
        f"{len(manifest.defects)} 个注入缺陷 → {settings.landing_dir}"
    )


def _check_key(settings: Settings) -> None:
    """A configured pseudonymization key that is too weak stops the run before anything is read."""
    from assets.desensitization.pseudonym_key import PseudonymKeyError

    try:
        settings.pseudonym_key_bytes()
    except PseudonymKeyError as exc:
        raise click.ClickException(f"假名化密钥不可用：{exc}") from None


def _run_pipeline(settings: Settings, force: bool):
    from orchestration.runner import run_pipeline

    with _progress() as progress:
        task = progress.add_task("pipeline", total=None, item="")

        def on_partition(label: str, done: int, total: int) -> None:
            progress.update(task, total=total, completed=done, item=label)

        return run_pipeline(settings, progress=on_partition, force=force)


def _run(
    settings: Settings,
    as_json: bool,
    after_pipeline: Callable[[], object] | None = None,
    force: bool = False,
) -> int:
    """Run, print the summary; 0 when the pipeline ran, 1 when part of the summary could not be
    built (a database lost mid-run: what could be reported is printed, then the reason)."""
    from orchestration.locking import exclusive_data_dir
    from orchestration.unchanged import unchanged_report

    with exclusive_data_dir(settings.data_dir):
        _check_key(settings)
        # nothing changed since the last run's witness: decided without Dagster, nothing written
        with paused_while_importing():  # the collector waits for the first run's freeze
            report = None if force else unchanged_report(settings)
            report = report or _run_pipeline(settings, force)
        if after_pipeline is not None:
            after_pipeline()
        summary = report.summary()
    from assets.common.files import printable

    # file names that are not UTF-8 are shown escaped: the output always parses
    summary = printable(summary)
    if as_json:
        text = json.dumps(summary, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write(text + "\n")
    else:
        _print_summary(summary, settings)
    for problem in summary["errors"]:
        click.echo(f"错误：汇总“{problem['section']}”无法生成：{problem['error']}", err=True)
    return 1 if summary["errors"] else 0


def _print_summary(summary: dict, settings: Settings) -> None:
    from assets.common.catalog import load_catalog
    from assets.common.city import load_city

    titles = {ds: entry.title for ds, entry in load_catalog(settings.catalog_dir).items()}
    counties = {c.code: c.name for c in load_city(settings.city_config).counties}
    table = Table(title="交付文件入库情况", show_lines=False)
    for column in ("数据集", "县区", "文件", "读取", "入库", "拒收", "拒收文件"):
        table.add_column(
            column,
            justify="right" if column in ("文件", "读取", "入库", "拒收", "拒收文件") else "left",
        )
    by_key: dict[tuple[str, str], dict[str, int]] = {}
    for record in summary["files"]:
        key = (record["dataset"], record["county"])
        agg = by_key.setdefault(
            key, {"files": 0, "read": 0, "loaded": 0, "rejected": 0, "files_rejected": 0}
        )
        agg["files"] += 1
        agg["read"] += record["rows_read"]
        agg["loaded"] += record["rows_loaded"]
        agg["rejected"] += record["rows_rejected"]
        agg["files_rejected"] += record["status"] != "loaded"
    for (dataset, county), agg in sorted(by_key.items()):
        table.add_row(
            titles.get(dataset, dataset),
            f"{counties.get(county, '')} {county}",
            *(str(agg[k]) for k in ("files", "read", "loaded", "rejected", "files_rejected")),
        )
    out.print(table)
    for record in summary["files"]:
        if record["status"] == "held":
            out.print(f"[yellow]暂缓替换（待确认）[/] {record['path']}: {record['reason']}")
        elif record["status"] != "loaded":
            out.print(f"[red]整文件拒收[/] {record['path']}: {record['reason']}")
    for item in summary["unrecognized_files"]:
        out.print(f"[yellow]不符合交付约定[/] {item['path']}: {item['reason']}")
    total = summary["totals"]["all"]
    out.print(
        f"合计 {total['files']} 个文件：读取 {total['rows_read']} 行 = 入库 {total['rows_loaded']} + "
        f"拒收 {total['rows_rejected']} + 跳过 {total.get('rows_skipped', 0)}（标题行、合计行）；"
        f"整文件拒收 {total['files_rejected']} 个。"
    )
    for record in summary["files"]:  # a notice, not a defect: no ticket
        if record.get("extra_columns"):
            out.print(
                f"[yellow]提示[/] {record['path']}: 目录未列的列未入库："
                f"{'、'.join(record['extra_columns'])}"
            )
    from orchestration.incremental import incremental_line

    out.print(incremental_line(summary["runs"]))
    _print_operation(summary.get("operation"), titles)
    _print_quality(summary.get("quality"))
    _print_catalog(summary.get("catalog"), titles, counties)
    _print_applications(summary.get("operation_applications"), titles)
    for failure in summary["runs"]["failed"]:
        out.print(
            f"[red]运行失败[/] {failure.get('path') or failure.get('job')}: {failure['error']}"
        )
    out.print("数据区：")
    for zone, url in summary["zones"].items():
        out.print(f"  {zone:9s} {url}")
    out.print(
        f"Dagster UI: [bold]make ui[/]（或 publicdata ui --data-dir {summary['data_dir']}），浏览器打开 http://127.0.0.1:3000"
    )


def _print_operation(operation: dict | None, titles: dict[str, str]) -> None:
    if not operation:
        return
    table = Table(title="治理与运营平台供给（可用不可见）")
    for column in ("数据集", "入", "治理后", "隔离", "重复", "发布", "k", "抑制", "状态"):
        table.add_column(column, justify="left" if column in ("数据集", "状态") else "right")
    status_names = {
        "published": "已发布",
        "prohibited": "禁止开放",
        "suspended": "暂停供给",
    }
    for dataset_id, row in operation["datasets"].items():
        table.add_row(
            titles.get(dataset_id, dataset_id),
            *(str(row.get(k, "")) for k in ("rows_in", "governed", "quarantined", "duplicates")),
            str(row.get("published", 0)),
            "-" if row.get("k") is None else str(row["k"]),
            str(row.get("suppressed", 0)),
            status_names.get(row.get("status", ""), row.get("status", "")),
        )
    out.print(table)


def _print_quality(quality: dict | None) -> None:
    if not quality:
        return
    counts = {
        k: len(quality.get(k, [])) for k in ("opened", "reopened", "updated", "closed", "escalated")
    }
    out.print(
        f"质量工单：新开 {counts['opened']}，重开 {counts['reopened']}，更新 {counts['updated']}，"
        f"验证关闭 {counts['closed']}，升级 {counts['escalated']}；当前未关闭 {quality.get('open', 0)} 张"
        "（publicdata tickets list 查看）。"
    )


def _print_catalog(catalog: dict | None, titles: dict[str, str], counties: dict[str, str]) -> None:
    if not catalog:
        return
    state = "新版本" if catalog.get("new_version") else "无变化"
    out.print(
        f"资源目录：第 {catalog.get('version')} 版（{state}），发布 {catalog.get('published_entries')} 条，"
        f"不公开 {catalog.get('withheld_entries')} 条。"
    )
    for dataset_id, late in (catalog.get("late_counties") or {}).items():
        names = "、".join(counties.get(c, c) for c in late)
        out.print(f"[yellow]未按更新频率交付[/] {titles.get(dataset_id, dataset_id)}: {names}")


def _print_applications(section: dict | None, titles: dict[str, str]) -> None:
    if not section or not (section["applications"] or section["operator_authorization"]):
        return
    active = section["operator_authorization"]
    state = "、".join(
        f"{a['agreement_no']}（{a['mode_label']}，至 {a['valid_to']}）" for a in active
    )
    out.print(f"运营授权：{state or '无生效中的授权（不受理申请、不授予权限）'}")
    for app in section["applications"]:
        due = f"，期限 {app['due_date']}" if app["due_date"] else ""
        provisional = "（临时日历）" if app["due_date_provisional"] else ""
        names = "、".join(titles.get(d, d) for d in app["datasets"])
        out.print(
            f"  申请 {app['application_id']}（{app['merchant_id']}，{names}）：{app['status_label']}"
            f"{due}{provisional}；生效授权 {len(app['live_grants'])} 项"
        )
    out.print("（publicdata applications list / show 查看，publicdata merchants list 查看数据商）")


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="在 stdout 输出一个 JSON 对象")
@click.option("--force", is_flag=True, help="内容未变化的交付也重新入库，全部数据集重新治理和供给")
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=None,
    help="并行的工作进程数（默认 PUBLICDATA_PARALLEL，否则每个 CPU 一个；1 = 逐个运行）",
)
def run(data_dir: Path | None, as_json: bool, force: bool, parallel: int | None) -> None:
    """对 landing/ 中的交付文件运行整条流水线（内容未变化的分区和数据集跳过，--force 全部重算）。"""
    overrides = {} if parallel is None else {"parallel": parallel}
    settings = Settings.load(data_dir, **overrides)
    if not settings.landing_dir.is_dir():
        raise click.ClickException(
            f"没有 landing 目录: {settings.landing_dir}（先运行 publicdata generate 或放入交付文件）"
        )
    sys.exit(_run(settings, as_json, force=force))


@main.command()
@data_dir_option
@_with(generate_options)
@click.option("--json", "as_json", is_flag=True, help="在 stdout 输出一个 JSON 对象")
def demo(
    data_dir: Path | None,
    rows: int,
    seed: int,
    as_of,
    defect_rate: float,
    periods: int,
    shapes: tuple[str, ...],
    as_json: bool,
) -> None:
    """生成演示数据，然后运行整条流水线。"""
    from orchestration.locking import exclusive_data_dir

    settings = Settings.load(data_dir)
    from orchestration.stages.authorization import create_demo

    with exclusive_data_dir(settings.data_dir):
        _check_key(settings)
        day = as_of.date() if as_of else None
        _generate(settings, rows, seed, day, defect_rate, periods, shapes)
        _demo_accounts(settings)
        code = _run(settings, as_json, after_pipeline=lambda: create_demo(settings))
    sys.exit(code)


def _demo_accounts(settings: Settings) -> None:
    """One account per role and scope, random passwords in <data dir>/secrets/demo_accounts.txt."""
    from assets.accounts.demo import ensure_demo_accounts
    from assets.common.city import load_city
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    ensure_platform_schema(settings.platform_url)
    secrets_file = settings.data_dir / "secrets" / "demo_accounts.txt"
    created = ensure_demo_accounts(
        get_engine(settings.platform_url), load_city(settings.city_config), secrets_file
    )
    if created:
        err.print(
            f"[yellow]已建立 {len(created)} 个演示账号[/]，口令见 {secrets_file}（仅供演示，请修改口令）"
        )


@main.command()
@data_dir_option
@click.option("--port", type=int, default=3000, show_default=True)
def ui(data_dir: Path | None, port: int) -> None:
    """在同一数据目录上打开 Dagster UI（webserver 和 daemon）。"""
    settings = Settings.load(data_dir)
    from orchestration.runner import dagster_instance

    dagster_instance(settings)  # make sure the instance config exists
    env = {
        **os.environ,
        "DAGSTER_HOME": str(settings.dagster_home),
        "PUBLICDATA_HOME": str(settings.data_dir),
    }
    dagster = Path(sys.executable).with_name("dagster")
    args = [
        str(dagster),
        "dev",
        "-m",
        "orchestration.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    err.print(f"Dagster UI: http://127.0.0.1:{port}  (DAGSTER_HOME={settings.dagster_home})")
    os.execve(str(dagster), args, env)


def entry() -> None:
    """The ``publicdata`` command: :func:`main`, then the process ends without the interpreter's
    teardown (``orchestration/exiting.py``; the exit handlers still run)."""
    from orchestration.exiting import exit_code, exit_now
    from orchestration.memory import freeze_between_runs

    freeze_between_runs()  # one command, then the process ends: its runs' survivors are frozen
    try:
        main()  # click's standalone mode always ends in SystemExit
    except SystemExit as exc:
        exit_now(exit_code(exc.code))


if __name__ == "__main__":
    entry()
