"""The asset graph of issue 3: governance → classification → operation per dataset, groups, checks,
no operation asset for a 禁止开放 dataset, and the post-ingest job that materializes them."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import build_definitions, build_stages, post_ingest_jobs
from orchestration.stages.operation import OPERATION_JOB
from tests.helpers import settings_for


def test_governance_classification_operation_graph(tmp_path, catalog):
    settings = settings_for(tmp_path)
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    check_keys = graph.asset_check_keys
    job = defs.resolve_job_def(OPERATION_JOB)
    job_keys = job.asset_layer.asset_graph.get_all_asset_keys()
    job_checks = job.asset_layer.asset_graph.asset_check_keys

    for dataset_id, entry in catalog.items():
        exchange = dg.AssetKey(["exchange", dataset_id])
        governance = dg.AssetKey(["governance", dataset_id])
        classification = dg.AssetKey(["classification", dataset_id])
        operation = dg.AssetKey(["operation", dataset_id])
        assert graph.get(governance).group_name == "governance"
        assert graph.get(classification).group_name == "classification"
        assert graph.get(governance).parent_keys == {exchange}
        assert graph.get(classification).parent_keys == {governance}
        assert graph.get(governance).partitions_def is None  # reads every partition
        reconciled = dg.AssetCheckKey(governance, "reconciled")
        assert reconciled in check_keys and reconciled in job_checks
        assert graph.get_check_spec(reconciled).blocking
        assert {governance, classification} <= job_keys
        if entry.is_prohibited:
            assert operation not in keys
            continue
        node = graph.get(operation)
        assert node.group_name == "operation"
        assert node.parent_keys == {governance, classification}
        assert node.description and node.owners
        assert node.metadata["dagster/table_name"] == f"operation_{dataset_id}"
        assert operation in job_keys
        for name in ("no_cleartext_identifiers", "k_anonymity", "no_emptied_columns"):
            assert dg.AssetCheckKey(operation, name) in job_checks
    assert dg.AssetKey(["operation", "petition_records"]) not in keys
    assert OPERATION_JOB in post_ingest_jobs(build_stages(settings))
