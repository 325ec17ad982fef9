"""A merchant's connection string to the PostgreSQL workspace, handed out once.

The password is random (``secrets``), shown once and kept nowhere: PostgreSQL receives only its
SCRAM-SHA-256 verifier (computed here, so not even the server's statement log sees the password), and
the platform records only who handed it out and when. A second request is refused unless it rotates:
a rotation sets a new password, and the old one stops working at once. Both are audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine, make_url

from assets.audit import log as audit
from assets.storage.engine import is_postgres
from assets.workspace import postgres
from assets.workspace.naming import role_name, role_prefix
from assets.workspace.records import credential, record_credential
from assets.workspace.sqlite import WorkspaceError

ISSUED = "workspace_credentials_issued"
ROTATED = "workspace_credentials_rotated"
SCRAM_ITERATIONS = 4096


@dataclass(frozen=True)
class IssuedCredentials:
    merchant_id: str
    role: str
    connection_string: str  # holds the password: print it once, store it nowhere
    rotations: int


def scram_sha256_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The verifier PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802 / 7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def connection_string(operation_url: str, role: str, password: str, host: str | None) -> str:
    url = make_url(operation_url)
    return url.set(
        drivername="postgresql",
        username=role,
        password=password,
        host=host or url.host or "127.0.0.1",
        query={},
    ).render_as_string(hide_password=False)


def issue_credentials(
    platform_engine: Engine,
    operation_engine: Engine,
    merchant_id: str,
    *,
    actor: str,
    actor_role: str | None = None,
    rotate: bool = False,
    host: str | None = None,
    at: datetime | None = None,
) -> IssuedCredentials:
    """Set a new random password on the merchant's role and return its connection string."""
    if not is_postgres(operation_engine):
        raise WorkspaceError(
            "嵌入式 SQLite 运营平台没有数据库账号：数据商用 "
            f'publicdata workspace sql --merchant {merchant_id} "SELECT …" 查询'
        )
    role = role_name(role_prefix(postgres.database_name(operation_engine)), merchant_id)
    exists, can_login = postgres.role_exists(operation_engine, role)
    if not (exists and can_login):
        raise WorkspaceError(
            f"数据商 {merchant_id} 没有生效中的授权（或工作区尚未同步：publicdata workspace "
            "reconcile），不能发放连接信息"
        )
    previous = credential(platform_engine, merchant_id)
    if previous is not None and not rotate:
        raise WorkspaceError(
            f"数据商 {merchant_id} 的连接信息已于 {previous.issued_at:%Y-%m-%d %H:%M} 由 "
            f"{previous.issued_by} 发放，只发放一次；如需重新发放请加 --rotate（旧密码立即失效）"
        )
    at = at or datetime.now(UTC)
    password = secrets.token_urlsafe(24)
    with platform_engine.begin() as connection:
        rotations = record_credential(
            connection, merchant_id=merchant_id, role_name=role, issued_by=actor, at=at
        )
        audit.record(
            connection,
            actor=actor,
            action=ROTATED if previous is not None else ISSUED,
            target=f"workspace/{merchant_id}",
            reason="发放运营平台工作区连接信息" + ("（轮换，旧密码失效）" if previous else ""),
            detail={"role": role, "rotations": rotations},
            at=at,
            role=actor_role,
        )
        # inside the records' transaction: a password that could not be set is not recorded
        postgres.set_password_verifier(operation_engine, role, scram_sha256_verifier(password))
    url = operation_engine.url.render_as_string(hide_password=False)
    return IssuedCredentials(
        merchant_id, role, connection_string(url, role, password, host), rotations
    )
