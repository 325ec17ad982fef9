"""Release (出域): the checked result, written to the merchant's outbox
``<data dir>/workspace/<merchant>/outbox/`` with its SM3 digest, entered in the release register
(product, application, recipient, digest, rows, approver, filing number) and, for a commercial product,
its income recorded and distributed into the ledger — all in one transaction, the file renamed into
place only after it commits, so a failed release leaves nothing in the outbox.

Every text cell is neutralized for spreadsheets (a leading ``= + - @`` becomes text), so a released CSV
opened in Excel runs no formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assets.authorization.records import china_time, fetch_all, next_id
from assets.common.city import City
from assets.common.documents import neutralize_frame
from assets.exports.intake import sm3_file
from assets.exports.sources import outbox_dir
from assets.products.fees import FeeConfig, yuan
from assets.products.ledger import LedgerLine, record_income
from assets.products.register import Product
from assets.storage.tables import operation_table_name, release_register


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells a spreadsheet would evaluate get a leading apostrophe (``assets.common.documents``)."""
    return neutralize_frame(frame)


@dataclass(frozen=True)
class Release:
    release_id: str
    export_id: str
    product_id: str
    application_id: str
    merchant_id: str
    recipient: str
    file_path: str
    sm3: str
    rows: int
    datasets: Mapping[str, list[str]]
    approved_by: str
    filing_no: str
    filed_by: str
    use: str
    price_fen: int
    released_at: datetime

    def as_record(self) -> dict[str, object]:
        return {
            "release_id": self.release_id,
            "export_id": self.export_id,
            "product_id": self.product_id,
            "application_id": self.application_id,
            "merchant_id": self.merchant_id,
            "recipient": self.recipient,
            "file_path": self.file_path,
            "sm3": self.sm3,
            "rows": self.rows,
            "datasets": dict(self.datasets),
            "approved_by": self.approved_by,
            "filing_no": self.filing_no,
            "filed_by": self.filed_by,
            "use": self.use,
            "price_fen": self.price_fen,
            "price_yuan": yuan(self.price_fen),
            "released_at": china_time(self.released_at),
        }


def write_pending(data_dir: Path, merchant_id: str, export_id: str, product_id: str, staged: Path):
    """The outbox file under a temporary name, and its final path and SM3 digest."""
    frame = neutralize(pd.read_parquet(staged))
    box = outbox_dir(data_dir, merchant_id)
    box.mkdir(parents=True, exist_ok=True)
    final = box / f"{export_id}_{product_id}.csv"
    pending = box / f".{final.name}.pending"
    frame.to_csv(pending, index=False, encoding="utf-8-sig")
    return pending, final, sm3_file(pending), len(frame)


def county_rows(operation_engine: Engine, datasets: list[str]) -> dict[str, int]:
    """Rows per county in the operation tables a release reads (the counties' contribution)."""
    totals: dict[str, int] = {}
    inspector = sa.inspect(operation_engine)
    for dataset in datasets:
        name = operation_table_name(dataset)
        if not inspector.has_table(name):
            continue
        if "county_code" not in {c["name"] for c in inspector.get_columns(name)}:
            continue
        table = sa.table(name, sa.column("county_code"))
        with operation_engine.connect() as connection:
            for code, n in connection.execute(
                sa.select(table.c.county_code, sa.func.count()).group_by(table.c.county_code)
            ):
                if code:
                    totals[str(code)] = totals.get(str(code), 0) + int(n)
    return totals


def register_release(
    connection: Connection,
    *,
    request: Mapping[str, object],
    product: Product,
    file_path: str,
    sm3: str,
    rows: int,
    filing_no: str,
    filed_by: str,
    fee_config: FeeConfig,
    city: City,
    catalog_providers: Mapping[str, str],
    counties: Mapping[str, int],
    at: datetime,
) -> tuple[str, list[LedgerLine]]:
    release_id = next_id(connection, release_register, "release_id", "r")
    datasets = dict(request["datasets"] or {})
    price = product.price_fen if product.use == "commercial" else 0
    connection.execute(
        release_register.insert().values(
            release_id=release_id,
            export_id=request["export_id"],
            product_id=product.product_id,
            application_id=request["application_id"],
            merchant_id=request["merchant_id"],
            recipient=request["recipient"],
            file_path=file_path,
            sm3=sm3,
            rows=rows,
            datasets=datasets,
            approved_by=request["reviewed_by"],
            filing_no=filing_no,
            filed_by=filed_by,
            use=product.use,
            price_fen=price,
            released_at=at,
        )
    )
    departments = list(
        dict.fromkeys(catalog_providers[d] for d in datasets if d in catalog_providers)
    )
    lines = record_income(
        connection,
        release_id=release_id,
        product=product,
        config=fee_config,
        city=city,
        county_rows=counties,
        department_ids=departments,
        at=at,
    )
    return release_id, lines


def list_releases(
    engine: Engine, *, merchant_id: str | None = None, sm3: str | None = None
) -> list[Release]:
    query = sa.select(release_register).order_by(release_register.c.id)
    if merchant_id is not None:
        query = query.where(release_register.c.merchant_id == merchant_id)
    if sm3 is not None:
        query = query.where(release_register.c.sm3 == sm3.lower())
    return [
        Release(**{k: row[k] for k in Release.__dataclass_fields__})
        for row in fetch_all(engine, query)
    ]


def trace(engine: Engine, path: Path) -> list[Release]:
    """Which release a file is: by its SM3 digest (a copy anywhere traces back)."""
    return list_releases(engine, sm3=sm3_file(path))
