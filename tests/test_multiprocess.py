"""Several API processes on one PostgreSQL store and one search index, as a city runs
them behind a load balancer: real `directory serve` processes, real HTTP.

Writes come from outside the servers (there is no GraphQL mutation): a ``Directory`` in
the test process on the same store, a write to the store alone (which only the servers'
background sync brings into the index), and `directory import` in a process of its own.
Each server must then answer with the new data: the index through the shared backend,
offers through its offer cache, which checks the store's outbox.

The index is the embedded backend on one shared SQLite file; with
``DIRECTORY_TEST_ES_URL`` set and ``search/elastic.py`` providing an
``ElasticsearchBackend``, the same test also runs on Elasticsearch.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory_core.directory import Directory, open_directory
from directory_core.instance import load_instance
from directory_core.model import Address, Location, Offer, Precision

from . import stores
from .conftest import HOERDE_44263, load_known_offers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

pg_store_url = stores.pg_store_url

ROOT = Path(__file__).parent.parent
ES_ENV = "DIRECTORY_TEST_ES_URL"
SEEN_WITHIN = 15.0  # seconds; the servers sync the index every 2 s
START_WITHIN = 60.0


def _elasticsearch_ready() -> bool:
    """Elasticsearch is being built separately: run it only when both the node and the
    backend are there."""
    module = ROOT / "search" / "elastic.py"
    return bool(os.environ.get(ES_ENV)) and (
        module.is_file() and "class ElasticsearchBackend" in module.read_text(encoding="utf-8")
    )


BACKENDS = [pytest.param("embedded", id="embedded")]
if _elasticsearch_ready():
    BACKENDS.append(
        pytest.param("elasticsearch", id="elasticsearch", marks=pytest.mark.elasticsearch)
    )


def _directory_command() -> list[str]:
    script = shutil.which("directory", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "from directory_cli.main import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ADMIN_TOKEN = "multiprocess-test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _environment() -> dict[str, str]:
    """The test's environment without the variables that would override the instance
    file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DIRECTORY_STORE_URL", "DIRECTORY_ELASTICSEARCH_URL", "DIRECTORY_INSTANCE")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["DIRECTORY_ADMIN_TOKEN"] = ADMIN_TOKEN  # the full /healthz report
    return env


class ServerProcess:
    """`directory --instance FILE serve --port P [ARGS]` in a process group of its own."""

    def __init__(self, instance_file: Path, log_file: Path, *args: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self._log = log_file.open("wb")
        command = [*_directory_command(), "--instance", str(instance_file), "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), *args],
            cwd=instance_file.parent,
            env=_environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its uvicorn workers share its process group
        )
        self.group = self.process.pid

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = START_WITHIN) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.2)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.group, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> list[str]:
        """Terminate the server and wait for it and its workers; return problems (empty
        when it stopped cleanly, with nothing left over)."""
        problems = []
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                problems.append("server did not stop within 30 s of SIGTERM")
        deadline = time.monotonic() + 10
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._group_alive():
            problems.append("processes of the server were left over")
            os.killpg(self.group, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()
        return problems


@pytest.fixture
def servers() -> Iterator[Callable[..., ServerProcess]]:
    """Start servers with ``servers(instance_file, log_file, *args)``; all are stopped
    at the end, and the test fails if one did not stop cleanly."""
    started: list[ServerProcess] = []

    def start(instance_file: Path, log_file: Path, *args: str) -> ServerProcess:
        started.append(ServerProcess(instance_file, log_file, *args))
        return started[-1]

    yield start
    problems = [f"{s.url}: {p}" for s in started for p in s.stop()]
    assert problems == [], problems


def _search_settings(backend: str, tmp_path: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """[search] settings of the shared index, and how to remove it afterwards."""
    if backend == "embedded":
        return {"backend": "embedded", "path": str(tmp_path / "shared-index.sqlite")}, lambda: None
    url = os.environ[ES_ENV].rstrip("/")
    prefix = f"dirtest-{uuid.uuid4().hex[:12]}"

    def remove() -> None:
        httpx.delete(f"{url}/{prefix}*", timeout=30)

    return {"backend": "elasticsearch", "url": url, "index_prefix": prefix}, remove


class Client:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=30)

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        result = response.json()
        assert "errors" not in result, result["errors"]
        return result["data"]

    def title(self, offer_id: str) -> str | None:
        offer = self.data("query($id: ID!) { offer(id: $id) { title } }", id=offer_id)["offer"]
        return offer["title"] if offer else None

    def found(self, text: str) -> list[str]:
        data = self.data(
            "query($text: String!) { offers(text: $text, first: 50) "
            "{ edges { node { id title } } } }",
            text=text,
        )
        return [edge["node"]["title"] for edge in data["offers"]["edges"]]


def _eventually(check: Callable[[], bool], what: str, timeout: float = SEEN_WITHIN) -> float:
    """Poll ``check`` until true; return the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def _new_offer(title: str, number: int) -> Offer:
    return Offer(
        id=f"00000000-0000-4000-9000-{number:012d}",
        title=title,
        kind="meeting_place",
        carrier="awo",
        categories=["encounter.meeting"],
        address=Address("Hörder Bahnhofstraße 1", "44263", "Dortmund"),
        location=Location(HOERDE_44263[0], HOERDE_44263[1], Precision.ADDRESS),
        district="hoerde",
        external_id=f"multi-{number}",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_api_processes_share_one_store_and_one_index(
    backend, pg_store_url, tmp_path, servers, monkeypatch
):
    monkeypatch.delenv("DIRECTORY_STORE_URL", raising=False)
    monkeypatch.delenv("DIRECTORY_ELASTICSEARCH_URL", raising=False)
    search, remove_index = _search_settings(backend, tmp_path)
    instance_file = stores.write_instance_file(tmp_path / "dortmund.toml", pg_store_url, search)
    directory: Directory = open_directory(load_instance(instance_file))
    try:
        known = load_known_offers(directory, samples=20)
        first = servers(instance_file, tmp_path / "server-a.log")
        second = servers(instance_file, tmp_path / "server-b.log")  # both start at once
        first.wait_ready()
        second.wait_ready()
        a, b = Client(first.url), Client(second.url)
        cafe = known["cafe"]
        assert a.title(cafe.id) == b.title(cafe.id) == cafe.title  # now in both caches

        # 1. through a Directory on the same store (it syncs the shared index itself)
        created = directory.save([_new_offer("Quokkatreff am Phoenix-See", 1)])[0]
        cafe.title = "Demenzcafé am Phoenix-See (neue Zeiten)"
        directory.save([cafe])
        _eventually(lambda: b.found("quokkatreff") == [created.title], "B finds the new offer")
        _eventually(lambda: b.title(cafe.id) == cafe.title, "B's cache drops the changed offer")
        assert a.title(cafe.id) == cafe.title and a.title(created.id) == created.title

        # 2. into the store only: the servers' background sync must index it
        silent = _new_offer("Wombatrunde Hörde", 2)
        directory.locate(silent)
        with directory.store.transaction() as conn:
            directory.store.write_offers(conn, [silent])
        synced = _eventually(
            lambda: a.found("wombatrunde") == ["Wombatrunde Hörde"], "A finds the stored offer"
        )
        assert b.found("wombatrunde") == ["Wombatrunde Hörde"]

        # 3. `directory import` in a process of its own
        source = stores.write_offers_csv(
            tmp_path / "import.csv", 20, seed=5, title_prefix="Kakapokreis "
        )
        imported = subprocess.run(
            [*_directory_command(), "--instance", str(instance_file)]
            + ["import", "diakonie", "csv", str(source)],
            cwd=tmp_path,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert "created 20," in imported.stdout
        _eventually(lambda: len(b.found("kakapokreis")) == 20, "B finds the imported offers")
        assert len(a.found("kakapokreis")) == 20

        # 4. an archived offer leaves both servers' answers
        directory.archive([created.id])
        _eventually(lambda: b.found("quokkatreff") == [], "B no longer lists the archived offer")
        assert a.found("quokkatreff") == []
        health = b.http.get("/healthz", headers=ADMIN).json()
        assert health["ok"] and health["store"]["dialect"] == "postgresql"
        print(f"\n[{backend}] a store-only write was searchable after {synced:.1f} s")
    finally:
        directory.close()
        remove_index()


def test_serve_with_two_workers_on_postgresql(pg_store_url, tmp_path, servers, monkeypatch):
    monkeypatch.delenv("DIRECTORY_STORE_URL", raising=False)
    search = {"backend": "embedded", "path": str(tmp_path / "index.sqlite")}
    instance_file = stores.write_instance_file(tmp_path / "dortmund.toml", pg_store_url, search)
    directory = open_directory(load_instance(instance_file))
    try:
        known = load_known_offers(directory, samples=20)
    finally:
        directory.close()
    server = servers(instance_file, tmp_path / "server.log", "--workers", "2")
    server.wait_ready()
    _eventually(
        lambda: server.log().count("Application startup complete") == 2,
        "both workers started",
        timeout=START_WITHIN,
    )
    query = """
    query($near: GeoInput!) {
      offers(near: $near, radiusKm: 2, text: "demenz") { totalCount edges { node { id } } }
    }
    """
    near = {"lat": HOERDE_44263[0], "lon": HOERDE_44263[1]}
    expected = [known["cafe"].id, known["circle"].id]
    answers = 0
    # a new connection per request, so the kernel hands them to either worker
    with httpx.Client(
        base_url=server.url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as http:
        for i in range(50):
            if i % 5 == 4:
                response = http.get("/healthz", headers=ADMIN)
                assert response.status_code == 200, response.text
                assert response.json()["store"]["dialect"] == "postgresql"
            else:
                response = http.post("/graphql", json={"query": query, "variables": {"near": near}})
                assert response.status_code == 200, response.text
                offers = response.json()["data"]["offers"]
                assert [edge["node"]["id"] for edge in offers["edges"]] == expected
            answers += 1
    assert answers == 50
