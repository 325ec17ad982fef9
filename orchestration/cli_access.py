"""What the authorization commands share: the data directory's settings, platform engine, catalog,
calendar and "today" (``PUBLICDATA_TODAY``), and the acting account (``--as``, else the account mapped to
the operating-system user). The domain functions check the account's role and scope themselves."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, wraps
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from assets.accounts.authorize import AccessDenied
from assets.accounts.store import account_for_os_user
from assets.authorization.records import AuthorizationError
from assets.common.catalog import CatalogEntry, load_catalog
from assets.common.workdays import WorkCalendar, use_calendar_dir
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli_accounts import as_option
from orchestration.settings import Settings

__all__ = [
    "AccessContext",
    "_table",
    "a_date",
    "access_errors",
    "as_option",
    "data_dir_option",
    "emit",
    "handled",
    "json_option",
    "out",
]


def access_errors() -> tuple[type[Exception], ...]:
    return (AccessDenied,)


out = Console() if sys.stdout.isatty() else Console(width=160)

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
json_option = click.option("--json", "as_json", is_flag=True, help="在 stdout 输出一个 JSON 对象")
a_date = click.DateTime(formats=["%Y-%m-%d"])


def emit(record: object, as_json: bool, show: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        show()


def handled(fn: Callable) -> Callable:
    """Domain refusals and access denials become a Chinese message and exit status 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (AuthorizationError, *access_errors()) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


@dataclass
class AccessContext:
    settings: Settings

    @classmethod
    def load(
        cls, data_dir: Path | None, *, existing: bool = False, migrate: bool = True
    ) -> AccessContext:
        """``existing``: a command that reads records refuses a data directory without them."""
        settings = Settings.load(data_dir)
        if existing and (problem := settings.missing_data_dir()):
            raise click.ClickException(problem)
        if migrate:
            ensure_platform_schema(settings.platform_url)
        return cls(settings)

    @cached_property
    def engine(self) -> Engine:
        return get_engine(self.settings.platform_url)

    @cached_property
    def catalog(self) -> dict[str, CatalogEntry]:
        return load_catalog(self.settings.catalog_dir)

    @property
    def calendar(self) -> WorkCalendar:
        return use_calendar_dir(self.settings.calendar_dir)

    @property
    def today(self) -> date:
        return self.settings.today_date()

    def account(self, acting_as: str | None) -> str:
        """The name of the account the command acts as."""
        if acting_as:
            return acting_as
        os_user = getpass.getuser()
        mapped = account_for_os_user(self.engine, os_user)
        if mapped is None:
            raise click.ClickException(
                f"未指定操作账号：请用 --as 账号，或为系统用户 {os_user} 建立对应账号"
            )
        return mapped.name
