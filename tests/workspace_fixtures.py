"""Shared pieces of the workspace tests: an operation zone with two published datasets, and grants."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from assets.authorization.grants import LiveGrant
from assets.operation.writer import publish
from assets.storage.migrate import ensure_platform_schema
from assets.storage.tables import operation_table_name
from tests.test_operation_writer import _desensitized, _medical

MEDICAL = "medical_institutions"
MARKET = "market_entities"
MEDICAL_TABLE = operation_table_name(MEDICAL)
MARKET_TABLE = operation_table_name(MARKET)
GRANTED = ("institution_name", "grade", "beds", "county_code")  # not: phone, uscc, address, …
UNGRANTED = "phone"


def grant(
    grant_id: str,
    merchant_id: str,
    dataset_id: str = MEDICAL,
    columns: tuple[str, ...] = GRANTED,
) -> LiveGrant:
    return LiveGrant(
        grant_id, merchant_id, dataset_id, columns, date(2026, 1, 1), date(2026, 12, 31)
    )


def publish_zone(operation_engine: sa.Engine, platform_url: str, *, prefix: str = "医院") -> None:
    """Publish medical institutions through the zone writer, and a second operation table."""
    ensure_platform_schema(platform_url)
    publish(
        operation_engine,
        _catalog_entry(),
        _desensitized(_medical({"640502": 6, "640521": 5}, prefix=prefix)),
    )
    market = pd.DataFrame(
        {
            "entity_name": ["甲公司", "乙公司"],
            "county_code": ["640502", "640521"],
            "capital": [1, 2],
        }
    )
    market.to_sql(MARKET_TABLE, operation_engine, index=False, if_exists="replace")


def _catalog_entry():
    from tests.test_desensitize import CATALOG

    return CATALOG[MEDICAL]
