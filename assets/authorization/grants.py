"""A grant as the enforcement layer sees it (``assets/workspace`` turns live grants into database
privileges): merchant × dataset × items × period, live only while the operator's authorization, the
merchant, its signed agreement, the grant's period and the dataset's supply all hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LiveGrant:
    grant_id: str
    merchant_id: str
    dataset_id: str
    columns: tuple[str, ...]  # the granted items, as column names of ``operation_<dataset>``
    valid_from: date
    valid_to: date  # inclusive
