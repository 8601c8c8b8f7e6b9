"""Elasticsearch client compatibility: the optional import, the client's major version
and its pins, the server version check, the exception types and URL redaction.

Split from ``elastic.py`` (the backend); names are re-exported there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .base import (
    SearchUnavailable,
)

try:  # an optional dependency: pip install seniorennetz-directory[elasticsearch]
    import elasticsearch
    from elasticsearch import helpers as es_helpers
except ImportError:  # pragma: no cover - depends on the environment
    elasticsearch = None  # type: ignore[assignment]
    es_helpers = None  # type: ignore[assignment]

# -- client compatibility -----------------------------------------------------------------


def _client_major() -> int:
    if elasticsearch is None:  # pragma: no cover
        return 0
    return int(elasticsearch.VERSION[0])


def update_aliases(client: Any, actions: list[dict[str, Any]], *, major: int | None = None):
    """``POST /_aliases`` with ``actions`` in one request (atomic).

    The only call of this backend without a keyword form common to the clients: 8.x and
    9.x take ``indices.update_aliases(actions=...)``, 7.17 accepts only
    ``indices.update_aliases(body={"actions": ...})``. ``major``: the client's major
    version (default: the installed one).
    """
    if major is None:
        major = _client_major()
    if major >= 8:
        return client.indices.update_aliases(actions=actions)
    return client.indices.update_aliases(body={"actions": actions})


def client_version() -> tuple[int, ...]:
    """The installed ``elasticsearch`` client's version, e.g. ``(7, 17, 13)``."""
    if elasticsearch is None:  # pragma: no cover
        return (0,)
    return tuple(int(part) for part in elasticsearch.VERSION)


# the pip command that installs the client of a server line (also the package extras)
_CLIENT_PINS = {7: "elasticsearch>=7.17,<8", 8: "elasticsearch>=8,<9", 9: "elasticsearch>=9,<10"}


def version_problem(client: tuple[int, ...], server: str, url: str) -> str | None:
    """``None`` when the client of version ``client`` can talk to the server that reported
    ``server`` (e.g. ``"7.10.2"``), else a one-line message naming both versions and the
    command that fixes it. A client talks only to servers of its own major version: a 9.x
    client sends ``compatible-with=9`` headers that 7.x and 8.x refuse (HTTP 406), an 8.x
    client refuses a 7.x server that lacks the product header."""
    try:
        major = int(server.split(".")[0])
    except ValueError:
        return f"Elasticsearch at {url} reported an unreadable version {server!r}"
    shown = ".".join(str(part) for part in client)
    if client and client[0] == major:
        return None
    pin = _CLIENT_PINS.get(major)
    if pin is None:
        return (
            f"Elasticsearch {server} at {url} is not supported (7.10 or newer, up to 9.x); "
            f"the installed elasticsearch client is {shown}"
        )
    return (
        f"the elasticsearch Python client {shown} cannot talk to Elasticsearch {server} at "
        f"{url}: run pip install '{pin}' "
        f"(or pip install 'seniorennetz-directory[elasticsearch{major}]')"
    )


def server_version(url: str, timeout: float) -> str | None:
    """The version number the cluster at ``url`` reports on ``GET /`` (asked with plain
    HTTP, because a client of the wrong major version cannot ask); ``None`` when it does
    not say (e.g. it wants credentials the URL does not carry). Raises ``SearchUnavailable``
    when it does not answer."""
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/", timeout=timeout)
    except httpx.HTTPError as exc:
        raise SearchUnavailable(
            f"Elasticsearch at {redact_url(url)} is not reachable: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        return None
    try:
        number = response.json()["version"]["number"]
    except (ValueError, KeyError, TypeError):
        return None
    return number if isinstance(number, str) else None


def _exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(connection errors, every error of the client) for the installed client."""
    if elasticsearch is None:  # pragma: no cover
        return (), ()
    exc = elasticsearch.exceptions
    names_conn = ("ConnectionError", "ConnectionTimeout")
    names_all = ("ElasticsearchException", "ApiError", "TransportError", "SerializationError")
    conn = tuple(c for n in names_conn if isinstance(c := getattr(exc, n, None), type))
    every = tuple(c for n in names_all if isinstance(c := getattr(exc, n, None), type))
    return conn, every + conn


_CONNECTION_ERRORS, _CLIENT_ERRORS = _exception_types()


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a client error (7.x ``status_code``, 8.x ``meta.status``)."""
    status = getattr(getattr(exc, "meta", None), "status", None)
    if status is None:
        status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _error_type(exc: BaseException) -> str:
    """Elasticsearch's error type (``index_not_found_exception``, ...) if known."""
    info = getattr(exc, "info", None)  # 7.x
    if not isinstance(info, dict):
        info = getattr(exc, "body", None)  # 8.x
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return str(error.get("type", ""))
    return str(getattr(exc, "error", "") or "")


def _body(response: Any) -> dict[str, Any]:
    """The JSON body of a response (8.x and 9.x wrap it in an ``ObjectApiResponse``)."""
    return getattr(response, "body", response)


def redact_url(url: str) -> str:
    """``url`` without a password (for messages and ``/healthz``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
