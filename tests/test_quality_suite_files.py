"""A suite loads whole or not at all: in a fresh interpreter without the project's custom
expectations registered, loading any suite is an error naming the missing types (GX alone would log
errors and keep 28 of 132 rules); with them registered every rule of every file is kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assets.quality.suite_files import SuiteLoadError, load_suite_file
from assets.quality.suites import SUITES_DIR

ROOT = Path(__file__).parents[1]

SCRIPT = """
import json, sys
from pathlib import Path
if sys.argv[1] == "registered":
    import assets.quality.expectations  # noqa: F401  the project's custom expectations
from assets.quality.suite_files import SuiteLoadError, load_suite_file
out = {}
for path in sorted(Path(sys.argv[2]).glob("*.json")):
    try:
        out[path.stem] = {"kept": len(load_suite_file(path).expectations)}
    except SuiteLoadError as exc:
        out[path.stem] = {"error": str(exc), "missing": list(exc.missing)}
print(json.dumps(out, ensure_ascii=False))
"""


def _load_in_fresh_interpreter(mode: str) -> dict[str, dict]:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(SUITES_DIR)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _custom_types(path: Path) -> set[str]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    types = {e["type"] for e in raw["expectations"]}
    from assets.quality import expectations as custom

    names = {
        getattr(cls, "expectation_type", None)
        for cls in vars(custom).values()
        if isinstance(cls, type) and cls.__module__ == custom.__name__
    }
    return types & names


@pytest.mark.slow
def test_every_suite_fails_to_load_without_the_custom_expectations_and_names_them():
    files = sorted(SUITES_DIR.glob("*.json"))
    assert len(files) == 7
    unregistered = _load_in_fresh_interpreter("bare")
    assert set(unregistered) == {p.stem for p in files}
    for path in files:
        outcome = unregistered[path.stem]
        expected = _custom_types(path)
        assert expected, f"{path.name} uses no custom expectation"
        assert "error" in outcome, f"{path.name} loaded without its custom expectations"
        assert set(outcome["missing"]) == expected
        for name in expected:
            assert name in outcome["error"]
        assert "assets.quality.expectations" in outcome["error"]


@pytest.mark.slow
def test_every_suite_keeps_every_rule_with_the_custom_expectations():
    registered = _load_in_fresh_interpreter("registered")
    total = 0
    for path in sorted(SUITES_DIR.glob("*.json")):
        rules = len(json.loads(path.read_text(encoding="utf-8"))["expectations"])
        assert registered[path.stem] == {"kept": rules}
        total += rules
    assert total == 132


def test_a_file_that_is_not_a_suite_is_a_load_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(SuiteLoadError, match="broken.json"):
        load_suite_file(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(
        json.dumps({"name": "x", "expectations": [{"type": "expect_no_such_thing", "kwargs": {}}]}),
        encoding="utf-8",
    )
    with pytest.raises(SuiteLoadError, match="expect_no_such_thing") as caught:
        load_suite_file(unknown)
    assert caught.value.missing == ("expect_no_such_thing",)
