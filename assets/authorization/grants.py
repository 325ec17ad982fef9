"""A grant as the enforcement layer sees it (``assets/workspace`` turns live grants into database
privileges): merchant × dataset × items × period, live only while the operator's authorization, the
merchant, its signed agreement, the grant's period and the dataset's supply all hold.

The interface with the enforcement side is ``LiveGrant``, ``live_grants(engine, today)`` and
``all_merchants(engine)``. Ids (merchant, grant) are lowercase letters, digits and ``_``, safe inside a
database identifier.

Supply suspension (第二十七条): a suspension of the *whole dataset* stops every grant on it. A suspension
of one county's part does not stop the grant: the published version stays as the authority left it, and
with ``--withdraw`` that county's rows are removed from the operation table itself, so no grant reaches
them; the other counties' data stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.authorization.records import Actor, fetch_all, next_id, write_audit
from assets.operation.suspension import active_suspensions
from assets.storage.tables import (
    agreement_signatures,
    agreement_versions,
    grants,
    merchants,
    operator_authorizations,
)

REVOKE = "grant_revoke"
CREATE = "grant_create"


@dataclass(frozen=True)
class LiveGrant:
    grant_id: str
    merchant_id: str
    dataset_id: str
    columns: tuple[str, ...]  # the granted items, as column names of ``operation_<dataset>``
    valid_from: date
    valid_to: date  # inclusive


@dataclass(frozen=True)
class MerchantState:
    """A merchant as the enforcement side needs it: ``exited`` ones lose their database roles."""

    merchant_id: str
    name: str
    status: str  # pending | approved | refused | exited


def all_merchants(engine: Engine) -> list[MerchantState]:
    rows = fetch_all(
        engine,
        sa.select(merchants.c.merchant_id, merchants.c.name, merchants.c.status).order_by(
            merchants.c.id
        ),
    )
    return [MerchantState(r["merchant_id"], r["name"], r["status"]) for r in rows]


def _active_authorizations(connection: Connection, today: date) -> list[dict]:
    rows = connection.execute(
        sa.select(operator_authorizations).where(
            operator_authorizations.c.revoked_at.is_(None),
            operator_authorizations.c.valid_from <= today,
            operator_authorizations.c.valid_to >= today,
        )
    ).mappings()
    return [dict(row) for row in rows]


def _covered(authorizations: list[dict], domains: list[str], scenario: str) -> bool:
    for authorization in authorizations:
        mode = authorization["mode"]
        if mode == "whole":
            return True
        if mode == "domain" and set(domains) & set(authorization["domains"] or ()):
            return True
        if mode == "scenario" and scenario.strip() in (authorization["scenarios"] or ()):
            return True
    return False


def _signers_of_current(connection: Connection) -> set[str]:
    from assets.authorization.agreements import DEVELOPMENT

    current = connection.execute(
        sa.select(sa.func.max(agreement_versions.c.id)).where(
            agreement_versions.c.template_code == DEVELOPMENT,
            agreement_versions.c.status == "approved",
            agreement_versions.c.version
            == sa.select(sa.func.max(agreement_versions.c.version))
            .where(
                agreement_versions.c.template_code == DEVELOPMENT,
                agreement_versions.c.status == "approved",
            )
            .scalar_subquery(),
        )
    ).scalar_one()
    if current is None:
        return set()
    return set(
        connection.execute(
            sa.select(agreement_signatures.c.merchant_id).where(
                agreement_signatures.c.version_id == current
            )
        ).scalars()
    )


def live_grants(engine: Engine, today: date) -> list[LiveGrant]:
    """The grants in force on ``today`` (China date): every condition of the measures holds."""
    with engine.connect() as connection:
        authorizations = _active_authorizations(connection, today)
        if not authorizations:
            return []
        signers = _signers_of_current(connection)
        if not signers:
            return []
        approved = set(
            connection.execute(
                sa.select(merchants.c.merchant_id).where(merchants.c.status == "approved")
            ).scalars()
        )
        rows = connection.execute(
            sa.select(grants)
            .where(
                grants.c.revoked_at.is_(None),
                grants.c.valid_from <= today,
                grants.c.valid_to >= today,
                grants.c.merchant_id.in_(sorted(signers & approved)),
            )
            .order_by(grants.c.id)
        ).mappings()
        candidates = [dict(row) for row in rows]
    suspended = {s.dataset_id for s in active_suspensions(engine) if s.county_code is None}
    return [
        LiveGrant(
            grant_id=row["grant_id"],
            merchant_id=row["merchant_id"],
            dataset_id=row["dataset_id"],
            columns=tuple(row["columns"]),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
        )
        for row in candidates
        if row["dataset_id"] not in suspended
        and _covered(authorizations, list(row["domains"] or ()), row["scenario"])
    ]


@dataclass(frozen=True)
class GrantRecord:
    grant_id: str
    application_id: str
    merchant_id: str
    dataset_id: str
    columns: tuple[str, ...]
    scenario: str
    valid_from: date
    valid_to: date
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str | None


def list_grants(
    engine: Engine, *, merchant_id: str | None = None, application_id: str | None = None
) -> list[GrantRecord]:
    query = sa.select(grants).order_by(grants.c.id)
    if merchant_id is not None:
        query = query.where(grants.c.merchant_id == merchant_id)
    if application_id is not None:
        query = query.where(grants.c.application_id == application_id)
    out = []
    for row in fetch_all(engine, query):
        values = {k: row[k] for k in GrantRecord.__dataclass_fields__}
        values["columns"] = tuple(row["columns"])
        out.append(GrantRecord(**values))
    return out


def create_grant(
    connection: Connection,
    actor: Actor,
    *,
    application_id: str,
    merchant_id: str,
    dataset_id: str,
    columns: tuple[str, ...],
    domains: tuple[str, ...],
    scenario: str,
    valid_from: date,
    valid_to: date,
    at: datetime,
) -> str:
    """A grant row, in the caller's transaction (the approval that makes it), audited."""
    grant_id = next_id(connection, grants, "grant_id", "g")
    connection.execute(
        grants.insert().values(
            grant_id=grant_id,
            application_id=application_id,
            merchant_id=merchant_id,
            dataset_id=dataset_id,
            columns=list(columns),
            scenario=scenario,
            domains=list(domains),
            valid_from=valid_from,
            valid_to=valid_to,
            created_by=actor.name,
            created_at=at,
        )
    )
    write_audit(
        connection,
        actor,
        CREATE,
        f"authorization/grant/{grant_id}",
        detail={
            "application": application_id,
            "merchant": merchant_id,
            "dataset": dataset_id,
            "columns": list(columns),
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat(),
        },
        at=at,
    )
    return grant_id


def revoke_grants(
    connection: Connection,
    actor: Actor,
    *,
    reason: str,
    at: datetime,
    merchant_id: str | None = None,
    application_id: str | None = None,
) -> list[str]:
    """Revoke the unrevoked grants of a merchant or of an application, in the caller's transaction."""
    if merchant_id is None and application_id is None:
        raise ValueError("revoke_grants needs a merchant or an application")
    conditions = [grants.c.revoked_at.is_(None)]
    if merchant_id is not None:
        conditions.append(grants.c.merchant_id == merchant_id)
    if application_id is not None:
        conditions.append(grants.c.application_id == application_id)
    ids = list(
        connection.execute(sa.select(grants.c.grant_id).where(*conditions).order_by(grants.c.id))
        .scalars()
        .all()
    )
    if ids:
        connection.execute(
            grants.update()
            .where(grants.c.grant_id.in_(ids))
            .values(revoked_by=actor.name, revoked_at=at, revoke_reason=reason)
        )
    for grant_id in ids:
        write_audit(
            connection, actor, REVOKE, f"authorization/grant/{grant_id}", reason=reason, at=at
        )
    return ids
