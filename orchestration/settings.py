"""The one settings object. It is the only place that reads the environment.

Embedded default: everything under the data directory (SQLite zone files, the Dagster home, reports);
production: set the zone URLs to PostgreSQL (``postgresql+psycopg://…``), e.g. through
``PUBLICDATA_DATABASE_URL`` for all zones at once.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.engine import make_url

from assets.aggregation.holds import DEFAULT_SHRINK_RATIO
from assets.catalog_sync.standards import DEFAULT_PUBLIC_BASE_URL, normalize_base_url
from assets.common.catalog import SHIPPED_CATALOG_DIR
from assets.common.city import DEFAULT_CITY_CONFIG
from assets.common.workdays import DEFAULT_CALENDAR_DIR, china_date, use_calendar_dir
from assets.exports.config import DEFAULT_EXPORTS_CONFIG
from assets.landing.limits import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_ROWS, ReadLimits
from assets.products.fees import DEFAULT_FEES_CONFIG

if TYPE_CHECKING:
    from assets.storage.platform import PlatformResource

ZONES = ("exchange", "operation", "platform")

ENV_HOME = "PUBLICDATA_HOME"
ENV_DATABASE_URL = "PUBLICDATA_DATABASE_URL"
ENV_ZONE_URL = "PUBLICDATA_{zone}_URL"
ENV_CATALOG_DIR = "PUBLICDATA_CATALOG_DIR"
ENV_CITY_CONFIG = "PUBLICDATA_CITY_CONFIG"
ENV_PSEUDONYM_KEY = "PUBLICDATA_PSEUDONYM_KEY"
ENV_PSEUDONYM_KEY_FILE = "PUBLICDATA_PSEUDONYM_KEY_FILE"
ENV_CATALOG_SUBSCRIBERS = "PUBLICDATA_CATALOG_SUBSCRIBERS"
ENV_QUALITY_AS_OF = "PUBLICDATA_QUALITY_AS_OF"
ENV_TODAY = "PUBLICDATA_TODAY"
ENV_MAX_ROWS = "PUBLICDATA_MAX_ROWS"
ENV_MAX_FILE_MB = "PUBLICDATA_MAX_FILE_MB"
ENV_SHRINK_HOLD_RATIO = "PUBLICDATA_SHRINK_HOLD_RATIO"
ENV_CALENDAR_DIR = "PUBLICDATA_CALENDAR_DIR"
ENV_PUBLIC_BASE_URL = "PUBLICDATA_PUBLIC_BASE_URL"
ENV_EXPORTS_CONFIG = "PUBLICDATA_EXPORTS_CONFIG"
ENV_FEES_CONFIG = "PUBLICDATA_FEES_CONFIG"
ENV_PORTAL_SECRET_KEY = "PUBLICDATA_PORTAL_SECRET_KEY"
ENV_PORTAL_SECURE_COOKIES = "PUBLICDATA_PORTAL_SECURE_COOKIES"
ENV_PORTAL_MAX_UPLOAD_MB = "PUBLICDATA_PORTAL_MAX_UPLOAD_MB"
ENV_DAGSTER_UI_URL = "PUBLICDATA_DAGSTER_UI_URL"
ENV_EXECUTOR = "PUBLICDATA_EXECUTOR"
ENV_MAX_CONCURRENT_STEPS = "PUBLICDATA_MAX_CONCURRENT_STEPS"
ENV_CELERY_BROKER = "PUBLICDATA_CELERY_BROKER"
ENV_CELERY_BACKEND = "PUBLICDATA_CELERY_BACKEND"
ENV_PARALLEL = "PUBLICDATA_PARALLEL"

# `publicdata run --parallel`: unset means one worker per CPU, at most this many (each worker holds
# its own copy of the largest dataset in memory), and only for a run worth the workers' start
MAX_AUTO_PARALLEL = 4

# how a run's steps execute (orchestration/assembly.py): one process; a process per step on this
# machine; or tasks on Celery workers anywhere (the broker below, a PostgreSQL Dagster instance)
EXECUTORS = ("in_process", "multiprocess", "celery")
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/0"


class Settings(BaseModel):
    """Where the data directory, the zones, the catalog and the city configuration are."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path
    exchange_url: str
    operation_url: str
    platform_url: str
    catalog_dir: Path = SHIPPED_CATALOG_DIR
    city_config: Path = DEFAULT_CITY_CONFIG
    pseudonym_key: str | None = None
    pseudonym_key_file: Path | None = None
    # apprise URLs told of every new public catalog version (comma-separated in the environment)
    catalog_subscribers: tuple[str, ...] = ()
    # the day the quality suites' not-future rules compare with (default: today in China); set it
    # to re-check old deliveries as of their day, or to check generated data as of its as_of
    quality_as_of: date | None = None
    # "today" for every deadline (applications, merchants, deemed approvals): tests, demos, re-checks
    today: date | None = None
    # read limits of a landing file: data rows, and MB of a CSV or of an XLSX's uncompressed content
    max_rows: int = DEFAULT_MAX_ROWS
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    # a redelivery leaving fewer than this share of the partition's rows is held for confirmation
    # (0 turns the hold off)
    shrink_hold_ratio: float = DEFAULT_SHRINK_RATIO
    # the official working-day calendar: <dir>/<year>.yaml, over the shipped config/calendar files
    calendar_dir: Path = DEFAULT_CALENDAR_DIR
    # where <data dir>/operation/ (the operation platform's public area) is served: the public
    # catalog's addresses and DCAT identifiers are under it (the catalog at <base>catalog/)
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    # thresholds of the export checks and the review/filing working days; fees and income shares
    exports_config: Path = DEFAULT_EXPORTS_CONFIG
    fees_config: Path = DEFAULT_FEES_CONFIG
    # the web portal (orchestration/portal): the key signing its session cookies (default: a random
    # key generated once in <data dir>/secrets/portal_session.key), whether the cookies carry the
    # Secure flag (set it when the portal is served over HTTPS), the largest delivery a department
    # may upload, and where the Dagster UI is for the links to run details
    portal_secret_key: str | None = None
    portal_secure_cookies: bool = False
    portal_max_upload_mb: int = 50
    dagster_ui_url: str = "http://127.0.0.1:3000"
    # the jobs' executor (one of EXECUTORS); the multiprocess executor's step processes at once
    # (0: one per core); the Celery broker and result backend (the broker when unset)
    executor: str = "in_process"
    max_concurrent_steps: int = 0
    celery_broker: str = DEFAULT_CELERY_BROKER
    celery_backend: str | None = None
    # worker processes of `publicdata run` (orchestration/parallel.py): None = one per CPU (at most
    # MAX_AUTO_PARALLEL); 1 = every run in the CLI's own process, one after another
    parallel: int | None = None

    @field_validator("parallel")
    @classmethod
    def _positive_parallel(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"PUBLICDATA_PARALLEL / --parallel 应为正整数，而不是 {value}")
        return value

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if value not in EXECUTORS:
            raise ValueError(
                f"PUBLICDATA_EXECUTOR 应为 {' | '.join(EXECUTORS)} 之一，而不是 {value!r}"
            )
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return normalize_base_url(value)

    @classmethod
    def load(cls, data_dir: str | Path | None = None, **overrides: object) -> Settings:
        """Data directory: the argument, else ``PUBLICDATA_HOME``, else ``./data``."""
        home = Path(data_dir or os.environ.get(ENV_HOME) or "data").expanduser().resolve()
        shared = os.environ.get(ENV_DATABASE_URL)
        values: dict[str, object] = {"data_dir": home}
        for zone in ZONES:
            values[f"{zone}_url"] = (
                os.environ.get(ENV_ZONE_URL.format(zone=zone.upper()))
                or shared
                or f"sqlite:///{home / 'zones' / f'{zone}.sqlite'}"
            )
        if catalog := os.environ.get(ENV_CATALOG_DIR):
            values["catalog_dir"] = Path(catalog)
        if city := os.environ.get(ENV_CITY_CONFIG):
            values["city_config"] = Path(city)
        values["pseudonym_key"] = os.environ.get(ENV_PSEUDONYM_KEY)
        if key_file := os.environ.get(ENV_PSEUDONYM_KEY_FILE):
            values["pseudonym_key_file"] = Path(key_file)
        if subscribers := os.environ.get(ENV_CATALOG_SUBSCRIBERS):
            values["catalog_subscribers"] = tuple(
                url.strip() for url in subscribers.split(",") if url.strip()
            )
        if quality_as_of := os.environ.get(ENV_QUALITY_AS_OF):
            values["quality_as_of"] = date.fromisoformat(quality_as_of)
        if today := os.environ.get(ENV_TODAY):
            values["today"] = date.fromisoformat(today)
        if max_rows := os.environ.get(ENV_MAX_ROWS):
            values["max_rows"] = int(max_rows)
        if max_file_mb := os.environ.get(ENV_MAX_FILE_MB):
            values["max_file_mb"] = int(max_file_mb)
        if ratio := os.environ.get(ENV_SHRINK_HOLD_RATIO):
            values["shrink_hold_ratio"] = float(ratio)
        if calendar_dir := os.environ.get(ENV_CALENDAR_DIR):
            values["calendar_dir"] = Path(calendar_dir)
        if base_url := os.environ.get(ENV_PUBLIC_BASE_URL):
            values["public_base_url"] = base_url
        if exports_config := os.environ.get(ENV_EXPORTS_CONFIG):
            values["exports_config"] = Path(exports_config)
        if fees_config := os.environ.get(ENV_FEES_CONFIG):
            values["fees_config"] = Path(fees_config)
        values["portal_secret_key"] = os.environ.get(ENV_PORTAL_SECRET_KEY)
        if secure := os.environ.get(ENV_PORTAL_SECURE_COOKIES):
            values["portal_secure_cookies"] = secure.strip().lower() in ("1", "true", "yes", "on")
        if max_upload := os.environ.get(ENV_PORTAL_MAX_UPLOAD_MB):
            values["portal_max_upload_mb"] = int(max_upload)
        if dagster_ui := os.environ.get(ENV_DAGSTER_UI_URL):
            values["dagster_ui_url"] = dagster_ui.rstrip("/")
        if executor := os.environ.get(ENV_EXECUTOR):
            values["executor"] = executor.strip()
        if max_steps := os.environ.get(ENV_MAX_CONCURRENT_STEPS):
            values["max_concurrent_steps"] = int(max_steps)
        if broker := os.environ.get(ENV_CELERY_BROKER):
            values["celery_broker"] = broker
        if backend := os.environ.get(ENV_CELERY_BACKEND):
            values["celery_backend"] = backend
        if parallel := os.environ.get(ENV_PARALLEL, "").strip():
            values["parallel"] = int(parallel)
        values.update(overrides)
        settings = cls.model_validate(values)
        # the calendar is the process's: ticket due dates read the same official files
        use_calendar_dir(settings.calendar_dir)
        return settings

    def parallel_workers(self) -> int:
        """Worker processes ``publicdata run`` may use: ``parallel`` when set, else the CPUs this
        process may run on (at most ``MAX_AUTO_PARALLEL``)."""
        if self.parallel is not None:
            return self.parallel
        return max(1, min(len(os.sched_getaffinity(0)), MAX_AUTO_PARALLEL))

    def today_date(self) -> date:
        """``PUBLICDATA_TODAY``, else today in China."""
        return self.today or china_date(datetime.now(UTC))

    @property
    def read_limits(self) -> ReadLimits:
        return ReadLimits.of(self.max_rows, self.max_file_mb)

    def missing_data_dir(self) -> str | None:
        """Why commands working on existing platform records cannot run here: their embedded
        database does not exist (a mistyped --data-dir, or no run yet), or None."""
        url = make_url(self.platform_url)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
            return f"数据目录中没有平台记录: {self.data_dir}（先运行 publicdata run / demo，或检查 --data-dir）"
        return None

    def platform_resource(self) -> PlatformResource:
        """The resource the assets read every setting from. A key set in the environment goes in as
        ``dg.EnvVar`` (Dagster resolves it when a run starts, and never shows its value)."""
        import dagster as dg  # not for what only reads settings (an unchanged rerun)

        from assets.storage.platform import PlatformResource

        key: str | dg.EnvVar | None = self.pseudonym_key
        if key and os.environ.get(ENV_PSEUDONYM_KEY) == key:
            key = dg.EnvVar(ENV_PSEUDONYM_KEY)
        return PlatformResource(
            data_dir=str(self.data_dir),
            exchange_url=self.exchange_url,
            operation_url=self.operation_url,
            platform_url=self.platform_url,
            catalog_dir=str(self.catalog_dir),
            city_config=str(self.city_config),
            quality_as_of=self.quality_as_of.isoformat() if self.quality_as_of else None,
            pseudonym_key=key,
            pseudonym_key_file=str(self.pseudonym_key_file) if self.pseudonym_key_file else None,
            catalog_subscribers=list(self.catalog_subscribers),
            today=self.today.isoformat() if self.today else None,
            max_rows=self.max_rows,
            max_file_mb=self.max_file_mb,
            shrink_hold_ratio=self.shrink_hold_ratio,
            calendar_dir=str(self.calendar_dir),
            public_base_url=self.public_base_url,
            exports_config=str(self.exports_config),
            fees_config=str(self.fees_config),
        )

    def celery_config(self) -> dict[str, object]:
        """The Celery executor's config: broker and backend (as ``env`` references when they came
        from the environment, so a password in them is not written into the job's snapshot), and
        task results that expire within the hour (the step events are in the Dagster instance)."""

        def url(value: str, env: str) -> str | dict[str, str]:
            return {"env": env} if os.environ.get(env) == value else value

        backend = self.celery_backend or self.celery_broker
        return {
            "broker": url(self.celery_broker, ENV_CELERY_BROKER),
            "backend": url(
                backend, ENV_CELERY_BACKEND if self.celery_backend else ENV_CELERY_BROKER
            ),
            "config_source": {"result_expires": 3600},
        }

    @property
    def zone_urls(self) -> dict[str, str]:
        return {zone: getattr(self, f"{zone}_url") for zone in ZONES}

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def staging_dir(self) -> Path:
        """County aggregation staging (the county front-end store): Parquet per partition."""
        return self.data_dir / "aggregation"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    def pseudonym_key_bytes(self) -> bytes:
        """The HMAC-SM3 pseudonymization key (see ``assets.operation.keyfile``)."""
        from assets.operation.keyfile import resolve_pseudonym_key

        return resolve_pseudonym_key(self.data_dir, self.pseudonym_key, self.pseudonym_key_file)
