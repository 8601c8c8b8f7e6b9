"""A PostgreSQL outage as clients, /healthz and the log see it, and the recovery without
a restart. The test starts a PostgreSQL server of its own (``.ci/postgres.sh`` with a
private port and state directory), stops it under a running API server and starts it
again; the shared test server is never touched."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from directory_app.assembly import create_app

from directory_core.directory import open_directory
from directory_core.instance import SearchSettings, ServerSettings
from directory_core.outage_log import OutageLog

from .conftest import DORTMUND_FILE, build_known_offers, load_instance

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / ".ci" / "postgres.sh"
OFFERS = "{ offers(first: 5) { totalCount edges { node { title } } } }"


class PrivatePostgres:
    """``.ci/postgres.sh`` on a free port with a state directory of its own."""

    def __init__(self, state_dir: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.env = {**os.environ, "PG_PORT": str(port), "PG_STATE_DIR": str(state_dir)}
        self.url = ""

    def _run(self, command: str) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), command], env=self.env, capture_output=True, text=True,
            timeout=180, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            message = f"postgres.sh {command} failed:\n{done.stderr[-3000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return done.stdout

    def start(self) -> str:
        line = self._run("start").strip().splitlines()[-1]
        self.url = line.removeprefix("PG_URL=")
        return self.url

    def stop(self) -> None:
        self._run("stop")

    def destroy(self) -> None:
        self._run("destroy")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    state = Path(f"/tmp/directory-pg-i17-{os.getpid()}")
    server = PrivatePostgres(state)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_outage_log_is_one_line_per_interval(caplog):
    log = OutageLog(logging.getLogger("test.outage"), interval=60)
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        for _ in range(50):
            log.report("GraphQL request", RuntimeError("connection refused\nSQL: SELECT 1"))
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage() == (
        "store unavailable: GraphQL request failed: connection refused"
    )
    log.interval = 0
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        log.report("GraphQL request", RuntimeError("refused"))
    assert "(49 more failures since the last report)" in caplog.records[-1].getMessage()


def test_a_postgresql_outage_is_coded_and_recovers_without_restart(
    private_postgres, tmp_path, serve, graphql_client, caplog
):
    instance = dataclasses.replace(
        load_instance(DORTMUND_FILE),
        store_url=private_postgres.url,
        search=SearchSettings(path=str(tmp_path / "search.sqlite")),
        server=ServerSettings(health_details=True),  # the test reads the full report
    )
    directory = open_directory(instance)
    try:
        known = build_known_offers()
        directory.save(list(known.values()))
        server = serve(create_app(directory, sync_interval=0.5, offer_cache_size=0))
        client = graphql_client(server.url)
        total = client.data(OFFERS)["offers"]["totalCount"]
        assert total == 8  # the archived one is left out

        private_postgres.stop()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for _ in range(5):
                result = client.post(OFFERS)
                assert result["data"] is None
                (error,) = result["errors"]
                assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
                assert error["message"] == (
                    "The directory's database is unavailable; try again in a moment."
                )
            started = time.monotonic()
            response = httpx.get(f"{server.url}/healthz", timeout=10)
            assert time.monotonic() - started < 2
            assert response.status_code == 503
            health = response.json()
            assert health["ok"] is False and health["store"]["ok"] is False
            assert "\n" not in health["store"]["error"]
            time.sleep(1.2)  # the sync task fails too, meanwhile
        outage_lines = [r for r in caplog.records if "store unavailable" in r.getMessage()]
        assert 1 <= len(outage_lines) <= 2  # requests and the sync task: one line each
        assert not [r for r in caplog.records if r.exc_info], "no tracebacks"

        private_postgres.start()  # the same port and data
        deadline = time.monotonic() + 15
        while "errors" in (result := client.post(OFFERS)):
            assert time.monotonic() < deadline, result
            time.sleep(0.1)
        assert result["data"]["offers"]["totalCount"] == total
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        directory.close()
