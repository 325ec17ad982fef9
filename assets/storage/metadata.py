"""The one MetaData every platform-record table is declared on (``tables.py`` and its ``tables_*.py``
siblings, split only to keep files short); the migrations create them, ``tests/test_storage.py`` compares."""

from __future__ import annotations

import sqlalchemy as sa

platform_metadata = sa.MetaData()
