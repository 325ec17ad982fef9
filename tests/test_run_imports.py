"""What ``publicdata run`` imports before it knows there is work: the planner and the summary name the
stages' assets and jobs through each stage's ``keys`` module and read the records as plain rows, so
an unchanged rerun (about 2 s at 1M rows, most of it imports) loads none of the stages' code, nor
pandas, numpy, Arrow or Great Expectations. (``test_incremental`` checks a whole rerun the same way.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# loaded only by the runs themselves (orchestration.assembly builds them)
RUN_ONLY = (
    "pandas",
    "numpy",
    "pyarrow",
    "assets.aggregation.assets",
    "assets.governance.assets",
    "assets.classification.assets",
    "assets.operation.assets",
    "assets.catalog_sync.assets",
    "assets.catalog_sync.sensors",
    "assets.catalog_sync.checks",
    "assets.workspace.assets",
    "assets.aggregation.sensors",
    "assets.aggregation.ingest",  # and with it the landing file readers
    "assets.classification.classify",
    "assets.governance.govern",
    "assets.operation.writer",
    "orchestration.assembly",
    "great_expectations",
)

_IMPORTS = f"""
import sys
import orchestration.cli, orchestration.runner, orchestration.summaries
import assets.authorization.summary, assets.desensitization.pseudonym_key, assets.operation.keyfile
print(sorted(m for m in {RUN_ONLY!r} if m in sys.modules))
"""


def test_the_run_planner_and_summary_import_no_stage_code():
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
