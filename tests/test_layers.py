"""The layering contract (pyproject.toml, checked by `make test`) holds, and it would catch the next
upward import: a copy of the packages with one module of the shared core importing the wiring fails."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    for package in ("assets", "orchestration"):
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_layers_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    tree = _copy_tree(tmp_path)
    (tree / "assets" / "common" / "upward_probe.py").write_text(
        "from orchestration.settings import Settings\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "assets.common.upward_probe -> orchestration.settings" in result.stdout


def test_a_stage_importing_a_downstream_stage_breaks_the_contract(tmp_path):
    tree = _copy_tree(tmp_path)
    (tree / "assets" / "landing" / "downstream_probe.py").write_text(
        "from assets.operation import writer\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "assets.landing.downstream_probe -> assets.operation" in result.stdout


def test_the_resource_takes_the_key_as_an_env_var_and_reads_no_environment_itself(
    tmp_path, monkeypatch
):
    import dagster as dg

    from orchestration.settings import Settings

    monkeypatch.setenv("PUBLICDATA_PSEUDONYM_KEY", "k" * 32)
    resource = Settings.load(tmp_path).platform_resource()
    assert isinstance(resource.pseudonym_key, dg.EnvVar)
    assert resource.pseudonym_key.env_var_name == "PUBLICDATA_PSEUDONYM_KEY"
    source = (ROOT / "assets" / "storage" / "platform.py").read_text()
    assert "os.environ" not in source and "getenv" not in source
