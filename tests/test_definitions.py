"""The whole Definitions loads and the asset graph is what the flow says."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings

import dagster as dg

from assets.common.catalog import SHIPPED_CATALOG_DIR
from orchestration.definitions import build_definitions
from tests.helpers import settings_for


def _graph(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetNode]:
    graph = defs.resolve_asset_graph()
    return {key: graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_dataset_flows_landing_to_exchange(tmp_path, catalog):
    defs = build_definitions(settings_for(tmp_path))
    nodes = _graph(defs)
    for dataset_id in catalog:
        landing = dg.AssetKey(["landing", dataset_id])
        county = dg.AssetKey(["aggregation", dataset_id])
        exchange = dg.AssetKey(["exchange", dataset_id])
        assert nodes[landing].group_name == "landing"
        assert nodes[county].group_name == "aggregation"
        assert nodes[exchange].group_name == "exchange"
        assert nodes[county].parent_keys == {landing}
        assert county in nodes[exchange].parent_keys
        for key in (county, exchange):
            assert nodes[key].partitions_def is not None
            assert nodes[key].description
            assert nodes[key].owners[0] == f"team:{catalog[dataset_id].provider}"
        # a Chinese owner on every stage of the dataset: the UI's search finds 户籍 and 公安局
        title = catalog[dataset_id].title
        for stage in ("landing", "aggregation", "exchange", "governance", "classification"):
            owners = nodes[dg.AssetKey([stage, dataset_id])].owners
            assert any(o.startswith("team:中卫市") and o.endswith(f"·{title}") for o in owners)
        assert defs.resolve_job_def(f"ingest_{dataset_id}") is not None
    assert defs.resolve_sensor_def("landing_files") is not None


def test_a_new_catalog_entry_file_adds_its_assets_without_code(tmp_path):
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG_DIR, catalog_dir)
    text = (catalog_dir / "medical_institutions.yaml").read_text(encoding="utf-8")
    (catalog_dir / "pharmacies.yaml").write_text(
        text.replace("dataset_id: medical_institutions", "dataset_id: pharmacies").replace(
            "数据目录名称: 医疗机构名录", "数据目录名称: 零售药店名录"
        ),
        encoding="utf-8",
    )
    defs = build_definitions(settings_for(tmp_path / "data", catalog_dir=catalog_dir))
    keys = set(_graph(defs))
    assert {
        dg.AssetKey(["aggregation", "pharmacies"]),
        dg.AssetKey(["exchange", "pharmacies"]),
    } <= keys
    assert defs.resolve_job_def("ingest_pharmacies") is not None


def test_definitions_and_cli_load_without_great_expectations():
    """Great Expectations (about 3 s of CPU to import) is loaded by the process that validates, not by
    every process that loads the definitions: the runner of a parallel run, an unchanged rerun, the
    portal and the UI's code server pay nothing for it."""
    probe = (
        "import sys, warnings; warnings.simplefilter('ignore');"
        "import orchestration.cli; from orchestration.definitions import build_definitions;"
        "build_definitions(); import assets.quality.checks;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'great_expectations')[:3])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_building_the_definitions_warns_of_nothing(tmp_path):
    # Dagster calls a partitioned asset check "preview"; every `publicdata run` printed it on stderr
    # once per process (the CLI's and each worker's) to people who can do nothing about it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_definitions(settings_for(tmp_path))
    assert [str(w.message) for w in caught if issubclass(w.category, dg.PreviewWarning)] == []


def test_a_cli_run_builds_the_definitions_once(tmp_path):
    """``publicdata run`` builds the Definitions with its own settings, in ``orchestration.assembly``;
    it never imports ``orchestration.definitions``, whose import builds the whole graph once more
    for Dagster's tools (about half a second of every run's start)."""
    probe = (
        "import sys, warnings; warnings.simplefilter('ignore');"
        "from pathlib import Path;"
        "import orchestration.assembly as assembly;"
        "from orchestration.runner import run_pipeline;"
        "from tests.helpers import settings_for;"
        "built = [];"
        "original = assembly.build_stages;"
        "assembly.build_stages = lambda *a, **k: built.append(1) or original(*a, **k);"
        f"report = run_pipeline(settings_for(Path({str(tmp_path)!r})), force=True);"
        "print(len(built), 'orchestration.definitions' in sys.modules, bool(report.post_ingest_runs))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "False", "True"], out.stdout
