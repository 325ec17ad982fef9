"""What the authorization commands share: the data directory's settings, platform engine, catalog,
calendar and "today" (``PUBLICDATA_TODAY``), and the acting account (``--as``, else the account mapped to
the operating-system user). The domain functions check the account's role and scope themselves."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from assets.accounts.authorize import AccessDenied
from assets.accounts.store import account_for_os_user
from assets.common.catalog import CatalogEntry, load_catalog
from assets.common.workdays import WorkCalendar, use_calendar_dir
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.cli_accounts import as_option
from orchestration.settings import Settings

__all__ = ["AccessContext", "access_errors", "as_option"]


def access_errors() -> tuple[type[Exception], ...]:
    return (AccessDenied,)


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
