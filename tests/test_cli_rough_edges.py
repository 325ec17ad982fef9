"""The CLI points of #12: clean errors, choices listed, names accepted, aligned tables, ids in any case."""

from __future__ import annotations

import json

from click.testing import CliRunner
from rich.cells import cell_len

from orchestration.cli import main
from tests.test_cli_tickets import data_dir, run  # noqa: F401  the fixture: three tickets

ROOT_README = "README.md"


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("publicdata ")
    assert result.output.split()[1][0].isdigit()


def test_classify_of_a_file_that_is_no_table_is_a_clean_error(tmp_path):
    readme = tmp_path / ROOT_README
    readme.write_text("# 说明\n不是表格。\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["classify", str(readme)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "只能分类 CSV 或 Excel 文件" in result.output
    assert "Traceback" not in result.output


def test_tickets_list_accepts_county_and_department_names(data_dir):  # noqa: F811
    def ids(*options: str) -> list[str]:
        result = run("list", "--data-dir", str(data_dir), "--json", *options)
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.output)]

    assert ids("--county", "中宁县") == ids("--county", "640521") == ["QT-640521-000001"]
    assert ids("--department", "卫生健康委员会") == ids("--department", "health")
    assert ids("--department", "沙坡头区卫生健康局") == ["QT-640502-000001"]


def test_tickets_list_with_an_unknown_county_or_department_lists_the_choices(data_dir):  # noqa: F811
    county = CliRunner().invoke(
        main, ["tickets", "list", "--data-dir", str(data_dir), "--county", "中卫县"]
    )
    assert county.exit_code == 2
    assert "没有县（区）“中卫县”" in county.output
    for choice in ("640502 沙坡头区", "640521 中宁县", "640522 海原县"):
        assert choice in county.output
    department = CliRunner().invoke(
        main, ["tickets", "list", "--data-dir", str(data_dir), "--department", "police"]
    )
    assert department.exit_code == 2
    assert (
        "public_security 公安局" in department.output
        and "health 卫生健康委员会" in department.output
    )


def test_tickets_list_has_a_header_and_aligned_columns(data_dir):  # noqa: F811
    result = run("list", "--data-dir", str(data_dir))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("工单号") and "状态" in lines[0] and "承办单位" in lines[0]
    table = lines[:4]  # the header and three tickets
    assert all(line.startswith("QT-") for line in table[1:])
    # every column starts at the same terminal column on every line
    for header in ("状态", "整改期限", "承办单位", "数据集"):
        start = cell_len(lines[0][: lines[0].index(header)])
        for line in table[1:]:
            assert line[: len(line)] and cell_len(line) > start
            prefix_width = 0
            for index, _ in enumerate(line):
                if cell_len(line[:index]) == start:
                    prefix_width = index
                    break
            assert prefix_width and line[prefix_width - 2 : prefix_width] == "  ", (header, line)
            assert line[prefix_width] != " "


def test_ticket_ids_are_case_insensitive(data_dir):  # noqa: F811
    result = run("show", "qt-640521-000001", "--data-dir", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["id"] == "QT-640521-000001"


def test_read_only_commands_on_a_mistyped_data_dir_create_nothing(tmp_path):
    missing = tmp_path / "dta"
    for command in (
        ["tickets", "list"],
        ["catalog", "list"],
        ["catalog", "diff"],
        ["catalog", "export"],
        ["supply", "list"],
    ):
        result = CliRunner().invoke(main, [*command, "--data-dir", str(missing)])
        assert result.exit_code != 0, command
        assert "数据目录中没有平台记录" in result.output, (command, result.output)
        assert not missing.exists(), command


def test_ticket_times_are_china_time_with_their_zone(data_dir):  # noqa: F811
    result = run("show", "QT-640521-000001", "--data-dir", str(data_dir), "--json")
    detail = json.loads(result.output)
    assert detail["first_seen"] == detail["last_seen"] == "2026-10-12T10:00:00+08:00"
    assert all(entry["at"].endswith("+08:00") for entry in detail["history"])
    text = run("show", "QT-640521-000001", "--data-dir", str(data_dir)).output
    assert "首次发现：2026-10-12T10:00:00+08:00" in text


def test_the_progress_label_is_not_cut_at_80_columns():
    import io
    import re

    from rich.console import Console

    from orchestration.cli import _progress

    label = "全部数据集：治理 → 分类分级 → 脱敏后供给公共数据运营平台（读取交换平台全部分区）（govern_and_publish）"
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=False, color_system=None)
    with _progress(console) as progress:
        task = progress.add_task("pipeline", total=30, item="")
        progress.update(task, completed=30, item=label)
    lines = buffer.getvalue().splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    shown = re.sub(r"\s+", "", "".join(lines))
    assert re.sub(r"\s+", "", label) in shown
    assert "…" not in buffer.getvalue()
