"""`publicdata catalog …` through click's CliRunner, on SQLite and PostgreSQL platform records."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pyld import jsonld

from orchestration.cli_catalog import catalog as catalog_cli
from tests.helpers import add_account
from tests.test_catalog_validation import register, shipped


@pytest.fixture
def run(db_url, tmp_path, monkeypatch):
    for name in ("PUBLICDATA_HOME", "PUBLICDATA_DATABASE_URL", "PUBLICDATA_CATALOG_SUBSCRIBERS"):
        monkeypatch.delenv(name, raising=False)
    for zone in ("EXCHANGE", "OPERATION", "PLATFORM"):
        monkeypatch.setenv(f"PUBLICDATA_{zone}_URL", db_url)
    runner = CliRunner()
    add_account(db_url, "catalog_engineer", "engineer")

    def invoke(*args: str, code: int = 0):
        acting = ["--as", "catalog_engineer"] if args[0] == "publish" else []
        result = runner.invoke(catalog_cli, [*args, *acting, "--data-dir", str(tmp_path)])
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    return invoke


def test_the_catalog_commands_end_to_end(run, tmp_path, catalog):
    assert "尚无目录版本" in run("export", code=1)
    assert "为空" in run("validate")
    assert "登记 21 个目录条目文件" in run("seed")

    assert json.loads(run("validate", "--json")) == {
        "registrations": 21,
        "valid": 21,
        "rejected": [],
    }
    published = json.loads(run("publish", "--json"))
    assert published["version"] == 1 and published["new_version"] is True
    assert published["counts"]["entries_added"] == 7
    assert "目录无变化，仍为第 1 版" in run("publish")

    listed = json.loads(run("list", "--json", "--as-of", "2026-11-27"))
    assert listed["version"] == 1 and len(listed["entries"]) == 7
    households = next(e for e in listed["entries"] if e["dataset_id"] == "household_registration")
    assert households["counties"] == ["640502", "640521", "640522"]
    assert {m["status"] for m in households["mounting"]} == {"未建交换表"}
    assert "户籍人口信息" in run("list")

    # a county changes its registration, another registers something invalid
    register(tmp_path, "640522", {**shipped("medical_institutions"), "更新频率": "每月"})
    broken = shipped("market_entities")
    del broken["信息项"][0]["规则"]
    register(tmp_path, "640521", broken)
    output = run("validate", code=1)
    assert "退回 1 个" in output
    assert (
        "中宁县市场监督管理局：" in output and "第1个信息项（统一社会信用代码）缺少“规则”" in output
    )
    output = run("publish")
    assert "退回 640521/market_entities" in output and "已生成并发布第 2 版" in output
    listed = json.loads(run("list", "--json"))
    medical = next(e for e in listed["entries"] if e["dataset_id"] == "medical_institutions")
    assert medical["differences"] == {"640522": ["更新频率为“每月”（全市为“每季度”）"]}

    diff = json.loads(run("diff", "--json"))
    assert (
        diff["modified"]["medical_institutions"]["county_differences"]["to"]
        == medical["differences"]
    )
    assert diff["added"] == diff["retired"] == []
    assert json.loads(run("diff", "--json", "--from", "0", "--to", "1"))["added"][0] == (
        "agricultural_subsidies"
    )
    assert "~ medical_institutions" in run("diff")
    assert "目录版本 9 不存在" in run("diff", "--to", "9", code=1)

    exported = json.loads(run("export", "--format", "json"))
    assert exported["版本"] == 2
    assert [e["dataset_id"] for e in exported["条目"]] == sorted(
        d for d, e in catalog.items() if not e.is_prohibited
    )
    dcat = json.loads(run("export", "--format", "dcat", "--version", "1"))
    assert dcat["owl:versionInfo"] == "1"
    assert len(jsonld.expand(dcat)[0]["http://www.w3.org/ns/dcat#dataset"]) == 6
    for text in (json.dumps(exported, ensure_ascii=False), json.dumps(dcat, ensure_ascii=False)):
        assert "petition_records" not in text and "信访" not in text
