"""Passwords for the web portal: argon2id hashes (argon2-cffi), never the password itself."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
# argon2id at the OWASP Password Storage Cheat Sheet's first configuration (19 MiB, 2 passes, 1 lane):
# about 50 ms a hash, so the demo's ~30 accounts are made in seconds; hashes made with other
# parameters still verify, and are rehashed at the next sign-in (``needs_rehash``).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class PasswordError(ValueError):
    """A password that may not be set."""


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"口令至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if password.strip() != password:
        raise PasswordError("口令不能以空白开头或结尾")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password (about 120 bits) for a new account; shown once, never stored in clear."""
    return secrets.token_urlsafe(15)
