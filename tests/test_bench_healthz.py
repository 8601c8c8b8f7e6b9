"""The ``/healthz`` poller of ``directory bench``: a separate process checks a real
HTTP server (a small one of the test's own, so that its answers can be slow or failing)
until it is told to stop, and the summary counts what it saw."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from directory_bench.errors import BenchError
from directory_bench.healthz import HealthPoller, poll

from .local_http import local_http_server


class Health(BaseHTTPRequestHandler):
    status = 200
    body = {"status": "ok"}
    delay = 0.0
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        type(self).seen.append(self.path)
        time.sleep(self.delay)
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[Health]) -> Iterator[str]:
    with local_http_server(handler) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def healthy() -> Iterator[str]:
    handler = type("Healthy", (Health,), {"delay": 0.01, "seen": []})
    yield from _serve(handler)


@pytest.fixture
def failing() -> Iterator[str]:
    handler = type("Failing", (Health,), {"status": 503, "body": {"status": "down"}, "seen": []})
    yield from _serve(handler)


def test_the_poller_process_checks_until_stopped(healthy):
    poller = HealthPoller(healthy, interval=0.02).start()
    time.sleep(1.5)
    figure = poller.stop()
    # the interval includes the 10 ms answer; the process needs a moment to start
    assert 10 <= figure["checks"] <= 80, figure
    assert figure["errors"] == 0 and figure["n"] == figure["checks"]
    assert 10 <= figure["median_ms"] < 1000  # the server sleeps 10 ms per answer
    assert figure["interval_ms"] == 20.0
    assert poller.process is None


def test_failed_checks_are_counted(failing):
    with HealthPoller(failing, interval=0.02) as poller:
        poller.start()
        time.sleep(1.0)
        figure = poller.stop()
    assert figure["checks"] > 0 and figure["non_200"] == figure["errors"] == figure["checks"]
    assert "HTTP 503" in figure["error_examples"][0]


def test_a_refused_connection_is_a_transport_error():
    calls = []

    def stopped(wait: float) -> bool:
        calls.append(wait)
        return len(calls) == 3

    answer = poll("http://127.0.0.1:9", 0.001, stopped)  # port 9 (discard): nothing listens
    assert answer["transport_errors"] == 3 and answer["latencies"] == []


def test_poll_sleeps_only_for_the_rest_of_the_interval(healthy):
    waits = []

    def stopped(wait: float) -> bool:
        waits.append(wait)
        return len(waits) == 5

    answer = poll(healthy, 0.5, stopped)
    assert len(answer["latencies"]) == 5
    assert all(0.3 < w < 0.5 for w in waits)  # 0.5 s less each check's time (>= 10 ms)


def test_stop_without_start_is_an_error():
    with pytest.raises(BenchError, match="not started"):
        HealthPoller("http://127.0.0.1:9").stop()
    with pytest.raises(ValueError, match="positive"):
        HealthPoller("http://127.0.0.1:9", interval=0)
