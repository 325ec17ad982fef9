"""What the workspace must hold for a set of live grants (pure: no database).

A grant becomes one view of its dataset's operation table selecting the granted items that the table
has (in the table's order); items the published table lacks are reported, never invented. A grant
whose dataset has no published table (not yet published, withdrawn) waits: it has no view and gives no
access. A merchant has a role while it is registered (or holds a live grant); the role may log in
only while the merchant holds at least one live grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from assets.authorization.grants import LiveGrant
from assets.storage.tables import operation_table_name
from assets.workspace.naming import role_name, schema_name, view_name


@dataclass(frozen=True)
class GrantView:
    """One grant as a view: ``schema.view`` selecting ``columns`` of ``table``, for ``role``."""

    grant_id: str
    merchant_id: str
    dataset_id: str
    role: str
    schema: str
    view: str
    table: str
    columns: tuple[str, ...]
    missing: tuple[str, ...] = ()  # granted items the published table does not have

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.view}"


@dataclass(frozen=True)
class PendingGrant:
    grant_id: str
    merchant_id: str
    dataset_id: str
    reason: str


@dataclass(frozen=True)
class WorkspacePlan:
    prefix: str
    roles: dict[str, str]  # merchant_id → role, for every merchant that keeps a role
    login: frozenset[str]  # roles that may log in (the merchant holds a live grant)
    views: tuple[GrantView, ...]
    pending: tuple[PendingGrant, ...] = field(default=())

    @property
    def merchants_with_grants(self) -> set[str]:
        return {role_merchant for role_merchant, role in self.roles.items() if role in self.login}

    def views_of(self, merchant_id: str) -> list[GrantView]:
        return [view for view in self.views if view.merchant_id == merchant_id]

    def allow_list(self, merchant_id: str) -> dict[str, set[str]]:
        """Operation table → the columns the merchant may read (the union of its grants)."""
        allowed: dict[str, set[str]] = {}
        for view in self.views_of(merchant_id):
            allowed.setdefault(view.table, set()).update(view.columns)
        return allowed


def plan_workspace(
    grants: Sequence[LiveGrant],
    table_columns: Mapping[str, Sequence[str]],
    *,
    prefix: str,
    merchants: Iterable[str] = (),
) -> WorkspacePlan:
    """``table_columns``: each published operation table's columns, by table name; ``merchants``:
    the registered merchants that have not exited (they keep a role without login)."""
    roles = {m: role_name(prefix, m) for m in merchants}
    login: set[str] = set()
    views: list[GrantView] = []
    pending: list[PendingGrant] = []
    for grant in sorted(grants, key=lambda g: (g.merchant_id, g.grant_id)):
        role = roles.setdefault(grant.merchant_id, role_name(prefix, grant.merchant_id))
        login.add(role)
        table = operation_table_name(grant.dataset_id)
        present = table_columns.get(table)
        if present is None:
            pending.append(
                PendingGrant(
                    grant.grant_id,
                    grant.merchant_id,
                    grant.dataset_id,
                    f"运营平台尚无 {table}（未发布或已撤回）",
                )
            )
            continue
        wanted = set(grant.columns)
        columns = tuple(c for c in present if c in wanted)
        missing = tuple(c for c in grant.columns if c not in set(present))
        if not columns:
            pending.append(
                PendingGrant(
                    grant.grant_id,
                    grant.merchant_id,
                    grant.dataset_id,
                    f"授权的信息项在 {table} 中都不存在: {', '.join(missing)}",
                )
            )
            continue
        views.append(
            GrantView(
                grant_id=grant.grant_id,
                merchant_id=grant.merchant_id,
                dataset_id=grant.dataset_id,
                role=role,
                schema=schema_name(grant.grant_id),
                view=view_name(grant.dataset_id),
                table=table,
                columns=columns,
                missing=missing,
            )
        )
    return WorkspacePlan(
        prefix=prefix,
        roles=roles,
        login=frozenset(login),
        views=tuple(views),
        pending=tuple(pending),
    )
