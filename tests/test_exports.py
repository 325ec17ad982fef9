"""The export path end to end (issue 14), on SQLite and a real PostgreSQL: each refusal names its column
or cell; a clean aggregate waits for the reviewer and the filing, then is released to the outbox with its
SM3 digest in the release register and the audit log; rejected or unfiled exports leave nothing there;
income and its ledger."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from assets.audit.log import entries
from assets.exports.intake import Source, request_export, sm3_file
from assets.exports.release import list_releases, trace
from assets.exports.workflow import (
    ExportError,
    file_export,
    get_export,
    open_deadlines,
    review_export,
)
from assets.products.fees import load_fee_config
from assets.products.ledger import income, ledger
from assets.products.register import get_product
from tests.exports_fixtures import (
    CITY,
    CLEAN_SQL,
    DOMINATED,
    FILER,
    M_USER,
    PERIOD_END,
    REVIEWER,
    SMALL,
    TODAY,
    build_world,
)

VALID_ID = "640521198001011233"  # GB 11643 check digit valid


@pytest.fixture
def world(db_url, tmp_path, catalog):
    return build_world(db_url, tmp_path / "data", catalog)


def _request(world, *, sql=None, file=None, product=None, today=TODAY, suppress=False):
    export_id = request_export(
        platform_engine=world.engine,
        operation_engine=world.engine,
        data_dir=world.data_dir,
        catalog=world.catalog,
        config=world.config,
        account=M_USER,
        product_id=product or world.commercial,
        application_id=world.application_id,
        recipient="中卫市农业农村局",
        source=Source(sql=sql, file=file),
        today=today,
        suppress=suppress,
    )
    return get_export(world.engine, export_id).as_record(world.config)


def _checks(record) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (c["passed"], c["reason"]) for c in record["checks"]}


def _release(world, export_id: str, filing_no: str):
    return file_export(
        platform_engine=world.engine,
        operation_engine=world.engine,
        data_dir=world.data_dir,
        account=FILER,
        export_id=export_id,
        filing_no=filing_no,
        fee_config=load_fee_config(),
        city=CITY,
        catalog=world.catalog,
    )


def _outbox(world) -> list[str]:
    return sorted(p.name for p in world.outbox.glob("*")) if world.outbox.exists() else []


def test_a_raw_id_number_in_a_workspace_file_is_refused_naming_the_cell(world):
    path = world.workspace / "results" / "名单.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(
        {"补贴类型": ["耕地地力保护补贴"] * 3, "备注": ["无", f"联系人{VALID_ID}", "无"]}
    ).to_csv(path, index=False)
    record = _request(world, file="results/名单.csv")
    assert record["status"] == "refused"
    passed, reason = _checks(record)["no_personal_data"]
    assert not passed
    assert "列 备注 第 2 行" in reason and "公民身份号码" in reason
    assert VALID_ID not in reason and VALID_ID not in str(record)


def test_a_pseudonym_column_is_refused(world):
    record = _request(
        world, sql="SELECT id_number AS pid, subsidy_type FROM agricultural_subsidies"
    )
    assert record["status"] == "refused"
    passed, reason = _checks(record)["not_reversible"]
    assert not passed and "列 pid" in reason and "假名" in reason
    assert "agricultural_subsidies.id_number" in reason


def test_an_aggregate_with_a_cell_of_3_people_is_refused_naming_the_cell(world):
    record = _request(
        world,
        sql="SELECT subsidy_type, COUNT(*) AS people FROM agricultural_subsidies "
        f"WHERE subsidy_type <> '{DOMINATED}' GROUP BY subsidy_type",
    )
    assert record["status"] == "refused"
    passed, reason = _checks(record)["disclosure_control"]
    assert not passed
    assert f"subsidy_type={SMALL}" in reason and "只有 3 个贡献者" in reason
    assert "耕地地力保护补贴" not in reason  # the cells of 40 and 15 pass


def test_a_cell_dominated_by_one_contributor_is_refused(world):
    record = _request(
        world,
        sql="SELECT subsidy_type, COUNT(*) AS people, SUM(amount) AS total "
        f"FROM agricultural_subsidies WHERE subsidy_type = '{DOMINATED}' GROUP BY subsidy_type",
    )
    passed, reason = _checks(record)["disclosure_control"]
    assert record["status"] == "refused" and not passed
    assert f"subsidy_type={DOMINATED}" in reason and "total" in reason
    assert "1 个贡献者支配" in reason and "N-K" in reason


def test_dominated_and_small_cells_can_be_suppressed_before_release(world):
    record = _request(
        world,
        sql="SELECT subsidy_type, COUNT(*) AS people, SUM(amount) AS total "
        "FROM agricultural_subsidies GROUP BY subsidy_type",
        suppress=True,
    )
    assert record["status"] == "pending_review"
    passed, reason = _checks(record)["disclosure_control"]
    assert passed and "已压制 2 个" in reason and SMALL in reason and DOMINATED in reason
    assert len(record["report"]["suppressed"]) == 2


def test_a_query_reading_an_ungranted_item_is_refused_naming_it(world):
    record = _request(
        world, sql="SELECT phone, COUNT(*) AS n FROM agricultural_subsidies GROUP BY phone"
    )
    passed, reason = _checks(record)["within_grant"]
    assert record["status"] == "refused" and not passed
    assert "agricultural_subsidies.phone" in reason
    assert _checks(record)["disclosure_control"][0] is False  # never run


def test_a_request_outside_the_applications_period_is_refused(world):
    after = date(2026, 7, 1)
    record = _request(world, sql=CLEAN_SQL, today=after)
    passed, reason = _checks(record)["within_application"]
    assert record["status"] == "refused" and not passed
    assert str(PERIOD_END) in reason and str(after) in reason


def test_a_clean_aggregate_waits_for_review_and_filing_then_is_released(world):
    record = _request(world, sql=CLEAN_SQL)
    export_id = record["id"]
    assert record["status"] == "pending_review"
    assert all(c["passed"] for c in record["checks"])
    assert record["due_date"] == "2026-03-09"  # 5 working days after Monday 2 March
    with pytest.raises(ExportError, match="待市数据局备案"):
        _release(world, export_id, "ZWBA-2026-0001")
    assert _outbox(world) == []

    review_export(
        world.engine,
        world.data_dir,
        REVIEWER,
        export_id,
        approve=True,
        reason="核查通过",
        today=TODAY,
    )
    assert get_export(world.engine, export_id).row["status"] == "pending_filing"
    (waiting,) = open_deadlines(world.engine, world.config, date(2026, 3, 10))
    assert (waiting["id"], waiting["waiting_for"]) == (export_id, "bureau_filing")
    assert (
        waiting["due_date"] == "2026-03-09" and waiting["overdue"]
    )  # 5 working days after 2 March
    assert _outbox(world) == []  # approved but not filed: nothing leaves

    released = _release(world, export_id, "ZWBA-2026-0001")
    assert released.row["status"] == "released"
    (release,) = list_releases(world.engine)
    path = world.data_dir / release.file_path
    assert _outbox(world) == [path.name]
    assert release.sm3 == sm3_file(path)
    assert (release.product_id, release.application_id, release.filing_no) == (
        world.commercial,
        world.application_id,
        "ZWBA-2026-0001",
    )
    assert release.approved_by == REVIEWER and release.rows == 2
    assert release.recipient == "中卫市农业农村局"
    assert [r.release_id for r in trace(world.engine, path)] == [release.release_id]
    released_frame = pd.read_csv(path, encoding="utf-8-sig")
    assert sorted(released_frame["people"]) == [15, 40]
    (audited,) = entries(
        world.engine, target_prefix=f"exports/{export_id}", actions=("export_release",)
    )
    assert audited.detail["sm3"] == release.sm3 and audited.actor == FILER
    assert audited.detail["filing_no"] == "ZWBA-2026-0001"

    # income: the product's price, distributed to the last fen
    product = get_product(world.engine, world.commercial)
    assert product.price_fen == 144_000  # (1000.00 + 333.33) yuan × 1.08 = 143 999.64 fen, half up
    (earned,) = income(world.engine, release_id=release.release_id)
    lines = ledger(world.engine, release_id=release.release_id)
    assert earned["amount_fen"] == release.price_fen == product.price_fen
    assert sum(line.amount_fen for line in lines) == product.price_fen
    parties = {line.party for line in lines}
    assert parties == {"city", "county:640502", "county:640521", "department:agriculture_rural"}


def test_a_rejected_export_leaves_nothing_in_the_outbox(world):
    export_id = _request(world, sql=CLEAN_SQL)["id"]
    staged = world.data_dir / get_export(world.engine, export_id).row["staged_path"]
    assert staged.is_file()
    with pytest.raises(ExportError, match="理由"):
        review_export(
            world.engine,
            world.data_dir,
            REVIEWER,
            export_id,
            approve=False,
            reason=" ",
            today=TODAY,
        )
    review_export(
        world.engine,
        world.data_dir,
        REVIEWER,
        export_id,
        approve=False,
        reason="接收方与申请用途不符",
        today=TODAY,
    )
    with pytest.raises(ExportError, match="审核未通过"):
        _release(world, export_id, "ZWBA-2026-0002")
    assert _outbox(world) == [] and not staged.exists()
    assert list_releases(world.engine) == []


def test_a_public_good_product_is_released_free_with_no_income(world):
    export_id = _request(world, sql=CLEAN_SQL, product=world.public_good)["id"]
    review_export(
        world.engine,
        world.data_dir,
        REVIEWER,
        export_id,
        approve=True,
        reason="公益用途",
        today=TODAY,
    )
    _release(world, export_id, "ZWBA-2026-0003")
    (release,) = list_releases(world.engine)
    assert release.use == "public_good" and release.price_fen == 0
    assert income(world.engine) == [] and ledger(world.engine) == []


def test_cli_request_review_file_and_the_monthly_summary(world, tmp_path):
    import json
    from datetime import UTC, datetime

    import dagster as dg
    from click.testing import CliRunner

    from assets.common.workdays import china_date
    from assets.exports.assets import exports_monthly_summary
    from assets.exports.summary import monthly_summary
    from orchestration.cli import main
    from tests.helpers import settings_for

    env = {"PUBLICDATA_DATABASE_URL": world.url, "PUBLICDATA_TODAY": TODAY.isoformat()}
    runner = CliRunner()
    base = ["--data-dir", str(world.data_dir)]

    def run(*args: str) -> dict:
        result = runner.invoke(main, [*args[:2], *base, *args[2:], "--json"], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    requested = run(
        "exports", "request", "--product", world.commercial, "--application",
        world.application_id, "--recipient", "中卫市农业农村局", "--sql", CLEAN_SQL,
        "--as", M_USER,
    )  # fmt: skip
    assert set(requested) >= {"id", "status", "checks"}
    assert requested["status"] == "pending_review"
    assert [set(c) for c in requested["checks"]] == [{"name", "passed", "reason"}] * 5
    refused = runner.invoke(
        main,
        [
            "exports",
            "review",
            *base,
            requested["id"],
            "--approve",
            "--reason",
            "可",
            "--as",
            M_USER,
        ],
        env=env,
    )
    assert refused.exit_code == 1 and "exports.review" in refused.output
    run("exports", "review", requested["id"], "--approve", "--reason", "核查通过", "--as", REVIEWER)
    filed = run("exports", "file", requested["id"], "--filing-no", "ZWBA-2026-0009", "--as", FILER)
    assert filed["status"] == "released" and filed["release"]["filing_no"] == "ZWBA-2026-0009"
    traced = run("exports", "trace", str(world.data_dir / filed["release"]["file_path"]))
    assert traced[0]["export_id"] == requested["id"]
    books = run("products", "ledger")
    assert sum(line["amount_fen"] for line in books["ledger"]) == books["income"][0]["amount_fen"]

    this_month = monthly_summary(world.engine, china_date(datetime.now(UTC)))
    assert this_month["releases"] == [
        {"use": "commercial", "count": 1, "rows": 2, "price_fen": 144_000}
    ]
    assert this_month["income_fen"] == 144_000
    assert this_month["export_requests"] == {"released": 1}

    platform = settings_for(world.data_dir, world.url).platform_resource()
    result = dg.materialize(
        [exports_monthly_summary], partition_key="2026-01-01", resources={"platform": platform}
    )
    metadata = result.asset_materializations_for_node("exports__monthly_summary")[0].metadata
    assert metadata["releases"].value == 0 and metadata["income_fen"].value == 0
    assert (world.data_dir / "reports" / "exports" / "2026-01.json").is_file()


def test_a_release_in_the_first_hours_of_a_china_month_counts_in_that_month(world):
    """The monthly summary's month is China's: a release at 00:30 on 1 April, China time (16:30 on
    31 March in UTC), is April's, with its income — on SQLite too, which keeps a time's wall clock
    and drops its zone."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from assets.exports.summary import monthly_summary
    from assets.storage.tables import income_ledger, product_income, release_register

    record = _request(world, sql=CLEAN_SQL)
    review_export(
        world.engine, world.data_dir, REVIEWER, record["id"], approve=True, reason="可", today=TODAY
    )
    _release(world, record["id"], "ZWBA-2026-0002")
    at = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    with world.engine.begin() as connection:
        connection.execute(sa.update(release_register).values(released_at=at))
        connection.execute(sa.update(product_income).values(recorded_at=at))
        connection.execute(sa.update(income_ledger).values(recorded_at=at))

    april, march = (
        monthly_summary(world.engine, date(2026, 4, 1)),
        monthly_summary(world.engine, date(2026, 3, 15)),
    )
    assert april["month"] == "2026-04" and march["month"] == "2026-03"
    assert april["releases"] == [{"use": "commercial", "count": 1, "rows": 2, "price_fen": 144_000}]
    assert april["income_fen"] == 144_000
    assert march["releases"] == [] and march["income_fen"] == 0
