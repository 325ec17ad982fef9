"""Files stay short: no Python file of the project is over 500 lines (the house rule). A file that grows
past it is split along its seams, as the landing reader, the ticket store and the suites were."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("assets", "orchestration", "tests", "bench", "portal")
MAX_LINES = 500


def line_counts(root: Path) -> dict[str, int]:
    counts = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            with path.open("rb") as handle:
                counts[path.relative_to(root).as_posix()] = sum(1 for _ in handle)
    return counts


def test_no_python_file_is_over_500_lines() -> None:
    counts = line_counts(ROOT)
    assert len(counts) > 100  # the folders were found
    too_long = {path: n for path, n in counts.items() if n > MAX_LINES}
    assert not too_long, f"over {MAX_LINES} lines, split them along their seams: {too_long}"


@pytest.mark.parametrize(("lines", "flagged"), [(MAX_LINES, False), (MAX_LINES + 1, True)])
def test_the_count_catches_a_long_file(tmp_path: Path, lines: int, flagged: bool) -> None:
    module = tmp_path / "assets" / "long.py"
    module.parent.mkdir()
    module.write_text("x = 1\n" * lines, encoding="utf-8")
    counts = line_counts(tmp_path)
    assert counts == {"assets/long.py": lines}
    assert (counts["assets/long.py"] > MAX_LINES) is flagged
