"""Progress in datasets and rows: stage reports reach the log and the listeners, and the CLI's line
counts datasets and rows per stage (issue 13)."""

from assets.common import progress
from assets.common.catalog import SHIPPED_CATALOG_DIR, load_catalog
from orchestration.progress_line import StageLine, stage_progress, stage_totals


def test_a_report_goes_to_the_log_and_to_listeners_only_while_listening():
    logged: list[str] = []
    heard: list[progress.StageProgress] = []
    with progress.listening(heard.append):
        progress.report(
            logged.append, "governance", "household_registration", "户籍人口", rows=1200
        )
    progress.report(logged.append, "governance", "household_registration", "户籍人口", rows=5)
    assert logged == [
        "治理 户籍人口（household_registration）完成 · 1,200 行",
        "治理 户籍人口（household_registration）完成 · 5 行",
    ]
    assert [e.rows for e in heard] == [1200]


def test_a_failing_listener_does_not_stop_the_stage():
    def broken(_event):
        raise RuntimeError("display gone")

    with progress.listening(broken):
        progress.report(None, "operation", "a", "甲", rows=1)


def test_the_line_counts_datasets_and_rows_per_stage_and_keeps_the_file_count():
    shown: list[tuple[str, int, int]] = []
    line = StageLine(lambda *a: shown.append(a), {"governance": 7})
    line.files("landing/640502/a/2026-10.csv", 20, 21)
    line.stage(progress.StageProgress("governance", "a", "户籍人口", 300_000, False))
    line.stage(progress.StageProgress("governance", "a", "户籍人口", 300_000, True))
    line.stage(progress.StageProgress("governance", "b", "社保", 112_000, False))
    assert shown[1:] == [
        ("治理 户籍人口 1/7 数据集 · 300,000 行", 20, 21),
        ("治理 户籍人口 1/7 数据集 · 300,000 行", 20, 21),
        ("治理 社保 2/7 数据集 · 412,000 行", 20, 21),
    ]


def test_files_are_counted_for_ingest_and_quality():
    shown: list[tuple[str, int, int]] = []
    line = StageLine(lambda *a: shown.append(a), {})
    line.files("x", 0, 21)
    line.stage(progress.StageProgress("ingest", "a", "户籍人口", 9_500, True))
    line.stage(progress.StageProgress("quality", "a", "户籍人口", 9_500, True))
    assert shown[1][0] == "入库 户籍人口 1/21 文件 · 9,500 行"
    assert shown[2][0] == "质量校验 户籍人口 1/21 文件 · 9,500 行"


def test_operation_totals_leave_out_prohibited_datasets():
    catalog = load_catalog(SHIPPED_CATALOG_DIR)
    totals = stage_totals(catalog)
    assert totals["governance"] == len(catalog)
    assert totals["operation"] == sum(1 for e in catalog.values() if not e.is_prohibited)


def test_without_a_progress_callback_nothing_listens():
    with stage_progress(None, {}) as files:
        assert files is None
        progress.report(None, "governance", "a", "甲", rows=1)
