"""Bring the operation zone's workspace to the live grants, check what exists, run a merchant's query.

The live grants come in as a list (``assets.authorization`` computes them for a day); a grant that is
no longer live — expired, the merchant exited, the dataset's supply suspended, the operator's
authorization ended — is simply absent, and its access is removed. Every change is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from assets.audit import log as audit
from assets.authorization.grants import LiveGrant, all_merchants, live_grants
from assets.storage.engine import is_postgres
from assets.workspace import postgres, sqlite
from assets.workspace.naming import role_name, role_prefix, schema_name
from assets.workspace.plan import WorkspacePlan, plan_workspace
from assets.workspace.postgres import Change
from assets.workspace.privileges import Privilege, existing_privileges, expected_privileges
from assets.workspace.records import (
    AccessRow,
    applied_access,
    credential_holders,
    forget_credential,
    planned_access,
    sync_access,
)

POSTGRES, SQLITE = "postgresql", "sqlite"
QUERY = "workspace_query"
QUERY_DENIED = "workspace_query_denied"


# merchants that keep a database role (without login while they hold no live grant); an exited,
# refused or still pending merchant has none
ROLE_STATUSES = frozenset({"approved"})


def live_state(platform_engine: Engine, today: date) -> tuple[list[LiveGrant], list[str]]:
    """The grants live on ``today`` and the merchants that keep a role."""
    merchants = [m.merchant_id for m in all_merchants(platform_engine) if m.status in ROLE_STATUSES]
    return live_grants(platform_engine, today), merchants


def workspace_target(merchant_id: str | None, what: str = "") -> str:
    return f"workspace/{merchant_id or '-'}" + (f"/{what}" if what else "")


def backend(operation_engine: Engine) -> str:
    return POSTGRES if is_postgres(operation_engine) else SQLITE


def sqlite_path(operation_engine: Engine) -> Path:
    return Path(operation_engine.url.database or "")


def current_plan(
    operation_engine: Engine, grants: Sequence[LiveGrant], merchants: Iterable[str] = ()
) -> WorkspacePlan:
    """The workspace the live grants call for, over the operation tables as published now."""
    if is_postgres(operation_engine):
        with operation_engine.connect() as connection:
            tables = postgres.table_columns(connection)
        prefix = role_prefix(postgres.database_name(operation_engine))
    else:
        path = sqlite_path(operation_engine)
        tables = sqlite.table_columns(path) if path.exists() else {}
        prefix = ""
    return plan_workspace(grants, tables, prefix=prefix, merchants=merchants)


@dataclass
class ReconcileOutcome:
    backend: str
    plan: WorkspacePlan
    changes: list[Change] = field(default_factory=list)
    found: list[Privilege] = field(default_factory=list)  # without a live grant, before
    remaining: list[Privilege] = field(default_factory=list)  # still there after

    def metadata(self) -> dict[str, object]:
        created = [
            c for c in self.changes if c.action.endswith(("_created", "_granted", "enabled"))
        ]
        dropped = [c for c in self.changes if c not in created]
        return {
            "backend": self.backend,
            "merchants": len(self.plan.roles),
            "merchants_with_grants": len({v.merchant_id for v in self.plan.views}),
            "grants_live": len(self.plan.views) + len(self.plan.pending),
            "grants_applied": len(self.plan.views),
            "grants_pending": [f"{p.grant_id}: {p.reason}" for p in self.plan.pending],
            "objects_created": len(created),
            "objects_dropped": len(dropped),
            "changes": [c.as_record() for c in self.changes],
            "privileges_without_grant_found": [p.describe() for p in self.found],
            "privileges_without_grant_remaining": [p.describe() for p in self.remaining],
        }


def _access_changes(added: set[AccessRow], removed: set[AccessRow]) -> list[Change]:
    changes: list[Change] = []
    for action, rows in (("access_granted", added), ("access_revoked", removed)):
        by_grant: dict[tuple[str, str, str], list[str]] = {}
        for row in rows:
            by_grant.setdefault((row.merchant_id, row.grant_id, row.table_name), []).append(
                row.column_name
            )
        for (merchant_id, grant_id, table), columns in sorted(by_grant.items()):
            changes.append(
                Change(action, table, merchant_id, grant_id, {"columns": sorted(columns)})
            )
    return changes


def _attributed(
    changes: list[Change], plan: WorkspacePlan, current: set[AccessRow], holders: dict[str, str]
) -> list[Change]:
    """Name the merchant (and grant) of dropped roles and schemas, which the plan no longer knows,
    from the records of what was applied and handed out."""
    by_role = {
        role_name(plan.prefix, m): m for m in {r.merchant_id for r in current} | set(holders)
    }
    by_role |= {role: m for m, role in holders.items()}
    by_schema = {schema_name(r.grant_id): (r.merchant_id, r.grant_id) for r in current}
    out: list[Change] = []
    for change in changes:
        if change.merchant_id is None and change.target in by_role:
            change = replace(change, merchant_id=by_role[change.target])
        elif change.merchant_id is None and change.target.split(".")[0] in by_schema:
            merchant_id, grant_id = by_schema[change.target.split(".")[0]]
            change = replace(change, merchant_id=merchant_id, grant_id=grant_id)
        out.append(change)
    return out


def reconcile(
    platform_engine: Engine,
    operation_engine: Engine,
    grants: Sequence[LiveGrant],
    *,
    merchants: Iterable[str] = (),
    actor: str = audit.SYSTEM_ACTOR,
    actor_role: str | None = None,
    at: datetime | None = None,
) -> ReconcileOutcome:
    """Create and drop roles, schemas, views and privileges (PostgreSQL) or the allow-list (SQLite)
    so that exactly the live grants are usable; idempotent. ``merchants``: registered merchants that
    have not exited (their roles stay, without login, while they hold no live grant)."""
    at = at or datetime.now(UTC)
    plan = current_plan(operation_engine, grants, merchants)
    outcome = ReconcileOutcome(backend(operation_engine), plan)
    on_postgres = outcome.backend == POSTGRES
    if on_postgres:
        outcome.changes, outcome.found = postgres.apply_plan(operation_engine, plan)
        outcome.remaining = postgres.violations(operation_engine, plan)
    current = applied_access(platform_engine)
    holders = credential_holders(platform_engine)
    outcome.changes = _attributed(outcome.changes, plan, current, holders)
    with platform_engine.begin() as connection:
        added, removed = sync_access(
            connection, current, planned_access(plan, with_views=on_postgres), at
        )
        if not on_postgres:  # on SQLite the allow-list is the workspace
            outcome.changes += _access_changes(added, removed)
        for merchant_id, role in sorted(holders.items()):
            if role not in set(plan.roles.values()):  # exited: its role and password are gone
                forget_credential(connection, merchant_id)
                outcome.changes.append(Change("credentials_revoked", role, merchant_id))
        for change in outcome.changes:
            audit.record(
                connection,
                actor=actor,
                action=f"workspace_{change.action}",
                target=workspace_target(change.merchant_id, change.target),
                reason="按生效授权同步运营平台工作区",
                detail=change.as_record(),
                at=at,
                role=actor_role,
            )
    return outcome


@dataclass
class CheckOutcome:
    backend: str
    plan: WorkspacePlan
    violations: list[str]  # privileges without a live grant (the check fails on any)
    not_applied: list[str]  # live grants the workspace does not give yet (a reconcile will)
    readable: dict[str, list[str]] = field(default_factory=dict)  # SQLite: merchant → table.column

    @property
    def passed(self) -> bool:
        return not self.violations

    def description(self) -> str:
        if self.passed:
            return f"运营平台工作区权限与 {len(self.plan.views)} 项生效授权一致" + (
                f"（{len(self.not_applied)} 项尚未同步）" if self.not_applied else ""
            )
        return f"发现 {len(self.violations)} 项没有有效授权的权限: " + "；".join(self.violations)


def check_privileges(
    platform_engine: Engine,
    operation_engine: Engine,
    grants: Sequence[LiveGrant],
    *,
    merchants: Iterable[str] = (),
) -> CheckOutcome:
    """Read the privileges that exist and compare them with the live grants."""
    plan = current_plan(operation_engine, grants, merchants)
    if is_postgres(operation_engine):
        extra = postgres.violations(operation_engine, plan)
        with operation_engine.connect() as connection:
            present = set(existing_privileges(connection, plan.prefix))
        missing = sorted(p for p in expected_privileges(plan) - present if not p.effective)
        return CheckOutcome(
            POSTGRES, plan, [p.describe() for p in extra], [p.describe() for p in missing]
        )
    records = applied_access(platform_engine)
    wanted = planned_access(plan, with_views=False)
    violations = [
        f"数据商 {r.merchant_id} 的工作区允许读取 {r.table_name}.{r.column_name}"
        f"（授权 {r.grant_id}），没有对应的有效授权"
        for r in sorted(records - wanted)
    ]
    path = sqlite_path(operation_engine)
    tables = sqlite.table_columns(path) if path.exists() else {}
    readable: dict[str, list[str]] = {}
    for merchant_id in sorted({r.merchant_id for r in records | wanted}):
        allowed = enforced_allow_list(records, plan, merchant_id)
        views = {v.view: v.table for v in plan.views_of(merchant_id)}
        can_read = sqlite.probe(allowed, tables, views)
        granted = {(t, c) for t, cs in plan.allow_list(merchant_id).items() for c in cs}
        violations += [
            f"数据商 {merchant_id} 的授权器允许读取 {t}.{c}，没有对应的有效授权"
            for t, c in sorted(can_read - granted)
        ]
        readable[merchant_id] = [f"{t}.{c}" for t, c in sorted(can_read)]
    not_applied = [
        f"授权 {r.grant_id}（数据商 {r.merchant_id}）的 {r.table_name}.{r.column_name} 尚未同步"
        for r in sorted(wanted - records)
    ]
    return CheckOutcome(SQLITE, plan, violations, not_applied, readable)


def enforced_allow_list(
    records: set[AccessRow], plan: WorkspacePlan, merchant_id: str
) -> dict[str, set[str]]:
    """What the SQLite authorizer lets a merchant read: the reconciled allow-list, and only what
    the live grants still allow (a grant that lapsed since the last reconcile is denied at once)."""
    live = plan.allow_list(merchant_id)
    allowed: dict[str, set[str]] = {}
    for row in records:
        if row.merchant_id == merchant_id and row.column_name in live.get(row.table_name, set()):
            allowed.setdefault(row.table_name, set()).add(row.column_name)
    return allowed


def merchant_query(
    platform_engine: Engine,
    operation_engine: Engine,
    grants: Sequence[LiveGrant],
    merchant_id: str,
    sql: str,
    *,
    actor: str,
    actor_role: str | None = None,
    max_rows: int = 100,
    timeout_seconds: float = 60.0,
) -> sqlite.QueryResult:
    """Run a merchant's query in the SQLite workspace (audited: who, the query's fingerprint, rows
    shown, what was denied — never the values)."""
    if is_postgres(operation_engine):
        raise sqlite.WorkspaceError(
            "运营平台在 PostgreSQL 上：数据商用 publicdata workspace credentials 发放的连接串直接连接"
        )
    mine = [g for g in grants if g.merchant_id == merchant_id]
    plan = current_plan(operation_engine, mine)
    fingerprint = hashlib.sha256(sql.encode("utf-8")).hexdigest()[:16]
    detail: dict[str, object] = {"sql_sha256": fingerprint, "grants": [g.grant_id for g in mine]}
    try:
        if not mine:
            raise sqlite.WorkspaceDenied(f"数据商 {merchant_id} 没有生效中的数据使用授权")
        allowed = enforced_allow_list(
            applied_access(platform_engine, merchant_id), plan, merchant_id
        )
        if not allowed:
            raise sqlite.WorkspaceDenied(
                f"数据商 {merchant_id} 的授权尚未同步到工作区"
                "（运营平台尚无对应数据，或等待下一次同步：publicdata workspace reconcile）"
            )
        views = {v.view: v.table for v in plan.views}
        result = sqlite.run_query(
            sqlite_path(operation_engine),
            sql,
            allowed,
            views,
            max_rows=max_rows,
            timeout_seconds=timeout_seconds,
        )
    except sqlite.WorkspaceError as exc:
        with platform_engine.begin() as connection:
            audit.record(
                connection,
                actor=actor,
                action=QUERY_DENIED,
                target=workspace_target(merchant_id),
                reason=str(exc),
                detail=detail,
                role=actor_role,
            )
        raise
    with platform_engine.begin() as connection:
        audit.record(
            connection,
            actor=actor,
            action=QUERY,
            target=workspace_target(merchant_id),
            rows=len(result.rows),
            detail={**detail, "truncated": result.truncated},
            role=actor_role,
        )
    return result
