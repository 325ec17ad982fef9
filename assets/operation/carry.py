"""Unchanged counties carried over from the published table, so that one county's changed delivery
does not desensitize and load the whole dataset again.

A county's published rows are a function of exactly these, and its **carry key** hashes them all:

- its governed rows: the governed file's footer names each slice's rows (``governed_slices``: the
  slice's governance inputs and the day it was governed on);
- the plan of every column (kind, action, level, personal-data type), the generalization level of
  every quasi-identifier, the pseudonymization key (an HMAC of it, not the key), the policy, the
  city, the catalog entry and the governed file's schema;
- which of its rows k-anonymity keeps: decided over the whole dataset, so a change in another
  county may keep or suppress a row here — the county's kept mask is in its key;
- the code that desensitizes and writes (``CODE_MODULES``' source).

The zone keeps, for each published table and in the same transaction as its swap, each county's
key and the transformations its rows got (``zone_publication_counties``). A county whose key is the
one kept is copied from the published table into the staging table in SQL instead of being
desensitized and loaded again; k is then measured in the zone over the whole staging table before
the swap. Anything unknown (a file without the footer, a slice without a stamp, a table of other
columns) makes every county desensitized again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.common.files import sources_digest
from assets.desensitization.plan import DesensitizationPlan
from assets.governance.records import GovernedSlice

KEYS_TABLE = "zone_publication_counties"
CARRY_FORMAT = 1
CODE_MODULES = (
    "desensitization/desensitize.py",
    "desensitization/generalize.py",
    "desensitization/kanonymity.py",
    "desensitization/plan.py",
    "desensitization/policy.py",
    "desensitization/pseudonymize.py",
    "desensitization/pseudonym_key.py",
    "common/masking.py",
    "common/text.py",
    "common/identifiers.py",
    "common/check_chars.py",
    "operation/carry.py",
    "operation/guards.py",
    "operation/streamed.py",
    "operation/writer.py",
    "storage/bulk.py",
    "storage/sqlite_stage.py",
)
_ASSETS = Path(__file__).resolve().parents[1]


@cache
def code_version() -> str:
    return sources_digest(f"carry format {CARRY_FORMAT}", _ASSETS, CODE_MODULES)


def plan_fingerprint(plan: DesensitizationPlan, governed: Path) -> str:
    """Everything but the rows that a county's published rows depend on."""
    parts = {
        "code": code_version(),
        "columns": [[p.column, p.kind, p.action, p.level, p.pii] for p in plan.columns],
        "hierarchy_levels": dict(sorted(plan.hierarchy_levels.items())),
        "key": hmac.new(plan.key, b"publicdata/operation-carry", "sha256").hexdigest(),
        "policy": plan.policy.model_dump_json(),
        "city": plan.city.model_dump_json(),
        "entry": plan.entry.model_dump_json(),
        "schema": pq.read_schema(governed).remove_metadata().to_string(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def county_keys(
    plan: DesensitizationPlan, slices: Sequence[GovernedSlice], fingerprint: str
) -> dict[str, str | None]:
    """Each county's carry key (None when one of its slices' rows is not named)."""
    if sum(s.rows for s in slices) != plan.rows_in:
        raise ValueError("治理后数据的分片与脱敏计划的行数不符")
    by_county: dict[str, list[GovernedSlice]] = defaultdict(list)
    for piece in slices:
        by_county[piece.county_code].append(piece)
    keys: dict[str, str | None] = {}
    for county, pieces in by_county.items():
        if any(p.key is None for p in pieces):
            keys[county] = None
            continue
        digest = hashlib.sha256(fingerprint.encode())
        for p in pieces:
            kept = plan.kept[p.start : p.start + p.rows]
            digest.update(f"\0{p.period}\0{p.key}\0{p.rows}\0".encode())
            digest.update(np.packbits(kept).tobytes())
        keys[county] = digest.hexdigest()
    return keys


@dataclass(frozen=True)
class KeptCounty:
    key: str
    transformations: dict[str, str]


@dataclass(frozen=True)
class Carry:
    """What a publish carries over: the counties copied from the published table, the keys of every
    county for the zone to keep, and the row ranges of the governed file to desensitize."""

    counties: tuple[str, ...]
    keys: Mapping[str, str]
    ranges: tuple[tuple[int, int], ...]
    transformations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def kept_counties(engine: Engine, dataset_id: str) -> dict[str, KeptCounty]:
    """The counties of the published table and their keys, as the zone keeps them."""
    if not sa.inspect(engine).has_table(KEYS_TABLE):
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f"SELECT county_code, carry_key, transformations FROM {KEYS_TABLE} "
                "WHERE dataset_id = :dataset_id"
            ),
            {"dataset_id": dataset_id},
        ).all()
    return {str(c): KeptCounty(str(k), json.loads(t)) for c, k, t in rows}


def plan_carry(
    engine: Engine,
    dataset_id: str,
    plan: DesensitizationPlan,
    governed: Path,
    slices: Sequence[GovernedSlice] | None,
    published_columns: Sequence[str] | None,
    expected_columns: Sequence[str],
) -> Carry:
    """Which counties can be carried over (none when anything is unknown)."""
    everything = ((0, plan.rows_in),)
    if not slices or sum(s.rows for s in slices) != plan.rows_in:  # unknown, or not this file's
        return Carry((), {}, everything)
    keys = county_keys(plan, slices, plan_fingerprint(plan, governed))
    known = {c: k for c, k in keys.items() if k is not None}
    if list(published_columns or []) != list(expected_columns):
        return Carry((), known, everything)  # no table yet, or one of other columns
    kept = kept_counties(engine, dataset_id)
    carried = sorted(c for c, k in known.items() if c in kept and kept[c].key == k)
    ranges = tuple(
        (s.start, s.start + s.rows) for s in slices if s.county_code not in set(carried) and s.rows
    )
    if not carried or not ranges:
        # nothing to carry, or no row to desensitize (nothing changed, or the changed counties
        # have no governed row left): the table is written whole — a publish with no new row
        # would have nothing to take its columns' types from
        return Carry((), known, everything)
    return Carry(tuple(carried), known, ranges, {c: kept[c].transformations for c in carried})


class CarryMismatch(ValueError):
    """The published table is not of the columns the new version has: nothing can be carried."""


def create_keys_sql() -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (dataset_id TEXT NOT NULL, "
        "county_code TEXT NOT NULL, carry_key TEXT NOT NULL, transformations TEXT NOT NULL, "
        "PRIMARY KEY (dataset_id, county_code))"
    )


def forget_keys_sql(dataset_id: str) -> list[tuple[str, dict[str, str]]]:
    """The statement (``:name`` parameters) that forgets the dataset's kept keys: for every write
    of its table that does not keep new ones (a withdrawal, a whole-frame publish)."""
    return [
        (f"DELETE FROM {KEYS_TABLE} WHERE dataset_id = :dataset_id", {"dataset_id": dataset_id})
    ]


def forget_all_keys(engine: Engine) -> None:
    """Forget every dataset's kept keys (``publicdata run --force``: every county published again)."""
    if not sa.inspect(engine).has_table(KEYS_TABLE):
        return
    with engine.begin() as connection:
        connection.execute(sa.text(f"DELETE FROM {KEYS_TABLE}"))


def keep_keys_sql(
    dataset_id: str,
    keys: Mapping[str, str],
    transformations: Mapping[str, Mapping[str, str]],
) -> list[tuple[str, dict[str, str]]]:
    """The statements (``:name`` parameters) that replace the dataset's kept keys, for the swap's
    transaction: a county without transformations known is not kept (it is desensitized again)."""
    statements = forget_keys_sql(dataset_id)
    for county, key in sorted(keys.items()):
        if county not in transformations:
            continue
        statements.append(
            (
                f"INSERT INTO {KEYS_TABLE} (dataset_id, county_code, carry_key, transformations) "
                "VALUES (:dataset_id, :county_code, :carry_key, :transformations)",
                {
                    "dataset_id": dataset_id,
                    "county_code": county,
                    "carry_key": key,
                    "transformations": json.dumps(dict(transformations[county]), sort_keys=True),
                },
            )
        )
    return statements


def _columns_and_types(engine: Engine, name: str) -> list[tuple[str, str]]:
    return [(c["name"], str(c["type"])) for c in sa.inspect(engine).get_columns(name)]


def copy_counties(
    engine: Engine, name: str, staging: str, counties: Sequence[str], county_column: str
) -> None:
    """Copy the rows of ``counties`` from the published table into the staging table, in the zone
    (``operation.carry``); the two must have the same columns of the same types."""
    if _columns_and_types(engine, name) != _columns_and_types(engine, staging):
        raise CarryMismatch(f"{name}: 已发布表的列与本次发布的列不同，不能沿用")
    columns = ", ".join(f'"{c}"' for c, _ in _columns_and_types(engine, staging))
    marks = ", ".join(f":c{i}" for i in range(len(counties)))
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f'INSERT INTO "{staging}" ({columns}) SELECT {columns} FROM "{name}" '
                f'WHERE "{county_column}" IN ({marks})'
            ),
            {f"c{i}": county for i, county in enumerate(counties)},
        )


def measure_in_zone(
    engine: Engine, staging: str, quasi_identifiers: Sequence[str]
) -> tuple[int, int | None]:
    """The staging table's rows and its k over the quasi-identifiers (NULL a value of its own, as
    ``measure_k``), counted in the zone."""
    with engine.connect() as connection:
        rows = int(connection.exec_driver_sql(f'SELECT count(*) FROM "{staging}"').scalar_one())
        if not rows or not quasi_identifiers:
            return rows, None
        groups = ", ".join(f'"{c}"' for c in quasi_identifiers)
        k = connection.exec_driver_sql(
            f'SELECT min(n) FROM (SELECT count(*) AS n FROM "{staging}" GROUP BY {groups}) AS c'
        ).scalar_one()
    return rows, int(k)
