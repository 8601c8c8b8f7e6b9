"""``directory bench --start-es`` (what ``./dev bench`` runs): the run starts a one-node
Elasticsearch 7.10.2 of its own with .ci/elasticsearch.sh on a private port and state
directory, measures it and stops it at the end. Under CI=true a node that cannot start
fails the test instead of skipping it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from directory_bench.errors import BenchError
from directory_bench.es_server import started_elasticsearch
from directory_cli.main import cli

from .test_bench import _processes_mentioning


def test_a_port_the_script_refuses_is_a_clear_error(tmp_path):
    with pytest.raises(BenchError, match="could not start Elasticsearch") as caught:
        with started_elasticsearch(tmp_path / "es", base_port=9400, log=lambda m: None):
            pass
    assert "out of range" in str(caught.value)  # the script's own words


@pytest.mark.elasticsearch
@pytest.mark.slow
def test_bench_starts_measures_and_stops_its_own_elasticsearch(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["bench", "--quick", "--repeat", "5", "--backends", "elasticsearch", "--start-es",
         "--out", str(out)],
        env={"DIRECTORY_BENCH_ES_URL": None},
        catch_exceptions=False,
    )  # fmt: skip
    if result.exit_code != 0 and "could not start Elasticsearch" in result.output:
        if os.environ.get("CI"):
            pytest.fail(result.output[-3000:])
        pytest.skip(f"Elasticsearch did not start: {result.output[-500:]}")
    assert result.exit_code == 0, result.output[-3000:]
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    url = report["config"]["es_url"]
    shared = {os.environ.get("DIRECTORY_TEST_ES_URL"), os.environ.get("DIRECTORY_TEST_ES3_URL")}
    assert url and url not in shared and url != "http://127.0.0.1:9200"  # its own node
    figures = report["results"]["elasticsearch"]["10000"]
    assert "error" not in figures, figures.get("error")
    assert figures["import"]["index_documents"] == 10_000
    assert figures["http"]["nearby"]["n"] == 5 and figures["load"]["errors"] == 0
    assert "Elasticsearch is up at" in result.output and "Elasticsearch stopped" in result.output
    with pytest.raises(httpx.TransportError):  # stopped
        httpx.get(url, timeout=5)
    root = Path(result.output.split("working in ", 1)[1].split()[0])
    assert not _processes_mentioning(str(root))  # no JVM left with the run's base path
