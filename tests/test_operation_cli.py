"""``publicdata classify FILE [--json]`` on a GB18030 CSV and an XLSX (no raw value printed), and the
``publicdata supply`` commands' argument checks and audit rows."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assets.audit import log as audit
from assets.storage.engine import get_engine
from orchestration.cli import main
from tests.helpers import add_account
from tests.test_classify import _check_file_result, _free_frame, _raw_fragments


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _assert_no_raw_values(output: str, frame) -> None:
    fragments = set()
    for name in ("证件号码", "手机", "卡号", "订单号", "客户姓名", "联系地址", "电子邮箱"):
        fragments |= _raw_fragments(frame[name])
    assert [f for f in fragments if f in output] == []


@pytest.mark.parametrize("kind", ["gb18030_csv", "xlsx"])
def test_classify_json_prints_one_object_per_column_and_no_values(tmp_path, kind):
    frame = _free_frame(seed=21)
    if kind == "xlsx":
        path = tmp_path / "客户名单.xlsx"
        frame.to_excel(path, index=False, engine="openpyxl")
    else:
        path = tmp_path / "客户名单.csv"
        frame.to_csv(path, index=False, encoding="gb18030")
    code, stdout, _ = _invoke("classify", str(path), "--json")
    assert code == 0
    result = json.loads(stdout)
    _check_file_result(result, frame)
    _assert_no_raw_values(stdout, frame)

    code, table, _ = _invoke("classify", str(path))
    assert code == 0 and "证件号码" in table
    _assert_no_raw_values(table, frame)


def test_classify_refuses_an_unreadable_file(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    result = CliRunner().invoke(main, ["classify", str(path), "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""


def test_supply_commands_check_their_arguments_and_audit(tmp_path):
    data = str(tmp_path)
    result = CliRunner().invoke(
        main, ["supply", "suspend", "--data-dir", data, "--dataset", "nope", "--reason", "r"]
    )
    assert result.exit_code == 2 and "目录中没有数据集" in result.output
    result = CliRunner().invoke(
        main,
        ["supply", "suspend", "--data-dir", data, "--dataset", "market_entities"]
        + ["--county", "110101", "--reason", "r"],
    )
    assert result.exit_code == 2 and "不是本市的县（区）代码" in result.output

    from orchestration.settings import Settings

    url = Settings.load(tmp_path).platform_url
    add_account(url, "auditor", "bureau", display_name="审计员")
    add_account(url, "zn_office", "county_office", county_code="640521")
    suspend = ["supply", "suspend", "--data-dir", data, "--dataset", "market_entities"]
    for acting, why in (
        ([], "未指定操作账号"),  # no --as and no account mapped to the OS user
        (["--as", "zn_office"], "无此权限（需要：市数据局）"),
        (["--as", "nobody"], "没有账号 nobody"),
    ):
        result = CliRunner().invoke(
            main, [*suspend, "--county", "640521", "--reason", "发现风险", *acting]
        )
        assert result.exit_code == 1 and why in result.output, result.output
    code, stdout, _ = _invoke(
        *suspend, "--county", "640521", "--reason", "发现风险", "--as", "auditor", "--json",
    )  # fmt: skip
    suspended = json.loads(stdout)
    assert code == 0 and suspended["county"] == "640521" and suspended["resumed_at"] is None
    assert "withdrawn" not in suspended

    code, stdout, _ = _invoke("supply", "list", "--data-dir", data, "--json")
    assert [s["id"] for s in json.loads(stdout)] == [suspended["id"]]

    # resuming the whole dataset is not resuming the county
    result = CliRunner().invoke(
        main,
        ["supply", "resume", "--data-dir", data, "--dataset", "market_entities", "--reason", "r"]
        + ["--as", "auditor"],
    )
    assert result.exit_code == 1 and "没有生效中的暂停供给" in result.output
    # … and says which suspension is in force, and how to resume it
    assert f"县（区）640521（第 {suspended['id']} 号）" in result.output
    assert "--county" in result.output
    code, stdout, _ = _invoke(
        "supply", "resume", "--data-dir", data, "--dataset", "market_entities",
        "--county", "640521", "--reason", "已整改", "--json", "--as", "auditor",
    )  # fmt: skip
    assert code == 0 and json.loads(stdout)["resume_reason"] == "已整改"

    engine = get_engine(url)
    actions = [
        (e.action, e.actor, e.role) for e in audit.entries(engine, target_prefix="operation")
    ]
    assert actions == [
        (audit.SUSPEND, "auditor", "bureau"),
        (audit.RESUME, "auditor", "bureau"),
    ]
