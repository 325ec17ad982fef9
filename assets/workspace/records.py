"""The workspace's platform records: the access the reconciler applied (per grant and column) and the
connection strings handed out (who, when — never a password or its hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.storage.tables import workspace_access, workspace_credentials
from assets.workspace.plan import WorkspacePlan


@dataclass(frozen=True, order=True)
class AccessRow:
    merchant_id: str
    grant_id: str
    dataset_id: str
    table_name: str
    column_name: str
    view_name: str | None = None


@dataclass(frozen=True)
class CredentialRecord:
    merchant_id: str
    role_name: str
    issued_at: datetime
    issued_by: str
    rotations: int


def planned_access(plan: WorkspacePlan, *, with_views: bool) -> set[AccessRow]:
    return {
        AccessRow(
            view.merchant_id,
            view.grant_id,
            view.dataset_id,
            view.table,
            column,
            view.qualified if with_views else None,
        )
        for view in plan.views
        for column in view.columns
    }


def applied_access(engine: Engine, merchant_id: str | None = None) -> set[AccessRow]:
    query = sa.select(
        workspace_access.c.merchant_id,
        workspace_access.c.grant_id,
        workspace_access.c.dataset_id,
        workspace_access.c.table_name,
        workspace_access.c.column_name,
        workspace_access.c.view_name,
    )
    if merchant_id is not None:
        query = query.where(workspace_access.c.merchant_id == merchant_id)
    with engine.connect() as connection:
        return {AccessRow(*row) for row in connection.execute(query).all()}


def sync_access(
    connection: Connection, current: set[AccessRow], wanted: set[AccessRow], at: datetime
) -> tuple[set[AccessRow], set[AccessRow]]:
    """Make the records ``wanted``; returns (added, removed)."""
    added, removed = wanted - current, current - wanted
    for row in sorted(removed):
        connection.execute(
            workspace_access.delete().where(
                workspace_access.c.grant_id == row.grant_id,
                workspace_access.c.column_name == row.column_name,
            )
        )
    for row in sorted(added):
        connection.execute(
            workspace_access.insert().values(
                grant_id=row.grant_id,
                column_name=row.column_name,
                merchant_id=row.merchant_id,
                dataset_id=row.dataset_id,
                table_name=row.table_name,
                view_name=row.view_name,
                applied_at=at,
            )
        )
    return added, removed


def credential(engine: Engine, merchant_id: str) -> CredentialRecord | None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.select(workspace_credentials).where(
                    workspace_credentials.c.merchant_id == merchant_id
                )
            )
            .mappings()
            .first()
        )
    return CredentialRecord(**row) if row else None


def credential_holders(engine: Engine) -> dict[str, str]:
    """merchant → role of every connection string handed out."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(workspace_credentials.c.merchant_id, workspace_credentials.c.role_name)
        ).all()
    return dict(rows)


def record_credential(
    connection: Connection, *, merchant_id: str, role_name: str, issued_by: str, at: datetime
) -> int:
    """Record a connection string handed out; returns how many times it has been rotated."""
    row = connection.execute(
        sa.select(workspace_credentials.c.rotations).where(
            workspace_credentials.c.merchant_id == merchant_id
        )
    ).first()
    values = {"role_name": role_name, "issued_at": at, "issued_by": issued_by}
    if row is None:
        connection.execute(
            workspace_credentials.insert().values(merchant_id=merchant_id, rotations=0, **values)
        )
        return 0
    rotations = int(row[0]) + 1
    connection.execute(
        workspace_credentials.update()
        .where(workspace_credentials.c.merchant_id == merchant_id)
        .values(rotations=rotations, **values)
    )
    return rotations


def forget_credential(connection: Connection, merchant_id: str) -> None:
    connection.execute(
        workspace_credentials.delete().where(workspace_credentials.c.merchant_id == merchant_id)
    )
