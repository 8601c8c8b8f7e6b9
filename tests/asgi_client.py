"""A synchronous httpx client that talks to an ASGI app in-process (no server, no port).

httpx's ``ASGITransport`` is async only; a blocking portal (anyio) runs the calls on
one event loop in a helper thread, so plain test functions can use it. Starlette's
``TestClient`` would do the same but warns about its httpx use under this pytest
configuration (warnings are errors).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal


class AsgiClient:
    """``get`` / ``post`` against ``app``; ``close`` when done (or use ``with``)."""

    def __init__(self, app: Any, base_url: str = "http://directory.test"):
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.get, url, **options))

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.post, url, **options))

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> AsgiClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
