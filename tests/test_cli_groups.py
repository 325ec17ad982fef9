"""The CLI's command groups are imported when named (orchestration/cli.py ``GROUPS``): every group
still answers under its name and is listed by ``--help``, and a command that needs none of them
(``publicdata run``, ``--version``) imports none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from orchestration.cli import GROUPS, main

ROOT = Path(__file__).resolve().parents[1]


def test_every_group_answers_under_its_name_and_is_listed():
    context = click.Context(main)
    for name in GROUPS:
        command = main.get_command(context, name)
        assert command is not None and command.name == name, name
        assert isinstance(command, click.Command)
    listed = CliRunner().invoke(main, ["--help"]).output
    for name in [*GROUPS, "run", "demo", "generate", "ui"]:
        assert f"  {name} " in listed, name
    assert main.get_command(context, "no-such-group") is None


_IMPORTS = """
import sys
from click.testing import CliRunner
from orchestration.cli import GROUPS, main
result = CliRunner().invoke(main, ["--version"])
assert result.exit_code == 0, result.output
modules = {spec.split(":")[0] for spec in GROUPS.values()}
print(sorted(m for m in modules if m in sys.modules))
"""


def test_a_command_imports_no_group_it_does_not_name():
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
