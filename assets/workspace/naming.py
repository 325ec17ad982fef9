"""Names of the database objects a merchant's workspace is made of.

- Role (cluster-wide in PostgreSQL, so it carries the database's name): ``pdm_<database>_<merchant>``,
  e.g. ``pdm_publicdata_m0001``. Two deployments on one cluster never share a role.
- Schema per grant (per database): ``grant_<grant id>``, holding one view per granted dataset, named
  like the dataset: ``grant_g0001.medical_institutions``.
"""

from __future__ import annotations

import hashlib
import re

ROLE_PREFIX = "pdm_"
SCHEMA_PREFIX = "grant_"
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


def slug(text: str, *, limit: int) -> str:
    """Lower-case ``[a-z0-9_]``; text that had to change, or is too long, gets a short hash so two
    different ids never share a name."""
    clean = re.sub(r"[^a-z0-9_]", "_", text.lower())
    if clean == text.lower() and len(clean) <= limit and clean:
        return clean
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return f"{clean[: max(limit - 7, 1)]}_{digest}"


def role_prefix(database: str) -> str:
    """The prefix of every merchant role of one database: ``pdm_<database>_``."""
    return f"{ROLE_PREFIX}{slug(database, limit=30)}_"


def role_name(prefix: str, merchant_id: str) -> str:
    return prefix + slug(merchant_id, limit=MAX_IDENTIFIER - len(prefix))


def schema_name(grant_id: str) -> str:
    return SCHEMA_PREFIX + slug(grant_id, limit=MAX_IDENTIFIER - len(SCHEMA_PREFIX))


def view_name(dataset_id: str) -> str:
    return slug(dataset_id, limit=MAX_IDENTIFIER)
