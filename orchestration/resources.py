"""Resources: the one place assets get settings, engines and the city configuration from."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import Engine

from assets.catalog_sync.entry import CatalogEntry, load_catalog
from assets.common.city import City, load_city
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.settings import Settings


class PlatformResource(dg.ConfigurableResource):
    """The data directory, the zone URLs and the configuration files of one deployment."""

    data_dir: str
    exchange_url: str
    operation_url: str
    platform_url: str
    catalog_dir: str
    city_config: str
    quality_as_of: str | None = None  # ISO date; Settings.quality_as_of

    @classmethod
    def from_settings(cls, settings: Settings) -> PlatformResource:
        return cls(
            data_dir=str(settings.data_dir),
            exchange_url=settings.exchange_url,
            operation_url=settings.operation_url,
            platform_url=settings.platform_url,
            catalog_dir=str(settings.catalog_dir),
            city_config=str(settings.city_config),
            quality_as_of=settings.quality_as_of.isoformat() if settings.quality_as_of else None,
        )

    def settings(self) -> Settings:
        return Settings.load(
            self.data_dir,
            exchange_url=self.exchange_url,
            operation_url=self.operation_url,
            platform_url=self.platform_url,
            catalog_dir=Path(self.catalog_dir),
            city_config=Path(self.city_config),
            quality_as_of=self.quality_as_of,
        )

    @cached_property
    def city(self) -> City:
        return load_city(Path(self.city_config))

    @cached_property
    def catalog(self) -> dict[str, CatalogEntry]:
        return load_catalog(Path(self.catalog_dir))

    def exchange_engine(self) -> Engine:
        return get_engine(self.exchange_url)

    def operation_engine(self) -> Engine:
        return get_engine(self.operation_url)

    def platform_engine(self) -> Engine:
        """The platform records, migrated to the newest schema on first use."""
        ensure_platform_schema(self.platform_url)
        return get_engine(self.platform_url)
