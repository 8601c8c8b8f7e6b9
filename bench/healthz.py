"""``/healthz`` while the server is under load: does a load balancer's check still get
a quick answer when every worker is busy with searches?

``HealthPoller`` runs ``python -m directory_bench.healthz URL INTERVAL`` in a separate
process (not a thread of the benchmark: the load clients hold this process's GIL and
event loop, which would be measured too). That process sends ``GET /healthz`` through
one keep-alive ``httpx`` client every ``INTERVAL`` seconds (the time of a request
included: it sleeps only for the rest of the interval) until its standard input closes,
then prints the latencies and the failures as one JSON line. ``HealthPoller.stop``
closes that input and summarizes the answer.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import httpx

from .errors import BenchError
from .measure import summarize

DEFAULT_INTERVAL = 0.025  # 40 checks a second: many samples, little extra load
_TIMEOUT = 30.0
READY = "polling"  # the poller's first line, after its first check


def poll(
    url: str,
    interval: float,
    stopped: Callable[[float], bool],
    client: httpx.Client | None = None,
    ready: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``GET url/healthz`` every ``interval`` seconds until ``stopped(seconds_to_wait)``
    says so (it waits at most that long); return the latencies (seconds) of the clean
    answers (HTTP 200, ``status`` ``ok`` or ``degraded``) and the failures. ``ready``
    is called once, after the first check."""
    own = client is None
    client = client or httpx.Client(base_url=url, timeout=_TIMEOUT)
    latencies: list[float] = []
    failures = {"non_200": 0, "not_ok": 0, "transport_errors": 0}
    examples: list[str] = []
    try:
        while True:
            started = time.perf_counter()
            try:
                response = client.get("/healthz")
                response.read()
            except httpx.HTTPError as exc:
                failures["transport_errors"] += 1
                examples.append(f"{type(exc).__name__}: {exc}")
            else:
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures["non_200"] += 1
                    examples.append(f"HTTP {response.status_code}: {response.text[:200]}")
                elif _status(response) not in ("ok", "degraded"):
                    failures["not_ok"] += 1
                    examples.append(f"status: {response.text[:200]}")
            if ready is not None:
                ready()
                ready = None
            rest = interval - (time.perf_counter() - started)
            if stopped(max(rest, 0.0)):
                break
    finally:
        if own:
            client.close()
    return {"latencies": latencies, **failures, "error_examples": examples[:5]}


def _status(response: httpx.Response) -> Any:
    try:
        return response.json().get("status")
    except (ValueError, AttributeError):
        return None


def _input_closed(stream: TextIO) -> Callable[[float], bool]:
    """``stopped(wait)``: waits up to ``wait`` seconds; true once ``stream`` is at its
    end (the parent closed it)."""

    def stopped(wait: float) -> bool:
        readable, _, _ = select.select([stream], [], [], wait)
        return bool(readable) and not stream.readline()

    return stopped


def _say_ready() -> None:
    print(READY, flush=True)


def summary(answer: dict[str, Any], interval: float) -> dict[str, Any]:
    """The figure of a poll: latency summary (ms), checks, failures."""
    latencies: Sequence[float] = answer.get("latencies", [])
    failures = {k: answer.get(k, 0) for k in ("non_200", "not_ok", "transport_errors")}
    return {
        **summarize(latencies),
        "interval_ms": round(interval * 1000, 1),
        "checks": len(latencies) + failures["transport_errors"],
        **failures,
        "errors": sum(failures.values()),
        "error_examples": answer.get("error_examples", []),
    }


class HealthPoller:
    """Polls ``url/healthz`` from a separate process between ``start`` and ``stop``."""

    def __init__(self, url: str, interval: float = DEFAULT_INTERVAL):
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.url = url
        self.interval = interval
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> HealthPoller:
        """Start the poller and wait until it has made its first check (starting Python
        and httpx takes a moment: a short load would otherwise be over before it)."""
        command = [sys.executable, "-m", "directory_bench.healthz", self.url, str(self.interval)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], _TIMEOUT)
        first = self.process.stdout.readline().strip() if readable else ""
        if first != READY:
            self.kill()
            raise BenchError(f"the /healthz poller did not start (it said {first!r})")
        return self

    def stop(self) -> dict[str, Any]:
        """End the polling; the summary of what it saw (``BenchError`` if it failed)."""
        process, self.process = self.process, None
        if process is None:
            raise BenchError("the /healthz poller was not started")
        try:
            out, err = process.communicate(input="", timeout=_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BenchError("the /healthz poller did not stop") from None
        if process.returncode != 0 or not out.strip():
            raise BenchError(f"the /healthz poller failed (exit {process.returncode}): {err}")
        return summary(json.loads(out.strip().splitlines()[-1]), self.interval)

    def kill(self) -> None:
        """Stop without a summary (on errors)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.communicate()

    def __enter__(self) -> HealthPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m directory_bench.healthz URL INTERVAL``: poll until stdin closes."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m directory_bench.healthz URL INTERVAL_SECONDS", file=sys.stderr)
        return 2
    answer = poll(args[0], float(args[1]), _input_closed(sys.stdin), ready=_say_ready)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
