"""``/healthz``: a minimal public answer, the full report for operators.

Anonymous callers get ``{"status": "ok" | "degraded" | "down"}`` (HTTP 200, 200, 503):
enough for a load balancer or an uptime check. The full report of
``Directory.health`` (store, revision, index names, backend URLs, error texts) is an
operator's business: it is sent when the instance sets ``[server] health_details =
true`` or the request carries ``Authorization: Bearer <admin token>`` (``[server]
admin_token`` or ``DIRECTORY_ADMIN_TOKEN``).

Calls within ``[server] health_cache_seconds`` (1 s) share one report, and calls that come
while a report is being made wait for it instead of asking the store and the backends
again: under full load a fresh report waits for the GIL at every thread hop (tens of
milliseconds), so a fast poller (or many load balancers) would otherwise add that work
and that wait to every check. A report is never older than that, so a failure shows
within ``health_cache_seconds`` plus ``search.health_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from directory_core.directory import Directory


def health_status(report: dict[str, Any]) -> str:
    """``ok``, ``degraded`` or ``down`` for a ``Directory.health`` report."""
    if not report.get("ok"):
        return "down"
    return "degraded" if report.get("degraded") else "ok"


def is_admin(request: Request, token: str | None) -> bool:
    """Whether the request carries the admin token as a bearer token."""
    if not token:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


class SharedReport:
    """The latest ``Directory.health`` report, shared by the calls within ``max_age``
    seconds; one report is made at a time (the others wait for it)."""

    def __init__(self, directory: Directory, max_age: float):
        self.directory = directory
        self.max_age = max_age
        self._report: dict[str, Any] | None = None
        self._made = 0.0  # time.monotonic() when the report was asked for
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _fresh(self, now: float) -> bool:
        return self._report is not None and now - self._made < self.max_age

    async def get(self) -> dict[str, Any]:
        if self._fresh(time.monotonic()):
            return self._report  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:  # a lock belongs to one loop
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            asked = time.monotonic()
            if self._fresh(asked):  # made while this call waited
                return self._report  # type: ignore[return-value]
            report = await anyio.to_thread.run_sync(self.directory.health)
            if self.max_age > 0:
                self._report, self._made = report, asked
            return report


def healthz_endpoint(directory: Directory) -> Callable[[Request], Awaitable[Response]]:
    """The ``/healthz`` handler for ``directory``."""
    settings = directory.instance.server
    shared = SharedReport(directory, settings.health_cache_seconds)

    async def healthz(request: Request) -> Response:
        report = await shared.get()
        status = health_status(report)
        code = 503 if status == "down" else 200
        if settings.health_details or is_admin(request, settings.admin_token):
            return JSONResponse({"status": status, **report}, status_code=code)
        return JSONResponse({"status": status}, status_code=code)

    return healthz
