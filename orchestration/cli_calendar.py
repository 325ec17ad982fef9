"""``publicdata calendar``: the official working-day calendar every deadline stands on — the State
Council's yearly schedule of holidays and make-up working days (调休), one file per year.

    publicdata calendar list [--json]
    publicdata calendar load FILE [--as A] [--json]      # validated, copied to the calendar directory
    publicdata calendar due --from DATE --days N [--json]
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from orchestration.cli_access import (
    AccessContext,
    _table,
    a_date,
    as_option,
    data_dir_option,
    emit,
    handled,
    json_option,
    out,
)

# --- calendar ------------------------------------------------------------------------------------


@click.group("calendar")
def calendar_group() -> None:
    """工作日日历：国务院每年公布的放假安排与调休上班日（config/calendar/<年>.yaml）。"""


@calendar_group.command("list")
@data_dir_option
@json_option
def calendar_list(data_dir, as_json) -> None:
    """已加载正式放假安排的年份。"""
    ctx = AccessContext.load(data_dir, migrate=False)
    schedules = ctx.calendar.schedules()
    records = [
        {
            "year": y,
            "source": s.source,
            "days_off": len(s.days_off),
            "make_up_days": len(s.make_up_days),
        }
        for y, s in sorted(schedules.items())
    ]
    emit(
        {"calendar_dir": str(ctx.settings.calendar_dir), "years": records},
        as_json,
        lambda: _table(
            "正式放假安排",
            ["年份", "放假日", "调休上班日", "来源"],
            [[r["year"], r["days_off"], r["make_up_days"], r["source"]] for r in records],
        ),
    )


@calendar_group.command("load")
@data_dir_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@as_option
@json_option
@handled
def calendar_load(data_dir, path, acting_as, as_json) -> None:
    """校验一年的放假安排文件并放入日历目录（PUBLICDATA_CALENDAR_DIR，默认 config/calendar）。"""
    from assets.authorization.records import authorize, utc_now, write_audit
    from assets.common.workdays import CalendarError, load_schedule

    ctx = AccessContext.load(data_dir)
    actor = authorize(ctx.engine, ctx.account(acting_as), "calendar.load")
    try:
        schedule = load_schedule(path)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    target = Path(ctx.settings.calendar_dir) / f"{schedule.year}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    with ctx.engine.begin() as connection:
        write_audit(
            connection,
            actor,
            "calendar_load",
            f"calendar/{schedule.year}",
            reason=schedule.source,
            detail={"path": str(target), "days_off": len(schedule.days_off)},
            at=utc_now(),
        )
    emit(
        {"year": schedule.year, "path": str(target), "source": schedule.source},
        as_json,
        lambda: out.print(f"已加载 {schedule.year} 年放假安排 → {target}"),
    )


@calendar_group.command("due")
@data_dir_option
@click.option("--from", "start", type=a_date, required=True, help="起算日（不计入）")
@click.option("--days", type=int, required=True, help="工作日数")
@json_option
def calendar_due(data_dir, start, days, as_json) -> None:
    """起算日加 N 个工作日的到期日，及其是否依据临时日历。"""
    ctx = AccessContext.load(data_dir, migrate=False)
    result = ctx.calendar.due(start.date(), days)
    record = {
        "from": start.date().isoformat(),
        "days": days,
        "due_date": result.day.isoformat(),
        "due_date_provisional": result.provisional,
    }
    emit(
        record,
        as_json,
        lambda: out.print(
            f"{record['from']} 起 {days} 个工作日：{record['due_date']}"
            + ("（临时日历：该年放假安排尚未加载）" if result.provisional else "")
        ),
    )
