"""The embedded demo's pseudonymization key: random, generated once per data directory, owner-only.

Production passes the key through ``PUBLICDATA_PSEUDONYM_KEY`` or ``PUBLICDATA_PSEUDONYM_KEY_FILE``
(see ``orchestration/settings.py``); a fixed key in the code would let anyone recompute pseudonyms.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from assets.common.files import private_dir

KEY_BYTES = 32


def ensure_key_file(path: Path) -> Path:
    """Create ``path`` with a fresh random key (mode 0600, directory 0700) unless it exists.

    Concurrent first uses agree on one key: the key is written to a private temporary file that is then
    hard-linked into place, which fails if another process got there first.
    """
    if path.exists():
        return path
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
        with contextlib.suppress(FileExistsError):  # another process's key won
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def resolve_pseudonym_key(data_dir: Path, key: str | None, key_file: str | Path | None) -> bytes:
    """The HMAC-SM3 pseudonymization key: the configured key, else the key file, else a random key
    generated once in ``<data dir>/secrets/pseudonym.key`` (mode 0600) — right for the embedded demo
    and one machine; a deployment on several machines must configure one key for all of them."""
    from assets.desensitization.pseudonym_key import load_key

    path = Path(key_file) if key_file else None
    if not key and path is None:
        path = ensure_key_file(data_dir / "secrets" / "pseudonym.key")
    return load_key(key, path)
