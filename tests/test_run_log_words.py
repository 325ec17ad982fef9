"""What an ingest run tells the UI's run log is written for people (issue 12): rejected and skipped
rows counted by reason in Chinese, never a raw Python dict of reason codes."""

from __future__ import annotations

import dagster as dg

from assets.aggregation.keys import ingest_job_name
from assets.aggregation.partitions import partition_key, period_partitions_name
from assets.landing.rejections import describe_counts
from orchestration.definitions import build_definitions
from tests.helpers import medical_rows, settings_for, write_delivery


def test_counts_are_described_in_words():
    assert describe_counts({"field_count": 3, "title_row": 1}) == "列数与表头不符 3 行、标题行 1 行"
    assert describe_counts({"something_new": 2}) == "something_new 2 行"


def test_a_run_log_counts_rejected_and_skipped_rows_in_words(tmp_path, catalog):
    settings = settings_for(tmp_path)
    entry = catalog["medical_institutions"]
    path = write_delivery(tmp_path, entry, "640522", "2026-Q3", medical_rows(4))
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(0, "2026年第三季度海原县医疗机构信息")  # a title row above the header
    lines[3] += ",多出的一格"  # a data row with one field too many
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(period_partitions_name(entry.dataset_id), ["2026-Q3"])
        run = defs.resolve_job_def(ingest_job_name(entry.dataset_id)).execute_in_process(
            instance=instance, partition_key=partition_key("640522", "2026-Q3")
        )
        assert run.success
        messages = [
            record.user_message
            for record in instance.all_logs(run.run_id)
            if record.dagster_event is None
        ]
    assert any("拒收 1 行（列数与表头不符 1 行）" in m for m in messages), messages
    assert any("跳过 1 行（标题行 1 行）" in m for m in messages), messages
    assert not any("{'" in m or '{"' in m for m in messages), messages
