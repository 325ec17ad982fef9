"""The city configuration (config/city.yaml): city, counties, townships and source departments."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assets.common.yamlfile import load_yaml_model

DEFAULT_CITY_CONFIG = Path(__file__).resolve().parents[2] / "config" / "city.yaml"


class HistoricalCode(BaseModel):
    """A division code the county's area had before (GB/T 2260), valid for birth years in range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^\d{6}$")
    name: str
    since: int | None = None
    until: int | None = None


class County(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^\d{6}$")
    name: str
    data_bureau: str
    townships: tuple[str, ...] = Field(min_length=1)
    historical_codes: tuple[HistoricalCode, ...] = ()

    def division_code_for_year(self, year: int) -> str:
        """The code an ID number issued for someone born in ``year`` carries."""
        for old in self.historical_codes:
            if (old.since is None or year >= old.since) and (
                old.until is None or year <= old.until
            ):
                return old.code
        return self.code

    @property
    def all_codes(self) -> tuple[str, ...]:
        return (self.code, *(old.code for old in self.historical_codes))


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    # 信息资源提供方代码 (GB/T 21063): the department's unified social credit code where configured
    code: str | None = None
    county_names: dict[str, str] = Field(default_factory=dict)
    channels: tuple[str, ...] = ()

    def name_in(self, county: County) -> str:
        return self.county_names.get(county.code, f"{county.name}{self.name}")


class CityInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^\d{6}$")
    name: str
    data_bureau: str
    # the public catalog's contact point (DCAT vcard) besides the catalog page, where configured
    contact_email: str | None = None
    contact_phone: str | None = None


class City(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    city: CityInfo
    counties: tuple[County, ...] = Field(min_length=1)
    departments: tuple[Department, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> City:
        codes = [c.code for c in self.counties]
        if len(set(codes)) != len(codes):
            raise ValueError("county codes must be unique")
        ids = [d.id for d in self.departments]
        if len(set(ids)) != len(ids):
            raise ValueError("department ids must be unique")
        return self

    @property
    def county_codes(self) -> list[str]:
        return [c.code for c in self.counties]

    def county(self, code: str) -> County:
        for county in self.counties:
            if county.code == code:
                return county
        raise KeyError(f"unknown county code {code}")

    def dataset_owner(self, provider: str, title: str) -> str:
        """The Dagster owner of a dataset's assets, in Chinese, e.g. ``team:中卫市公安局·户籍人口信息``:
        the UI's search matches owners (not descriptions, and tag values must be ASCII), so a
        bureau official typing 户籍 or 公安局 finds the dataset's assets."""
        try:
            department = f"{self.city.name}{self.department(provider).name}"
        except KeyError:
            department = provider
        return f"team:{department}·{title}"

    def department(self, department_id: str) -> Department:
        for department in self.departments:
            if department.id == department_id:
                return department
        raise KeyError(f"unknown department {department_id}")


def load_city(path: Path = DEFAULT_CITY_CONFIG) -> City:
    return load_yaml_model(path, City, what="城市配置")
