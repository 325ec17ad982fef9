"""The data directory's Dagster instance (``orchestration/instance_storage.py``): the event log keeps
its SQLite connections and stamps new run files from a template, in Dagster's own file layout — a
stock instance reads every event back — and the data directory's dagster.yaml follows the directory
without overwriting an operator's own."""

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster import AssetExecutionContext
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import check_alembic_revision, get_alembic_config

from orchestration.instance_storage import KeptSqliteEventLogStorage
from orchestration.runner import dagster_instance
from orchestration.settings import Settings


@dg.asset
def numbers(context: AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("数了三个数")
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=numbers)
def numbers_counted() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


JOB = dg.define_asset_job("numbers_job", selection=[numbers])
DEFS = dg.Definitions(assets=[numbers], asset_checks=[numbers_counted], jobs=[JOB])


def _settings(data_dir: Path) -> Settings:
    return Settings.load(data_dir)


def _run(instance: dg.DagsterInstance) -> str:
    result = DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance)
    assert result.success
    return result.run_id


def _events(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    return [
        (e.dagster_event.event_type_value if e.dagster_event else "log", e.user_message)
        for e in instance.all_logs(run_id)
    ]


def test_a_stock_instance_reads_what_the_kept_event_log_wrote(tmp_path):
    settings = _settings(tmp_path / "data")
    instance = dagster_instance(settings)
    assert isinstance(instance.event_log_storage, KeptSqliteEventLogStorage)
    run_ids = [_run(instance) for _ in range(3)]
    written = {run_id: _events(instance, run_id) for run_id in run_ids}
    assert all(("log", "数了三个数") in events for events in written.values())
    materialized = instance.get_latest_materialization_event(dg.AssetKey("numbers"))
    assert materialized is not None and materialized.run_id == run_ids[-1]
    instance.dispose()

    # Dagster's own storage on the same files: the same runs, events, asset and check records
    (settings.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    stock = dg.DagsterInstance.from_config(str(settings.dagster_home))
    assert type(stock.event_log_storage) is SqliteEventLogStorage
    assert {r.dagster_run.run_id for r in stock.get_run_records()} == set(run_ids)
    assert {run_id: _events(stock, run_id) for run_id in run_ids} == written
    latest = stock.get_latest_materialization_event(dg.AssetKey("numbers"))
    assert latest is not None and latest.run_id == run_ids[-1]
    checks = stock.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_counted")]
    )
    assert checks[dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_counted")].run_id == run_ids[-1]


def test_new_run_files_come_from_the_template_at_the_alembic_head(tmp_path):
    settings = _settings(tmp_path / "data")
    instance = dagster_instance(settings)
    run_id = _run(instance)
    directory = settings.dagster_home / "history" / "runs"
    (template,) = directory.glob(".run-template-*.sqlite")
    assert template.name == f".run-template-{dg.__version__}.sqlite"
    config = get_alembic_config(sqlite_event_log.__file__)
    for path in (template, directory / f"{run_id}.db"):
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            db_revision, head_revision = check_alembic_revision(config, connection)
        engine.dispose()
        assert db_revision == head_revision and head_revision is not None
    # no scratch file is left behind; only run files and the index are *.db
    assert not list(directory.glob("*.part")) and not list(directory.glob(".run-template-*.db"))
    assert {p.stem for p in directory.glob("*.db")} == {run_id, "index"}
    instance.dispose()


def test_the_instance_yaml_follows_the_data_directory_and_spares_an_operators_own(tmp_path):
    settings = _settings(tmp_path / "data")
    instance = dagster_instance(settings)
    run_id = _run(instance)
    instance.dispose()

    moved = tmp_path / "moved"
    shutil.move(tmp_path / "data", moved)
    settings = _settings(moved)
    instance = dagster_instance(settings)
    text = (settings.dagster_home / "dagster.yaml").read_text(encoding="utf-8")
    assert str(moved / "dagster_home") in text and str(tmp_path / "data") not in text
    assert [r.dagster_run.run_id for r in instance.get_run_records()] == [run_id]
    assert ("log", "数了三个数") in _events(instance, run_id)
    instance.dispose()

    own = "# our operations team's instance\ntelemetry:\n  enabled: false\n"
    (settings.dagster_home / "dagster.yaml").write_text(own, encoding="utf-8")
    instance = dagster_instance(settings)
    assert (settings.dagster_home / "dagster.yaml").read_text(encoding="utf-8") == own
    assert type(instance.event_log_storage) is SqliteEventLogStorage
    instance.dispose()


def test_index_tables_found_are_remembered_and_a_missing_one_is_asked_again(tmp_path):
    settings = _settings(tmp_path / "data")
    instance = dagster_instance(settings)
    _run(instance)  # its asset check event asks for the index's check table
    storage = instance.event_log_storage
    assert isinstance(storage, KeptSqliteEventLogStorage)
    index = settings.dagster_home / "history" / "runs" / "index.db"
    assert storage.has_table("asset_check_executions")
    assert not storage.has_table("probe_table")
    with sqlite3.connect(index) as connection:  # a migration in another process adds a table
        connection.execute("CREATE TABLE probe_table (id INTEGER)")
    assert storage.has_table("probe_table")  # not found before: asked again
    with sqlite3.connect(index) as connection:
        connection.execute("DROP TABLE probe_table")
    assert storage.has_table("probe_table")  # found once: remembered, the index not opened again
    storage.wipe()  # forgets what it found
    assert not storage.has_table("probe_table")
    instance.dispose()


def test_a_stamped_run_file_opens_without_parsing_the_alembic_scripts(tmp_path, monkeypatch):
    settings = _settings(tmp_path / "data")
    instance = dagster_instance(settings)
    run_id = _run(instance)
    written = _events(instance, run_id)
    instance.dispose()

    checked: list[str] = []
    stock_check = sqlite_event_log.check_alembic_revision

    def counted(config, connection):  # Dagster's own check, counted
        checked.append(str(connection.engine.url))
        return stock_check(config, connection)

    monkeypatch.setattr(sqlite_event_log, "check_alembic_revision", counted)
    directory = settings.dagster_home / "history" / "runs"
    # a run file without a revision (an older Dagster's, say): the stock code creates and stamps it
    unstamped = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    sqlite3.connect(directory / f"{unstamped}.db").close()

    instance = dagster_instance(settings)
    assert _events(instance, run_id) == written  # read back
    assert not [url for url in checked if run_id in url]  # ...without the scripts parsed for it
    assert _events(instance, unstamped) == []
    assert [url for url in checked if unstamped in url]  # this one went through the stock check
    with sqlite3.connect(directory / f"{unstamped}.db") as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    config = get_alembic_config(sqlite_event_log.__file__)
    engine = sa.create_engine(f"sqlite:///{directory / f'{run_id}.db'}")
    with engine.connect() as connection:
        assert stock_check(config, connection) == (revision, revision)
    engine.dispose()
    instance.dispose()
