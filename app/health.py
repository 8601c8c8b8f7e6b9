"""``/healthz``: a minimal public answer, the full report for operators.

Anonymous callers get ``{"status": "ok" | "degraded" | "down"}`` (HTTP 200, 200, 503):
enough for a load balancer or an uptime check. The full report of
``Directory.health`` (store, revision, index names, backend URLs, error texts) is an
operator's business: it is sent when the instance sets ``[server] health_details =
true`` or the request carries ``Authorization: Bearer <admin token>`` (``[server]
admin_token`` or ``DIRECTORY_ADMIN_TOKEN``).
"""

from __future__ import annotations

import hmac
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


def healthz_endpoint(directory: Directory) -> Callable[[Request], Awaitable[Response]]:
    """The ``/healthz`` handler for ``directory``."""
    settings = directory.instance.server

    async def healthz(request: Request) -> Response:
        report = await anyio.to_thread.run_sync(directory.health)
        status = health_status(report)
        code = 503 if status == "down" else 200
        if settings.health_details or is_admin(request, settings.admin_token):
            return JSONResponse({"status": status, **report}, status_code=code)
        return JSONResponse({"status": status}, status_code=code)

    return healthz
