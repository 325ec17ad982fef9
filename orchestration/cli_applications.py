"""``publicdata applications``: data-use applications (第二十条, 第二十一条).

    publicdata applications submit --merchant M --scenario S --purpose P --method sandbox|interface|model
                                   --from DATE --to DATE --safeguards T
                                   --items DATASET:项1,项2 [--items …] [--as A] [--json]
    publicdata applications list [--merchant M] [--status S] [--json]
    publicdata applications show ID [--json]
    publicdata applications comply ID (--pass | --fail --reason R) [--as A]
    publicdata applications review ID [--department D] (--approve | --reject --reason R) [--as A]
    publicdata applications extend ID [--department D] --days N --reason R [--as A]
    publicdata applications withdraw ID [--reason R] [--as A]
    publicdata applications deem [--json]

Without ``--department`` a review is the bureau's; with it, the named source department's. ``deem`` runs
what the daily schedule runs: deemed approvals after official due dates, expiry of ended periods.
"""

from __future__ import annotations

import click

from assets.authorization import reviews
from assets.authorization.applications import (
    METHOD_LABELS,
    STATUS_LABELS,
    get_application,
    list_applications,
    submit_application,
)
from assets.authorization.grants import list_grants
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


@click.group("applications")
def applications_group() -> None:
    """数据使用申请：受理、合规核查（5 个工作日）、审核（10 个工作日，逾期视为同意）。"""


def _parse_items(values: tuple[str, ...]) -> dict[str, list[str]]:
    items: dict[str, list[str]] = {}
    for value in values:
        dataset, sep, names = value.partition(":")
        if not sep or not dataset.strip() or not names.strip():
            raise click.BadParameter(
                f"应为 数据集:信息项1,信息项2，而不是 {value!r}", param_hint="--items"
            )
        items.setdefault(dataset.strip(), []).extend(
            n.strip() for n in names.replace("，", ",").split(",") if n.strip()
        )
    return items


def _record(ctx: AccessContext, application) -> dict:
    record = application.as_record(ctx.calendar, ctx.today)
    record["grants"] = [
        {
            "grant_id": g.grant_id,
            "dataset": g.dataset_id,
            "columns": list(g.columns),
            "valid_from": g.valid_from.isoformat(),
            "valid_to": g.valid_to.isoformat(),
            "revoked": g.revoked_at is not None,
        }
        for g in list_grants(ctx.engine, application_id=application.application_id)
    ]
    return record


def _due_text(record: dict) -> str:
    if not record["due_date"]:
        return ""
    provisional = "（临时日历）" if record["due_date_provisional"] else ""
    overdue = "，已逾期" if record.get("overdue") else ""
    return f"{record['due_date']}{provisional}{overdue}"


def _show(record: dict) -> None:
    out.print(
        f"[bold]{record['application_id']}[/] 数据商 {record['merchant_id']}：{record['status_label']}"
    )
    out.print(f"  应用场景：{record['scenario']}；使用目的：{record['purpose']}")
    out.print(
        f"  使用方式：{record['method_label']}；期限 {record['period_start']} 至 {record['period_end']}"
    )
    out.print(f"  安全防护措施：{record['safeguards']}")
    for dataset, items in record["datasets"].items():
        out.print(f"  {dataset}：{'、'.join(i['item'] for i in items)}")
    if record["due_date"]:
        out.print(f"  当前期限：{_due_text(record)}")
    for r in record["reviews"]:
        reason = f"，理由：{r['reason']}" if r["reason"] else ""
        out.print(
            f"  审核 {r['label']}：{r['decision_label']}（期限 {r['due_date']}"
            f"{'，临时日历' if r['due_date_provisional'] else ''}）{reason}"
        )
    for g in record["grants"]:
        out.print(
            f"  授权 {g['grant_id']}：{g['dataset']}（{','.join(g['columns'])}）"
            f"{'，已撤销' if g['revoked'] else ''}"
        )


@applications_group.command("submit")
@data_dir_option
@click.option("--merchant", "merchant_id", required=True)
@click.option("--scenario", required=True, help="应用场景")
@click.option("--purpose", required=True, help="使用目的")
@click.option(
    "--method",
    type=click.Choice(list(METHOD_LABELS)),
    required=True,
    help="sandbox 沙箱查询 | interface 接口调用 | model 模型计算",
)
@click.option("--from", "period_start", type=a_date, required=True)
@click.option("--to", "period_end", type=a_date, required=True)
@click.option("--safeguards", required=True, help="安全防护措施")
@click.option(
    "--items",
    "item_specs",
    multiple=True,
    required=True,
    help="数据集:信息项1,信息项2（信息项名称或列名，可多次）",
)
@as_option
@json_option
@handled
def submit(
    data_dir,
    merchant_id,
    scenario,
    purpose,
    method,
    period_start,
    period_end,
    safeguards,
    item_specs,
    acting_as,
    as_json,
) -> None:
    """提交数据使用申请（受理当日起算合规核查期限）。"""
    ctx = AccessContext.load(data_dir)
    application = submit_application(
        ctx.engine,
        ctx.account(acting_as),
        ctx.catalog,
        merchant_id=merchant_id,
        scenario=scenario,
        purpose=purpose,
        method=method,
        period_start=period_start.date(),
        period_end=period_end.date(),
        safeguards=safeguards,
        items=_parse_items(item_specs),
        today=ctx.today,
    )
    record = _record(ctx, application)
    emit(
        record,
        as_json,
        lambda: out.print(
            f"已受理申请 {record['application_id']}，合规核查期限 {_due_text(record)}"
        ),
    )


@applications_group.command("list")
@data_dir_option
@click.option("--merchant", "merchant_id", default=None)
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None)
@json_option
@handled
def list_command(data_dir, merchant_id, status, as_json) -> None:
    """列出申请及其当前期限。"""
    ctx = AccessContext.load(data_dir, existing=True)
    records = [
        _record(ctx, a)
        for a in list_applications(ctx.engine, merchant_id=merchant_id, status=status)
    ]
    emit(
        {"today": ctx.today.isoformat(), "applications": records},
        as_json,
        lambda: _table(
            f"数据使用申请（{ctx.today}）",
            ["编号", "数据商", "应用场景", "数据集", "方式", "状态", "当前期限", "授权"],
            [
                [
                    r["application_id"],
                    r["merchant_id"],
                    r["scenario"],
                    "、".join(r["datasets"]),
                    r["method_label"],
                    r["status_label"],
                    _due_text(r),
                    len([g for g in r["grants"] if not g["revoked"]]),
                ]
                for r in records
            ],
        ),
    )


@applications_group.command("show")
@data_dir_option
@click.argument("application_id")
@json_option
@handled
def show(data_dir, application_id, as_json) -> None:
    """一个申请的全部信息：信息项、审核、期限、授权。"""
    ctx = AccessContext.load(data_dir, existing=True)
    record = _record(ctx, get_application(ctx.engine, application_id))
    emit(record, as_json, lambda: _show(record))


@applications_group.command("comply")
@data_dir_option
@click.argument("application_id")
@click.option("--pass/--fail", "passed", required=True, help="合规核查通过 / 未通过")
@click.option("--reason", default=None, help="未通过的理由（必填）")
@as_option
@json_option
@handled
def comply(data_dir, application_id, passed, reason, acting_as, as_json) -> None:
    """运营机构的合规核查；通过后由市数据局和各数源部门审核。"""
    ctx = AccessContext.load(data_dir, existing=True)
    application = reviews.comply(
        ctx.engine,
        ctx.account(acting_as),
        ctx.catalog,
        application_id,
        passed=passed,
        today=ctx.today,
        reason=reason,
    )
    record = _record(ctx, application)
    emit(record, as_json, lambda: _show(record))


@applications_group.command("review")
@data_dir_option
@click.argument("application_id")
@click.option(
    "--department", "department_id", default=None, help="以该数源部门审核（默认：市数据局）"
)
@click.option("--approve/--reject", required=True, help="同意 / 不同意")
@click.option("--reason", default=None, help="不同意的理由（必填）")
@as_option
@json_option
@handled
def review(data_dir, application_id, department_id, approve, reason, acting_as, as_json) -> None:
    """审核：不同意须明确列出理由；期限已过的审核已视为同意，不能再作出。"""
    ctx = AccessContext.load(data_dir, existing=True)
    application = reviews.review(
        ctx.engine,
        ctx.account(acting_as),
        ctx.catalog,
        application_id,
        reviewer="department" if department_id else "bureau",
        department_id=department_id,
        approve=approve,
        reason=reason,
        today=ctx.today,
    )
    record = _record(ctx, application)
    emit(record, as_json, lambda: _show(record))


@applications_group.command("extend")
@data_dir_option
@click.argument("application_id")
@click.option("--department", "department_id", default=None)
@click.option("--days", type=int, required=True, help="延期的工作日数（1–10）")
@click.option("--reason", required=True)
@as_option
@json_option
@handled
def extend(data_dir, application_id, department_id, days, reason, acting_as, as_json) -> None:
    """正式提出延期审核（每项审核一次，期限届满前）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    application = reviews.extend_review(
        ctx.engine,
        ctx.account(acting_as),
        application_id,
        reviewer="department" if department_id else "bureau",
        department_id=department_id,
        days=days,
        reason=reason,
        today=ctx.today,
    )
    record = _record(ctx, application)
    emit(record, as_json, lambda: _show(record))


@applications_group.command("withdraw")
@data_dir_option
@click.argument("application_id")
@click.option("--reason", default=None)
@as_option
@json_option
@handled
def withdraw(data_dir, application_id, reason, acting_as, as_json) -> None:
    """数据商撤回申请（已批准的，其授权随即撤销）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    application = reviews.withdraw(
        ctx.engine, ctx.account(acting_as), application_id, reason=reason
    )
    record = _record(ctx, application)
    emit(record, as_json, lambda: out.print(f"申请 {application_id} 已撤回"))


@applications_group.command("deem")
@data_dir_option
@json_option
@handled
def deem(data_dir, as_json) -> None:
    """按今天（PUBLICDATA_TODAY）处理期限：逾期未审核的视为同意（临时日历上的除外），期满的过期。"""
    ctx = AccessContext.load(data_dir, existing=True)
    outcome = reviews.apply_deemed_approvals(
        ctx.engine, ctx.catalog, ctx.today, calendar=ctx.calendar
    )
    record = outcome.as_record()

    def show() -> None:
        out.print(
            f"{record['today']}：视为同意 {len(record['deemed'])} 项审核，"
            f"决定 {len(record['decided'])} 个申请，过期 {len(record['expired'])} 个申请。"
        )
        for held in record["held_provisional"]:
            out.print(
                f"[yellow]暂不视为同意[/] {held['application_id']}（期限 {held['due_date']} 依据临时日历，"
                "请先加载该年放假安排：publicdata calendar load）"
            )

    emit(record, as_json, show)
