"""An office's own ticket report for download: only the tickets of the signed-in office's scope (its
county and department), as XLSX or HTML.

The sheet is the department report's (:mod:`assets.tickets.reports`): the same columns, dates as Excel
dates, widths, neutralized values (no cell becomes a formula or a link) and guide; the HTML goes
through the portal's autoescaping templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from assets.common.catalog import CatalogEntry
from assets.tickets import reports
from assets.tickets.reports import COLUMNS, example_text, item_names
from assets.tickets.rules import Ticket

__all__ = ["COLUMNS", "example_text", "item_names", "ticket_rows", "xlsx_report"]


def ticket_rows(
    tickets: Sequence[Ticket],
    catalog: Mapping[str, CatalogEntry],
    office_name: Mapping[str, str],
    today: date,
    files: Mapping[str, str] | None = None,
) -> list[dict[str, object]]:
    """The department report's rows (``office_name`` and ``files`` by ticket id)."""
    return reports.ticket_rows(tickets, catalog, office_name, today, files)


def xlsx_report(rows: Sequence[Mapping[str, object]], title: str) -> bytes:
    return reports.xlsx_report(rows, title)
