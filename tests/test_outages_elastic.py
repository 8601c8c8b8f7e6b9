"""A hung Elasticsearch (SIGSTOP: the connection is accepted, no answer comes): searches
fall back or fail within the search timeout, then at once while the circuit breaker is
open; /healthz answers within a second; all is well again after SIGCONT. The test starts
an Elasticsearch node of its own (``.ci/elasticsearch.sh`` with a private port, state
directory and cluster name) and stops it afterwards; the shared nodes are never paused."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from directory_app.assembly import create_app
from directory_search.base import SearchQuery, SearchUnavailable

from directory_core.directory import open_directory
from directory_core.instance import parse_instance

from .conftest import DORTMUND_FILE, build_known_offers

pytestmark = [pytest.mark.elasticsearch, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / ".ci" / "elasticsearch.sh"
STATE_DIR = Path("/tmp/directory-es-i17")
ENV = {
    "ES_BASE_PORT": "9279",
    "ES_STATE_DIR": str(STATE_DIR),
    "ES_CLUSTER_NAME": "directory-outage-test",
    "ES_HEAP": "512m",
}


def _script(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), command], env={**os.environ, **ENV}, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def private_es() -> Iterator[tuple[str, int]]:
    """(URL, JVM pid) of a one-node cluster of this module's own."""
    try:
        done = _script("start")
        if done.returncode != 0:
            message = f"elasticsearch.sh start failed:\n{done.stderr[-3000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        url = done.stdout.strip().splitlines()[-1].removeprefix("ES_URL=")
        pid = int((STATE_DIR / "es.pid").read_text().strip())
        yield url, pid
    finally:
        pid_file = STATE_DIR / "es.pid"
        if pid_file.exists():  # never leave it paused: stop cannot end a stopped JVM
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGCONT)
            except (ProcessLookupError, ValueError):
                pass
        _script("stop")


def test_a_hung_cluster_fails_fast_and_health_answers_within_a_second(
    private_es, tmp_path, monkeypatch, serve
):
    url, pid = private_es
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / 'dortmund.sqlite'}")
    monkeypatch.delenv("DIRECTORY_ELASTICSEARCH_URL", raising=False)
    data = tomllib.loads(DORTMUND_FILE.read_text(encoding="utf-8"))
    data["search"] = {
        "backend": "elasticsearch",
        "url": url,
        "index_prefix": f"outage-{os.getpid()}",
        "fallback": "embedded",
    }  # the default timeouts: search 2 s, health 0.8 s, breaker 5 s
    data["server"] = {"health_details": True}  # the test reads /healthz's full report
    instance = parse_instance(data, source="test")
    assert dataclasses.astuple(instance.search)[-3:] == (2.0, 0.8, 5.0)
    directory = open_directory(instance)
    try:
        known = build_known_offers()
        directory.save(list(known.values()))
        query = SearchQuery(text="Phoenix")
        expected = [known["cafe"].id]
        assert [h.id for h in directory.search_backend.search(query).hits] == expected
        server = serve(create_app(directory, sync_interval=None))
        assert httpx.get(f"{server.url}/healthz").json()["search"]["ok"] is True

        os.kill(pid, signal.SIGSTOP)
        try:
            # the first search waits for the search timeout, then the fallback answers
            started = time.monotonic()
            assert [h.id for h in directory.search(query).hits] == expected
            assert time.monotonic() - started < 2.0 + 1.5
            # while the breaker is open: no more waiting
            started = time.monotonic()
            for _ in range(5):
                assert [h.id for h in directory.search(query).hits] == expected
                with pytest.raises(SearchUnavailable, match="did not answer"):
                    directory.search_backend.search(query)
            assert time.monotonic() - started < 1.0
            for _ in range(3):
                started = time.monotonic()
                response = httpx.get(f"{server.url}/healthz", timeout=10)
                assert time.monotonic() - started < 1.0
                health = response.json()
                assert health["search"]["ok"] is False and health["degraded"] is True
                assert health["fallback"]["ok"] is True
        finally:
            os.kill(pid, signal.SIGCONT)

        # the cluster answers again: after the breaker's 5 s, searches go there again
        deadline = time.monotonic() + 30
        while True:
            try:
                hits = directory.search_backend.search(query).hits
                break
            except SearchUnavailable:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert [h.id for h in hits] == expected
        health = httpx.get(f"{server.url}/healthz", timeout=10).json()
        assert health["ok"] is True and "degraded" not in health
    finally:
        try:
            directory.search_backend.drop()
        finally:
            directory.close()
