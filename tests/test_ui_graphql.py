"""The Dagster webserver, started on loopback over a data directory the CLI has run in, serves the asset
graph and the CLI's materializations through GraphQL, as the UI reads them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from assets.landing.generator import generate
from orchestration.runner import dagster_instance, run_pipeline
from tests.helpers import settings_for

pytestmark = pytest.mark.slow

QUERY = """
{
  assetNodes { assetKey { path } groupName dependencyKeys { path } }
  assetOrError(assetKey: {path: ["exchange", "medical_institutions"]}) {
    ... on Asset {
      assetMaterializations(limit: 20) { partition metadataEntries { label } }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_webserver_serves_graph_and_cli_materializations(tmp_path, city, catalog):
    settings = settings_for(tmp_path)
    generate(tmp_path, rows=150, seed=3, city=city, catalog=catalog, as_of=date(2026, 11, 20))
    run_pipeline(settings)
    dagster_instance(settings)

    port = _free_port()
    webserver = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen(
        [str(webserver), "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env={
            **os.environ,
            "PUBLICDATA_HOME": str(tmp_path),
            "DAGSTER_HOME": str(settings.dagster_home),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, "webserver exited"
                assert time.monotonic() < deadline, "webserver did not come up"
                time.sleep(1)
        data = _post(f"http://127.0.0.1:{port}/graphql", QUERY)["data"]
    finally:
        process.terminate()
        process.wait(timeout=30)

    nodes = {tuple(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    for dataset_id in catalog:
        exchange = nodes[("exchange", dataset_id)]
        assert exchange["groupName"] == "exchange"
        assert ["aggregation", dataset_id] in [d["path"] for d in exchange["dependencyKeys"]]
        assert nodes[("aggregation", dataset_id)]["groupName"] == "aggregation"
    materializations = data["assetOrError"]["assetMaterializations"]
    assert {m["partition"] for m in materializations} == {
        f"{county}|{period}"
        for county in city.county_codes
        for period in {
            p.name.split(".")[0]
            for p in (tmp_path / "landing" / county / "medical_institutions").iterdir()
        }
    }
    labels = {e["label"] for e in materializations[0]["metadataEntries"]}
    assert {"dagster/row_count", "dagster/column_schema"} <= labels
