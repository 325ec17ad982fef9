"""Department offices in the portal: the inbox of their county × department, acknowledging and claiming
a fix through the ticket store (audited), their own report only, and a corrected delivery written into
the landing zone under the delivery contract and picked up by the landing sensor. On SQLite and on
PostgreSQL platform records."""

from __future__ import annotations

import io

import dagster as dg
import openpyxl
import pytest

from assets.audit import log as audit
from assets.storage.engine import dispose_engines, get_engine
from assets.tickets import store
from orchestration.definitions import build_definitions
from orchestration.runner import dagster_instance
from tests.helpers import settings_for
from tests.portal.conftest import PEOPLE, add_records, portal_client

pytestmark = pytest.mark.xdist_group("portal")


@pytest.fixture
def records(tmp_path, db_url):
    """Platform records only (accounts, tickets) on SQLite or a throwaway PostgreSQL database."""
    settings = settings_for(tmp_path / "data", platform_url=db_url)
    tickets = add_records(settings)
    yield settings, tickets
    dispose_engines()


def test_clerk_inbox_acknowledge_and_claim(records):
    settings, tickets = records
    browser = portal_client(settings)
    engine = get_engine(settings.platform_url)
    with browser.client as client:
        browser.sign_in("clerk")
        inbox = client.get("/tickets").text
        assert tickets["own"] in inbox and tickets["own_second"] in inbox
        assert tickets["other_county"] not in inbox and tickets["other_department"] not in inbox
        assert "6405**********001X" not in inbox  # examples only on the ticket page, masked
        assert "公民身份号码" in inbox and "built-in method" not in inbox

        page = client.get(f"/tickets/{tickets['own']}").text
        assert "6405**********001X" in page and "确认收到" in page

        done = browser.post(f"/tickets/{tickets['own']}/acknowledge", {"comment": "收到"})
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
        assert 'data-status="acknowledged"' in page and "已确认" in page

        # a claim needs its explanation: refused by the ticket rules, the status stays
        browser.post(f"/tickets/{tickets['own']}/claim-fixed", {"comment": "  "})
        assert store.get_ticket(engine, tickets["own"]).status.value == "acknowledged"
        assert "申报整改须说明整改内容" in client.get(f"/tickets/{tickets['own']}").text

        browser.post(f"/tickets/{tickets['own']}/claim-fixed", {"comment": "已按档案更正"})
        claimed = store.get_ticket(engine, tickets["own"])
        assert claimed.status.value == "fix_claimed"
        assert claimed.history[-1].by == PEOPLE["clerk"].name

        # acknowledging again is not a step the rules allow: a message, no change
        browser.post(f"/tickets/{tickets['own']}/acknowledge")
        assert store.get_ticket(engine, tickets["own"]).status.value == "fix_claimed"

    steps = [e for e in audit.entries(engine) if e.target == f"tickets/{tickets['own']}"]
    assert [e.actor for e in steps] == [PEOPLE["clerk"].name] * 2
    assert {e.role for e in steps} == {"department_office"}


def test_cross_county_ticket_is_refused_and_unchanged(records):
    settings, tickets = records
    browser = portal_client(settings)
    with browser.client as client:
        browser.sign_in("clerk")
        page = client.get(f"/tickets/{tickets['other_county']}")
        assert page.status_code == 403 and "无权访问" in page.text
        assert "只能处理本部门在县区 640521 的事项" in page.text
        assert browser.post(f"/tickets/{tickets['other_county']}/acknowledge").status_code == 403
        assert client.get("/tickets/QT-640521-9999").status_code == 404
    engine = get_engine(settings.platform_url)
    assert store.get_ticket(engine, tickets["other_county"]).status.value == "new"


def test_report_holds_only_the_offices_tickets(records):
    settings, tickets = records
    browser = portal_client(settings)
    with browser.client as client:
        browser.sign_in("clerk")
        response = client.get("/tickets/report?format=xlsx")
        assert response.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        ids = {row[0] for row in sheet.iter_rows(min_row=3, values_only=True)}
        assert ids == {tickets["own"], tickets["own_second"]}
        assert all(
            not (isinstance(c, str) and c.startswith("="))
            for row in sheet.iter_rows(values_only=True)
            for c in row
        )
        html = client.get("/tickets/report").text
        assert tickets["own"] in html and tickets["other_county"] not in html

        browser.sign_in("county")  # the county office: its county, every department
        ids = {
            row[0]
            for row in openpyxl.load_workbook(
                io.BytesIO(client.get("/tickets/report?format=xlsx").content)
            ).active.iter_rows(min_row=3, values_only=True)
        }
        assert ids == {tickets["own"], tickets["own_second"], tickets["other_department"]}


@pytest.mark.slow
def test_corrected_delivery_lands_under_the_contract_and_the_sensor_takes_it(portal_data):
    settings = portal_data.settings
    target = settings.landing_dir / "640521" / "household_registration" / "2026-10.xlsx"
    before = sorted(p.name for p in target.parent.iterdir())
    body = "姓名,公民身份号码,性别\n张三,640521199001011234,男\n".encode("gb18030")
    browser = portal_client(settings)
    with browser.client as client:
        browser.sign_in("clerk")
        for form, name, message in [
            ({"dataset": "household_registration", "period": "2026-10"}, "a.ods", "只接收"),
            ({"dataset": "household_registration", "period": "2026-13"}, "a.csv", "不是有效"),
            ({"dataset": "household_registration", "period": "../x"}, "a.csv", "期次"),
            ({"dataset": "medical_institutions", "period": "2026-Q3"}, "a.csv", None),
        ]:
            response = client.post(
                "/deliveries/upload",
                data={"csrf_token": browser.token("/"), **form},
                files={"file": (name, body, "text/csv")},
                follow_redirects=False,
            )
            if message is None:  # another department's dataset
                assert response.status_code == 403
            else:
                assert message in client.get(response.headers["location"]).text
        assert sorted(p.name for p in target.parent.iterdir()) == before

        response = client.post(
            "/deliveries/upload",
            data={
                "csrf_token": browser.token("/"),
                "dataset": "household_registration",
                "period": "2026-10",
            },
            files={"file": ("户籍更正.CSV", body, "text/csv")},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert (
            "已接收 landing/640521/household_registration/2026-10.csv"
            in client.get(response.headers["location"]).text
        )
    delivered = target.with_suffix(".csv")
    assert delivered.read_bytes() == body
    visible = [p.name for p in delivered.parent.iterdir() if not p.name.startswith(".")]
    assert visible == ["2026-10.csv"]  # a delivery of the period in the other format is set aside
    assert not [p for p in delivered.parent.iterdir() if p.name.endswith(".tmp")]
    engine = get_engine(settings.platform_url)
    (upload,) = [e for e in audit.entries(engine) if e.action == "delivery_upload"]
    assert upload.actor == PEOPLE["clerk"].name
    assert upload.target == "landing/640521/household_registration/2026-10.csv"

    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("landing_files")
    instance = dagster_instance(settings)
    result = sensor(
        dg.build_sensor_context(
            instance=instance,
            cursor=None,
            resources={"platform": settings.platform_resource()},
            definitions=defs,
        )
    )
    assert [(r.job_name, str(r.partition_key)) for r in result.run_requests] == [
        ("ingest_household_registration", "640521|2026-10")
    ]
    instance.dispose()


def test_upload_over_the_limit_is_refused(records):
    settings, _ = records
    settings = settings.model_copy(update={"portal_max_upload_mb": 1})
    browser = portal_client(settings)
    with browser.client as client:
        browser.sign_in("clerk")
        response = client.post(
            "/deliveries/upload",
            data={
                "csrf_token": browser.token("/"),
                "dataset": "household_registration",
                "period": "2026-10",
            },
            files={"file": ("a.csv", b"x" * (2 * 1024 * 1024), "text/csv")},
            follow_redirects=False,
        )
        assert response.status_code == 413 and "上传上限" in response.text
    assert not (settings.landing_dir / "640521" / "household_registration").exists()


@pytest.mark.slow
def test_report_names_the_delivery_each_ticket_came_from(portal_data):
    """Over a real pipeline's records, the office's downloaded sheet gives each ticket's source file
    (the latest delivery of its dataset, county and period), as the department report does."""
    browser = portal_client(portal_data.settings)
    with browser.client as client:
        browser.sign_in("clerk")
        sheet = openpyxl.load_workbook(
            io.BytesIO(client.get("/tickets/report?format=xlsx").content)
        ).active
        header = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
        files = [
            row[header.index("来源文件")] for row in sheet.iter_rows(min_row=3, values_only=True)
        ]
    assert files and all(str(name).endswith((".csv", ".xlsx", ".xls")) for name in files), files
