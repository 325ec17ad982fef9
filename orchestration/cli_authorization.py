"""``publicdata operator | merchants | agreements``: the operating unit's authorization
(第十三条), data merchants (第十八条) and the development agreement (第十九条).

    publicdata operator authorize --unit U --agreement-no N --mode whole|domain|scenario
                                  [--domain D …] [--scenario S …] --from DATE --to DATE [--as A]
    publicdata operator list | revoke ID --reason R
    publicdata merchants register --name N --uscc C --contact P --phone T --qualification Q … [--id M]
    publicdata merchants decide ID (--approve | --refuse --reason R) | list | show ID | exit ID --reason R
    publicdata agreements draft --file F | approve V | reject V --reason R | list | show V | sign V --merchant M

Every command that changes something acts as an account (``--as``, else the account mapped to the
operating-system user), checked for its role and scope, and is written to the audit log. ``--json`` prints
one JSON object with English codes; without it, Chinese tables for people.
"""

from __future__ import annotations

from pathlib import Path

import click

from assets.authorization import agreements as agreement_domain
from assets.authorization import merchants as merchant_domain
from assets.authorization import operator as operator_domain
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

# --- operator ------------------------------------------------------------------------------------


@click.group("operator")
def operator_group() -> None:
    """授权运营单位的运营授权（第十三条）。"""


@operator_group.command("authorize")
@data_dir_option
@click.option("--unit", required=True, help="授权运营单位名称")
@click.option("--unit-uscc", default=None, help="授权运营单位统一社会信用代码")
@click.option("--agreement-no", required=True, help="授权运营协议编号")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in operator_domain.Mode]),
    required=True,
    help="whole 整体授权 | domain 分领域授权 | scenario 场景授权",
)
@click.option(
    "--domain", "domains", multiple=True, help="分领域授权的领域（目录分类的门类或业务属性）"
)
@click.option("--scenario", "scenarios", multiple=True, help="场景授权的应用场景")
@click.option("--from", "valid_from", type=a_date, required=True, help="开始日 YYYY-MM-DD")
@click.option("--to", "valid_to", type=a_date, required=True, help="结束日（含）YYYY-MM-DD")
@as_option
@json_option
@handled
def operator_authorize(
    data_dir,
    unit,
    unit_uscc,
    agreement_no,
    mode,
    domains,
    scenarios,
    valid_from,
    valid_to,
    acting_as,
    as_json,
) -> None:
    """登记市数据局与授权运营单位签订的授权运营协议。"""
    ctx = AccessContext.load(data_dir)
    authorization = operator_domain.create_authorization(
        ctx.engine,
        ctx.account(acting_as),
        unit_name=unit,
        unit_uscc=unit_uscc,
        agreement_no=agreement_no,
        mode=mode,
        domains=domains,
        scenarios=scenarios,
        valid_from=valid_from.date(),
        valid_to=valid_to.date(),
    )
    record = authorization.as_record(ctx.today)
    emit(
        record,
        as_json,
        lambda: out.print(
            f"已登记运营授权 {record['id']}：{record['unit_name']}，{record['mode_label']}，"
            f"{record['valid_from']} 至 {record['valid_to']}（{record['status_label']}）"
        ),
    )


@operator_group.command("list")
@data_dir_option
@json_option
@handled
def operator_list(data_dir, as_json) -> None:
    """列出运营授权及其状态（按 PUBLICDATA_TODAY 或今天）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    records = [a.as_record(ctx.today) for a in operator_domain.list_authorizations(ctx.engine)]
    emit(
        {"today": ctx.today.isoformat(), "authorizations": records},
        as_json,
        lambda: _table(
            f"运营授权（{ctx.today}）",
            ["编号", "授权运营单位", "协议编号", "模式", "领域/场景", "期限", "状态"],
            [
                [
                    r["id"],
                    r["unit_name"],
                    r["agreement_no"],
                    r["mode_label"],
                    "、".join(r["domains"] or r["scenarios"]) or "全部",
                    f"{r['valid_from']} 至 {r['valid_to']}",
                    r["status_label"],
                ]
                for r in records
            ],
        ),
    )


@operator_group.command("revoke")
@data_dir_option
@click.argument("authorization_id", type=int)
@click.option("--reason", required=True, help="撤销原因")
@as_option
@json_option
@handled
def operator_revoke(data_dir, authorization_id, reason, acting_as, as_json) -> None:
    """提前终止运营授权：全部数据使用权限随即失效。"""
    ctx = AccessContext.load(data_dir, existing=True)
    revoked = operator_domain.revoke_authorization(
        ctx.engine, ctx.account(acting_as), authorization_id, reason=reason
    )
    record = revoked.as_record(ctx.today)
    emit(record, as_json, lambda: out.print(f"运营授权 {authorization_id} 已撤销：{reason}"))


# --- merchants -----------------------------------------------------------------------------------


@click.group("merchants")
def merchants_group() -> None:
    """数据商进驻、核查与退出（第十八条）。"""


@merchants_group.command("register")
@data_dir_option
@click.option("--name", required=True, help="数据商名称")
@click.option("--uscc", required=True, help="统一社会信用代码（GB 32100，校验第 18 位）")
@click.option("--contact", "contact_name", required=True, help="联系人")
@click.option("--phone", "contact_phone", required=True, help="联系电话")
@click.option(
    "--qualification", "qualifications", multiple=True, required=True, help="资质材料（可多次）"
)
@click.option("--id", "merchant_id", default=None, help="数据商编号（默认自动编号 m0001…）")
@as_option
@json_option
@handled
def merchants_register(
    data_dir,
    name,
    uscc,
    contact_name,
    contact_phone,
    qualifications,
    merchant_id,
    acting_as,
    as_json,
) -> None:
    """受理数据商的进驻申请；运营机构应在 5 个工作日内作出是否注册的决定。"""
    ctx = AccessContext.load(data_dir)
    merchant = merchant_domain.register_merchant(
        ctx.engine,
        ctx.account(acting_as),
        name=name,
        uscc=uscc,
        contact_name=contact_name,
        contact_phone=contact_phone,
        qualifications=qualifications,
        today=ctx.today,
        merchant_id=merchant_id,
    )
    record = merchant.as_record(ctx.calendar)
    emit(
        record,
        as_json,
        lambda: out.print(
            f"已受理数据商 {record['merchant_id']}（{record['name']}），核查期限 {record['due_date']}"
            + ("（临时日历）" if record["due_date_provisional"] else "")
        ),
    )


@merchants_group.command("decide")
@data_dir_option
@click.argument("merchant_id")
@click.option("--approve/--refuse", required=True, help="予以注册 / 不予注册")
@click.option("--reason", default=None, help="不予注册的理由（必填）")
@as_option
@json_option
@handled
def merchants_decide(data_dir, merchant_id, approve, reason, acting_as, as_json) -> None:
    """予以注册或不予注册（后者须写明理由）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    merchant = merchant_domain.decide_merchant(
        ctx.engine, ctx.account(acting_as), merchant_id, approve=approve, reason=reason
    )
    record = merchant.as_record(ctx.calendar)
    emit(record, as_json, lambda: out.print(f"数据商 {merchant_id}：{record['status_label']}"))


def _merchant_rows(records: list[dict]) -> list[list[object]]:
    return [
        [
            r["merchant_id"],
            r["name"],
            r["uscc"],
            r["contact_phone"],
            r["status_label"],
            r["due_date"] or "",
            r.get("signed_current"),
        ]
        for r in records
    ]


def _merchant_records(ctx: AccessContext, merchants: list) -> list[dict]:
    signers = agreement_domain.signers_of_current(ctx.engine)
    return [
        {**m.as_record(ctx.calendar), "signed_current": m.merchant_id in signers} for m in merchants
    ]


@merchants_group.command("list")
@data_dir_option
@click.option("--status", type=click.Choice(list(merchant_domain.STATUS_LABELS)), default=None)
@json_option
@handled
def merchants_list(data_dir, status, as_json) -> None:
    """列出数据商（联系电话已掩码）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    records = _merchant_records(ctx, merchant_domain.list_merchants(ctx.engine, status))
    emit(
        {"merchants": records},
        as_json,
        lambda: _table(
            "数据商",
            ["编号", "名称", "统一社会信用代码", "联系电话", "状态", "核查期限", "已签现行协议"],
            _merchant_rows(records),
        ),
    )


@merchants_group.command("show")
@data_dir_option
@click.argument("merchant_id")
@json_option
@handled
def merchants_show(data_dir, merchant_id, as_json) -> None:
    """一个数据商的记录、签署的协议版本和授权。"""
    from assets.authorization.grants import list_grants

    ctx = AccessContext.load(data_dir, existing=True)
    (record,) = _merchant_records(ctx, [merchant_domain.get_merchant(ctx.engine, merchant_id)])
    record["agreements_signed"] = agreement_domain.signed_versions(ctx.engine, merchant_id)
    record["grants"] = [
        {
            "grant_id": g.grant_id,
            "application_id": g.application_id,
            "dataset": g.dataset_id,
            "columns": list(g.columns),
            "valid_from": g.valid_from.isoformat(),
            "valid_to": g.valid_to.isoformat(),
            "revoked": g.revoked_at is not None,
        }
        for g in list_grants(ctx.engine, merchant_id=merchant_id)
    ]

    def show() -> None:
        for key in ("merchant_id", "name", "uscc", "contact_name", "contact_phone", "status_label"):
            out.print(f"{key}: {record[key]}")
        out.print(f"资质材料: {'、'.join(record['qualifications'])}")
        out.print(f"已签协议版本: {[a['version'] for a in record['agreements_signed']]}")
        for grant in record["grants"]:
            state = "已撤销" if grant["revoked"] else "有效期内按条件生效"
            out.print(
                f"授权 {grant['grant_id']}: {grant['dataset']} {','.join(grant['columns'])} "
                f"{grant['valid_from']}–{grant['valid_to']}（{state}）"
            )

    emit(record, as_json, show)


@merchants_group.command("exit")
@data_dir_option
@click.argument("merchant_id")
@click.option("--reason", required=True, help="退出原因")
@as_option
@json_option
@handled
def merchants_exit(data_dir, merchant_id, reason, acting_as, as_json) -> None:
    """数据商退出：撤销全部授权，记录退出并报送市数据局，随即同步工作区（删除其角色、视图、凭据）并记录结果。"""
    from assets.authorization.records import authorize, utc_now, write_audit
    from assets.storage.engine import get_engine
    from assets.workspace.reconcile import live_state, reconcile

    ctx = AccessContext.load(data_dir, existing=True)
    account = ctx.account(acting_as)
    revoked = merchant_domain.exit_merchant(ctx.engine, account, merchant_id, reason=reason)
    # the deletion request goes to the workspace reconciler at once (not only at the next run)
    actor = authorize(ctx.engine, account, "merchants.exit", merchant_id=merchant_id)
    grants, merchants = live_state(ctx.engine, ctx.today)
    outcome = reconcile(
        ctx.engine,
        get_engine(ctx.settings.operation_url),
        grants,
        merchants=merchants,
        actor=actor.name,
        actor_role=actor.role,
    )
    deleted = [c.as_record() for c in outcome.changes if c.merchant_id == merchant_id]
    with ctx.engine.begin() as connection:
        write_audit(
            connection,
            actor,
            "merchant_exit_workspace",
            f"authorization/merchant/{merchant_id}",
            reason="数据商退出：删除其运营平台工作区对象",
            detail={"backend": outcome.backend, "deleted": deleted},
            at=utc_now(),
        )
    emit(
        {
            "merchant_id": merchant_id,
            "status": "exited",
            "grants_revoked": revoked,
            "workspace_deleted": deleted,
        },
        as_json,
        lambda: out.print(
            f"数据商 {merchant_id} 已退出，撤销授权 {len(revoked)} 项，已报送市数据局；"
            f"工作区删除 {len(deleted)} 项对象或权限。"
        ),
    )


# --- agreements ----------------------------------------------------------------------------------


@click.group("agreements")
def agreements_group() -> None:
    """公共数据开发利用格式协议（第十九条）：起草、市数据局批准、数据商签署。"""


def _version_done(ctx, version, as_json, message: str) -> None:
    current = agreement_domain.current_version(ctx.engine, version.template_code)
    record = version.as_record(current=current is not None and current.id == version.id)
    emit(record, as_json, lambda: out.print(message.format(**record)))


@agreements_group.command("draft")
@data_dir_option
@click.option(
    "--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@as_option
@json_option
@handled
def agreements_draft(data_dir, path, acting_as, as_json) -> None:
    """提交新版本格式协议（须含第十九条列明的各项条款），待市数据局批准。"""
    ctx = AccessContext.load(data_dir)
    version = agreement_domain.draft_version(
        ctx.engine, ctx.account(acting_as), path.read_text(encoding="utf-8")
    )
    _version_done(ctx, version, as_json, "已提交格式协议第 {version} 版（编号 {id}），待审核")


@agreements_group.command("approve")
@data_dir_option
@click.argument("version_id", type=int)
@as_option
@json_option
@handled
def agreements_approve(data_dir, version_id, acting_as, as_json) -> None:
    """市数据局批准一个版本：它成为现行版本，数据商须签署后授权才生效。"""
    ctx = AccessContext.load(data_dir, existing=True)
    version = agreement_domain.decide_version(
        ctx.engine, ctx.account(acting_as), version_id, approve=True
    )
    _version_done(ctx, version, as_json, "格式协议第 {version} 版已批准，为现行版本")


@agreements_group.command("reject")
@data_dir_option
@click.argument("version_id", type=int)
@click.option("--reason", required=True)
@as_option
@json_option
@handled
def agreements_reject(data_dir, version_id, reason, acting_as, as_json) -> None:
    """市数据局不批准一个版本（写明理由）。"""
    ctx = AccessContext.load(data_dir, existing=True)
    version = agreement_domain.decide_version(
        ctx.engine, ctx.account(acting_as), version_id, approve=False, reason=reason
    )
    _version_done(ctx, version, as_json, "格式协议第 {version} 版未批准")


@agreements_group.command("list")
@data_dir_option
@json_option
@handled
def agreements_list(data_dir, as_json) -> None:
    """列出格式协议的各版本。"""
    ctx = AccessContext.load(data_dir, existing=True)
    current = agreement_domain.current_version(ctx.engine)
    records = [
        v.as_record(current=current is not None and v.id == current.id)
        for v in agreement_domain.list_versions(ctx.engine)
    ]
    emit(
        {"versions": records},
        as_json,
        lambda: _table(
            agreement_domain.DEVELOPMENT_TITLE,
            ["编号", "版本", "状态", "现行", "起草", "审核", "SHA-256"],
            [
                [
                    r["id"],
                    r["version"],
                    r["status_label"],
                    "是" if r["current"] else "",
                    r["drafted_by"],
                    r["decided_by"],
                    r["sha256"][:12],
                ]
                for r in records
            ],
        ),
    )


@agreements_group.command("show")
@data_dir_option
@click.argument("version_id", type=int)
@json_option
@handled
def agreements_show(data_dir, version_id, as_json) -> None:
    """显示一个版本的全文。"""
    ctx = AccessContext.load(data_dir, existing=True)
    version = agreement_domain.get_version(ctx.engine, version_id)
    emit(version.as_record(with_body=True), as_json, lambda: out.print(version.body))


@agreements_group.command("sign")
@data_dir_option
@click.argument("version_id", type=int)
@click.option("--merchant", "merchant_id", required=True)
@as_option
@json_option
@handled
def agreements_sign(data_dir, version_id, merchant_id, acting_as, as_json) -> None:
    """数据商签署现行版本的格式协议。"""
    ctx = AccessContext.load(data_dir, existing=True)
    version = agreement_domain.sign(ctx.engine, ctx.account(acting_as), merchant_id, version_id)
    emit(
        {"merchant_id": merchant_id, "version": version.version, "version_id": version.id},
        as_json,
        lambda: out.print(f"数据商 {merchant_id} 已签署格式协议第 {version.version} 版"),
    )
