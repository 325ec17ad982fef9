"""``publicdata incidents`` and ``publicdata risk``: the security incident register and risk
assessments (第二十七条, 第二十九条).

    publicdata incidents open --level L --title T --description D [--dataset X …] [--merchant M …]
                              [--withdraw] [--as ACCOUNT] [--json]
    publicdata incidents list [--status open|fixed|closed|active] [--json]
    publicdata incidents fix ID --fix TEXT [--as ACCOUNT]
    publicdata incidents close ID [--comment TEXT] [--as ACCOUNT]
    publicdata risk record --kind dataset|product --subject S --level low|medium|high
                           --conclusion acceptable|conditional|unacceptable --findings TEXT
                           [--measures TEXT] [--as ACCOUNT] [--json]
    publicdata risk list [--kind K] [--subject S] [--json]

Opening a 重大 or 特别重大 incident suspends the supply of every affected dataset at once; such a
suspension resumes (``publicdata supply resume``, the bureau) only after ``incidents fix``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestration.cli_accounts import acting_account, as_option
from orchestration.settings import Settings

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
_json = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出 JSON")


def _engines(data_dir: Path | None):
    from assets.storage.engine import get_engine
    from assets.storage.migrate import ensure_platform_schema

    settings = Settings.load(data_dir)
    ensure_platform_schema(settings.platform_url)
    return settings, get_engine(settings.platform_url), get_engine(settings.operation_url)


def _echo(record: object, as_json: bool, message: str) -> None:
    click.echo(json.dumps(record, ensure_ascii=False, indent=2) if as_json else message)


@click.group()
def incidents() -> None:
    """安全事件登记、处置、整改和关闭（第二十七条）。"""


@incidents.command(name="open")
@_data_dir
@click.option(
    "--level",
    required=True,
    help="级别：general 一般 / significant 较大 / major 重大 / critical 特别重大",
)
@click.option("--title", required=True, help="事件名称")
@click.option("--description", required=True, help="事件描述")
@click.option("--dataset", "datasets", multiple=True, help="受影响的数据集（可多次）")
@click.option("--merchant", "merchants", multiple=True, help="涉及的数据商（可多次）")
@click.option("--withdraw", is_flag=True, help="重大及以上：同时撤回已发布的版本")
@as_option
@_json
def open_command(
    data_dir: Path | None,
    level: str,
    title: str,
    description: str,
    datasets: tuple[str, ...],
    merchants: tuple[str, ...],
    withdraw: bool,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """登记安全事件；重大及以上立即暂停受影响数据集的供给。"""
    from assets.common.catalog import load_catalog
    from assets.security.incidents import IncidentError, open_incident

    settings, platform, operation = _engines(data_dir)
    known = load_catalog(settings.catalog_dir)
    unknown = [d for d in datasets if d not in known]
    if unknown:
        raise click.BadParameter(
            f"目录中没有数据集 {', '.join(unknown)}（可选: {', '.join(sorted(known))}）",
            param_hint="--dataset",
        )
    account = acting_account(platform, acting_as, "incidents.open")
    try:
        incident = open_incident(
            platform,
            operation,
            level=level,
            title=title,
            description=description,
            datasets=datasets,
            merchants=merchants,
            actor=account.name,
            role=account.role,
            withdraw_published=withdraw,
        )
    except (IncidentError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    message = f"已登记{incident.level.label}安全事件 {incident.id}：{incident.title}"
    if incident.suspension_ids:
        message += (
            f"\n已立即暂停供给：{'、'.join(incident.datasets)}"
            f"（暂停编号 {', '.join(map(str, incident.suspension_ids))}；登记整改后方可恢复）"
        )
    _echo(incident.as_record(), as_json, message)


@incidents.command(name="list")
@_data_dir
@click.option(
    "--status",
    type=click.Choice(["open", "fixed", "closed", "active"]),
    default=None,
    help="active 为未关闭的",
)
@_json
def list_command(data_dir: Path | None, status: str | None, as_json: bool) -> None:
    """列出安全事件。"""
    from assets.security.incidents import list_incidents

    _, platform, _ = _engines(data_dir)
    found = list_incidents(platform, status=status)
    if as_json:
        click.echo(json.dumps([i.as_record() for i in found], ensure_ascii=False, indent=2))
        return
    for i in found:
        record = i.as_record()
        click.echo(
            f"{i.id}  {i.level.label:<4}  {record['status_label']}  {i.title}  "
            f"数据集 {'、'.join(i.datasets) or '-'}  数据商 {'、'.join(i.merchants) or '-'}"
        )
    click.echo(f"共 {len(found)} 个安全事件。")


@incidents.command()
@_data_dir
@click.argument("incident_id")
@click.option("--fix", "fix_text", required=True, help="整改情况")
@as_option
def fix(data_dir: Path | None, incident_id: str, fix_text: str, acting_as: str | None) -> None:
    """登记整改情况；此后市数据局可恢复因本事件暂停的供给。"""
    from assets.security.incidents import IncidentError, record_fix

    _, platform, _ = _engines(data_dir)
    account = acting_account(platform, acting_as, "incidents.fix")
    try:
        incident = record_fix(
            platform, incident_id, fix=fix_text, actor=account.name, role=account.role
        )
    except (IncidentError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{incident.id} 已登记整改情况。")
    if incident.suspension_ids:
        click.echo(
            "可恢复供给：publicdata supply resume --dataset … --reason … --as <市数据局账号>"
        )


@incidents.command()
@_data_dir
@click.argument("incident_id")
@click.option("--comment", default=None, help="备注")
@as_option
def close(
    data_dir: Path | None, incident_id: str, comment: str | None, acting_as: str | None
) -> None:
    """关闭已整改的安全事件。"""
    from assets.security.incidents import IncidentError, close_incident

    _, platform, _ = _engines(data_dir)
    account = acting_account(platform, acting_as, "incidents.close")
    try:
        incident = close_incident(
            platform, incident_id, actor=account.name, role=account.role, comment=comment
        )
    except IncidentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{incident.id} 已关闭。")


@click.group()
def risk() -> None:
    """数据集和数据产品的风险评估（第二十七条）。"""


@risk.command()
@_data_dir
@click.option("--kind", type=click.Choice(["dataset", "product"]), required=True)
@click.option("--subject", required=True, help="数据集编号或产品编号")
@click.option("--level", type=click.Choice(["low", "medium", "high"]), required=True)
@click.option(
    "--conclusion", type=click.Choice(["acceptable", "conditional", "unacceptable"]), required=True
)
@click.option("--findings", required=True, help="评估发现")
@click.option("--measures", default=None, help="处置措施")
@as_option
@_json
def record(
    data_dir: Path | None,
    kind: str,
    subject: str,
    level: str,
    conclusion: str,
    findings: str,
    measures: str | None,
    acting_as: str | None,
    as_json: bool,
) -> None:
    """登记一次风险评估及其结论。"""
    from assets.security.risk import RiskError, record_assessment

    settings, platform, _ = _engines(data_dir)
    if kind == "dataset":
        from assets.common.catalog import load_catalog

        if subject not in load_catalog(settings.catalog_dir):
            raise click.BadParameter(f"目录中没有数据集 {subject}", param_hint="--subject")
    account = acting_account(platform, acting_as, "risk.record")
    try:
        assessment = record_assessment(
            platform,
            subject_kind=kind,
            subject_id=subject,
            risk_level=level,
            conclusion=conclusion,
            findings=findings,
            measures=measures,
            actor=account.name,
            role=account.role,
        )
    except RiskError as exc:
        raise click.ClickException(str(exc)) from exc
    row = assessment.as_record()
    _echo(row, as_json, f"已登记风险评估 #{assessment.id}：{subject} {row['conclusion_label']}")


@risk.command(name="list")
@_data_dir
@click.option("--kind", type=click.Choice(["dataset", "product"]), default=None)
@click.option("--subject", default=None)
@_json
def list_risk(data_dir: Path | None, kind: str | None, subject: str | None, as_json: bool) -> None:
    """列出风险评估。"""
    from assets.security.risk import list_assessments

    _, platform, _ = _engines(data_dir)
    found = list_assessments(platform, subject_kind=kind, subject_id=subject)
    if as_json:
        click.echo(json.dumps([a.as_record() for a in found], ensure_ascii=False, indent=2))
        return
    for a in found:
        row = a.as_record()
        click.echo(
            f"#{a.id}  {row['assessed_at'][:10]}  {a.subject_kind}/{a.subject_id}  "
            f"风险{row['risk_level_label']}  {row['conclusion_label']}  {a.findings}"
        )
    click.echo(f"共 {len(found)} 次评估。")
