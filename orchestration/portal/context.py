"""What every portal request needs: settings, engines, the city, the catalog and the templates."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from assets.common.catalog import CatalogEntry, load_catalog
from assets.common.city import City, load_city
from assets.common.workdays import CHINA_TZ
from assets.exports.config import ExportsConfig, load_exports_config
from assets.products.fees import FeeConfig, load_fee_config
from assets.storage.engine import get_engine
from assets.storage.migrate import ensure_platform_schema
from orchestration.portal import labels
from orchestration.portal.security import CSRF_FIELD, csrf_token
from orchestration.settings import Settings

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def china_time(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):  # ISO text, as the domain's records carry it
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def build_templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["china_time"] = china_time
    environment.globals["csrf_field"] = CSRF_FIELD
    environment.globals["labels"] = labels
    return Jinja2Templates(env=environment, context_processors=[_csrf_context])


def _csrf_context(request: Request) -> dict[str, object]:
    if "session" not in request.scope:  # an error page rendered outside the session middleware
        return {"csrf_token": ""}
    return {"csrf_token": csrf_token(request)}


class PortalContext:
    """One per application; engines are SQLAlchemy's pooled ones (``assets.storage.engine``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = build_templates()
        ensure_platform_schema(settings.platform_url)

    @functools.cached_property
    def city(self) -> City:
        return load_city(self.settings.city_config)

    @functools.cached_property
    def catalog(self) -> dict[str, CatalogEntry]:
        return load_catalog(self.settings.catalog_dir)

    @functools.cached_property
    def exports_config(self) -> ExportsConfig:
        return load_exports_config(self.settings.exports_config)

    @functools.cached_property
    def fee_config(self) -> FeeConfig:
        return load_fee_config(self.settings.fees_config)

    @property
    def platform(self) -> Engine:
        return get_engine(self.settings.platform_url)

    @property
    def exchange(self) -> Engine:
        return get_engine(self.settings.exchange_url)

    @property
    def operation(self) -> Engine:
        return get_engine(self.settings.operation_url)

    def today(self) -> date:
        return self.settings.today_date()

    def county_name(self, code: str | None) -> str:
        if not code:
            return "全市"
        try:
            return self.city.county(code).name
        except KeyError:
            return code

    def department_name(self, department_id: str | None, county_code: str | None = None) -> str:
        if not department_id:
            return ""
        try:
            department = self.city.department(department_id)
        except KeyError:
            return department_id
        if county_code:
            try:
                return department.name_in(self.city.county(county_code))
            except KeyError:
                pass
        return department.name

    def dataset_title(self, dataset_id: str) -> str:
        entry = self.catalog.get(dataset_id)
        return entry.title if entry else dataset_id


def portal(request: Request) -> PortalContext:
    return request.app.state.portal
