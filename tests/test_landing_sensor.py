"""The landing sensor requests runs for exactly the new or changed files (cursor of checksums)."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.definitions import build_definitions
from tests.helpers import medical_rows, settings_for, write_delivery


def _tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, settings, cursor: str | None
) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("landing_files")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"platform": settings.platform_resource()},
        definitions=defs,
    )
    return sensor(context)


def test_new_changed_and_unchanged_files(tmp_path, catalog):
    settings = settings_for(tmp_path)
    defs = build_definitions(settings)
    entry = catalog["medical_institutions"]
    write_delivery(tmp_path, entry, "640502", "2026-Q3", medical_rows(3))
    write_delivery(tmp_path, entry, "640521", "2026-Q3", medical_rows(4), encoding="gb18030")
    # a file that breaks the contract requests nothing and does not stop the others
    (tmp_path / "landing" / "640502" / "medical_institutions" / "2026-13.csv").write_text("x")

    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, settings, None)
        keys = sorted(str(r.partition_key) for r in first.run_requests)
        assert keys == ["640502|2026-Q3", "640521|2026-Q3"]
        assert {r.job_name for r in first.run_requests} == {"ingest_medical_institutions"}
        assert [r.partitions_def_name for r in first.dynamic_partitions_requests] == [
            "medical_institutions_periods"
        ]
        assert list(first.dynamic_partitions_requests[0].partition_keys) == ["2026-Q3"]

        # nothing changed: nothing requested
        second = _tick(defs, instance, settings, first.cursor)
        assert second.run_requests == []

        # touched but identical content: nothing requested
        path = tmp_path / "landing" / "640502" / "medical_institutions" / "2026-Q3.csv"
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
        touched = _tick(defs, instance, settings, second.cursor)
        assert touched.run_requests == []

        # one file's content changes: exactly one run, for its partition
        write_delivery(tmp_path, entry, "640502", "2026-Q3", medical_rows(5, prefix="诊所"))
        third = _tick(defs, instance, settings, touched.cursor)
        assert [str(r.partition_key) for r in third.run_requests] == ["640502|2026-Q3"]
        assert third.run_requests[0].run_key.startswith(
            "landing/640502/medical_institutions/2026-Q3.csv@"
        )


def test_files_already_ingested_by_a_cli_run_request_nothing(tmp_path, catalog):
    from orchestration.runner import dagster_instance, run_pipeline

    settings = settings_for(tmp_path)
    entry = catalog["medical_institutions"]
    write_delivery(tmp_path, entry, "640502", "2026-Q3", medical_rows(3))
    run_pipeline(settings)
    defs = build_definitions(settings)
    instance = dagster_instance(settings)
    first = _tick(defs, instance, settings, None)
    assert first.run_requests == []
    write_delivery(tmp_path, entry, "640502", "2026-Q3", medical_rows(4))
    second = _tick(defs, instance, settings, first.cursor)
    assert [str(r.partition_key) for r in second.run_requests] == ["640502|2026-Q3"]
