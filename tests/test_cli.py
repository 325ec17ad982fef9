"""The `publicdata` command as a user runs it: a real subprocess, JSON on stdout, progress on stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PUBLICDATA = str(Path(sys.executable).with_name("publicdata"))

pytestmark = pytest.mark.slow


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PUBLICDATA, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_demo_json_prints_one_object_that_accounts_for_every_file(tmp_path):
    result = _run("demo", "--data-dir", str(tmp_path), "--rows", "300", "--seed", "5", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)  # exactly one JSON document on stdout
    manifest = json.loads((tmp_path / "ground_truth" / "manifest.json").read_text(encoding="utf-8"))
    assert {f["path"] for f in summary["files"]} == {f["path"] for f in manifest["files"]}
    for record in summary["files"]:
        assert {
            "path",
            "dataset",
            "county",
            "period",
            "rows_read",
            "rows_loaded",
            "rows_rejected",
        } <= set(record)
        assert record["rows_read"] == record["rows_loaded"] + record["rows_rejected"]
        assert (tmp_path / record["path"]).is_file()
    assert set(summary["totals"]["by_dataset"]) == {f["dataset_id"] for f in manifest["files"]}
    assert set(summary["totals"]["by_county"]) == {"640502", "640521", "640522"}
    assert summary["zones"]["exchange"].startswith("sqlite:///")
    assert (tmp_path / "dagster_home" / "dagster.yaml").is_file()
    # the demo's authorized operation: one application approved with a live grant, one pending
    operation = summary["operation_applications"]
    assert [a["status"] for a in operation["operator_authorization"]] == ["active"]
    by_status = {a["status"]: a for a in operation["applications"]}
    assert set(by_status) == {"approved", "submitted"}
    assert by_status["approved"]["live_grants"] and by_status["approved"]["due_date"] is None
    assert by_status["submitted"]["due_date"] and by_status["submitted"]["live_grants"] == []
    assert [g["merchant_id"] for g in operation["live_grants"]] == ["demo_merchant"]
    # the demo leaves the workspace in step with that grant: the demo merchant can query at once
    check = _run("workspace", "check", "--data-dir", str(tmp_path), "--json")
    assert check.returncode == 0, check.stderr[-2000:]
    workspace = json.loads(check.stdout)
    assert workspace["passed"] and workspace["not_applied"] == [], workspace


def test_run_uses_publicdata_home_and_explains_a_missing_landing_zone(tmp_path):
    result = _run("run", "--json", env={"PUBLICDATA_HOME": str(tmp_path / "nowhere")})
    assert result.returncode != 0
    assert "landing" in result.stderr
    assert result.stdout == ""


def test_generate_is_deterministic_from_the_command_line(tmp_path):
    for name in ("a", "b"):
        result = _run(
            "generate",
            "--data-dir",
            str(tmp_path / name),
            "--rows",
            "200",
            "--seed",
            "9",
            "--as-of",
            "2026-11-20",
        )
        assert result.returncode == 0, result.stderr[-2000:]
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "landing").rglob("*.*")
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "landing").rglob("*.*")
    )
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_read_only_commands_refuse_a_missing_data_directory(tmp_path):
    missing = tmp_path / "typo"
    for args in (("tickets", "list", "--json"), ("supply", "list")):
        result = _run(*args, "--data-dir", str(missing))
        assert result.returncode != 0, args
        assert "数据目录中没有平台记录" in result.stderr
    assert not missing.exists()
