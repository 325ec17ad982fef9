"""Metadata shown in the Dagster UI never carries a raw identifier, declared or not."""

import re

from assets.exchange.metadata import column_schema, masked_preview
from tests.helpers import slice_frame


def test_preview_masks_declared_and_undeclared_identifiers(catalog):
    entry = catalog["medical_institutions"]  # its 联系电话 is not declared personal data
    frame = slice_frame(entry, "640502", "2026-Q3", 3)
    frame["phone"] = ["13812345678", "0955-7012345", "联系人手机 15900001111"]
    frame["uscc"] = "12640500MB1234567X"
    text = masked_preview(frame, entry).value
    assert not re.search(r"[0-9]{10,}", text)
    assert "0955-7012345" in text  # an institution's landline is public and stays


def test_preview_masks_declared_personal_columns(catalog):
    entry = catalog["household_registration"]
    frame = slice_frame(entry, "640521", "2026-10", 2)
    frame["id_number"] = "64052119850312001X"
    frame["name"] = "张三丰"
    text = masked_preview(frame, entry).value
    assert "64052119850312001X" not in text and "张三丰" not in text
    assert "张**" in text


def test_column_schema_tags_personal_data(catalog):
    entry = catalog["household_registration"]
    columns = {c.name: c for c in column_schema(entry).columns}
    assert columns["id_number"].tags["pii"] == "cn_id_number"
    assert columns["id_number"].description.startswith("公民身份号码")
    assert "provenance" in columns["source_row"].tags


def test_the_overview_counts_the_whole_dataset_not_only_the_latest_partition(tmp_path, catalog):
    """The exchange asset's latest materialization is one county's partition; its metadata also
    gives the whole table by county, so the UI's overview does not read as the dataset's size."""
    import dagster as dg

    from assets.aggregation.keys import ingest_job_name
    from assets.aggregation.partitions import partition_key, period_partitions_name
    from assets.exchange.assets import exchange_key
    from orchestration.definitions import build_definitions
    from tests.helpers import medical_rows, settings_for, write_delivery

    settings = settings_for(tmp_path)
    entry = catalog["medical_institutions"]
    write_delivery(tmp_path, entry, "640521", "2026-Q3", medical_rows(3))
    write_delivery(tmp_path, entry, "640522", "2026-Q3", medical_rows(5, prefix="诊所"))
    defs = build_definitions(settings)
    job = defs.resolve_job_def(ingest_job_name(entry.dataset_id))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(period_partitions_name(entry.dataset_id), ["2026-Q3"])
        for county in ("640521", "640522"):
            assert job.execute_in_process(
                instance=instance, partition_key=partition_key(county, "2026-Q3")
            ).success
        latest = instance.get_latest_materialization_event(exchange_key(entry.dataset_id))
        metadata = latest.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 5  # the latest partition (海原县)
    assert metadata["全表行数（全部县区、期次）"].value == 8
    assert metadata["各县区行数"].value == {"中宁县（640521）": 3, "海原县（640522）": 5}
