"""The one place the ASGI app is assembled from the front doors.

``create_app(directory)`` serves one open directory: the GraphQL front door at
``/graphql`` (``directory_schema.app.graphql_routes``), the HSDS 3.0 API at ``/hsds``
(``directory_hsds.app.create_hsds_app``), the web pages at ``/``
(``directory_web.web_routes``), ``/healthz`` (``health.py``), the security headers of
``headers.py`` on every response, and the lifespan: while the app runs, a background task
applies the store's outbox to the search index every few seconds, so offers written by
another process (an import, the CLI) become searchable. The front doors know nothing of
each other; each only calls the directory.

``app_from_environment()`` is the factory ``directory serve`` hands to uvicorn
(``DIRECTORY_INSTANCE`` names the instance file; ``serving.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import anyio.to_thread
from directory_hsds.app import create_hsds_app
from directory_schema.app import graphql_routes
from directory_schema.cache import DEFAULT_SIZE as DEFAULT_CACHE_SIZE
from directory_schema.execution import FastExecutionContext
from directory_schema.http import hide_query_strings
from directory_search.base import SearchError, SearchMisconfigured, SearchUnavailable
from directory_web import web_routes
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from directory_core.directory import Directory, open_directory
from directory_core.instance import InstanceError, load_instance
from directory_core.outage_log import OutageLog
from directory_core.plugins import PluginError
from directory_core.store import StoreError, is_outage

from .headers import SecurityHeaders
from .health import healthz_endpoint

log = logging.getLogger(__name__)

SYNC_INTERVAL_SECONDS = 2.0
ENV_INSTANCE = "DIRECTORY_INSTANCE"


async def _sync_forever(directory: Directory, interval: float) -> None:
    """Apply other processes' writes to the index until cancelled; never gives up."""
    outage_log = OutageLog(log)
    search_outage_log = OutageLog(log, subject="search backend")
    while True:
        await asyncio.sleep(interval)
        try:
            # a thread: a big import can take seconds to index (the backend and the
            # store are safe to use from several threads)
            applied = await anyio.to_thread.run_sync(directory.sync, abandon_on_cancel=False)
        except Exception as exc:  # keep serving: the outbox keeps the changes for later
            if is_outage(exc):
                outage_log.report("search index sync", exc)
            elif isinstance(exc, SearchUnavailable):
                search_outage_log.report("search index sync", exc)
            else:
                log.warning("search index sync failed (%s: %s); retrying", type(exc).__name__, exc)
        else:
            if applied:
                log.info("search index sync: applied %d changes", applied)


def create_app(
    directory: Directory,
    *,
    sync_interval: float | None = SYNC_INTERVAL_SECONDS,
    on_shutdown: Callable[[], None] | None = None,
    offer_cache_size: int = DEFAULT_CACHE_SIZE,
    execution_context_class: type = FastExecutionContext,
) -> Starlette:
    """The Starlette app serving ``directory``.

    ``sync_interval``: seconds between index syncs (``None``: no background sync).
    ``on_shutdown`` runs after the sync task has stopped (e.g. ``directory.close``).
    ``offer_cache_size`` and ``execution_context_class``: for the GraphQL front door
    (``directory_schema.app.graphql_routes``).
    """
    settings = directory.instance.server
    hide_query_strings()  # in uvicorn's access log, for every front door (http.py says why)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if sync_interval is not None:
            task = asyncio.create_task(_sync_forever(directory, sync_interval))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            if on_shutdown is not None:
                on_shutdown()

    routes: list[BaseRoute] = [
        *graphql_routes(
            directory,
            offer_cache_size=offer_cache_size,
            execution_context_class=execution_context_class,
        ),
        Route("/healthz", healthz_endpoint(directory), methods=["GET"]),
        Mount("/hsds", app=create_hsds_app(directory)),
        Mount("/", routes=web_routes(directory)),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders, img_src=settings.img_src)],
    )


class StartupError(RuntimeError):
    """The server cannot start; the message says what to fix."""


def open_from_environment() -> Directory:
    """Open the directory of the instance file named by ``DIRECTORY_INSTANCE``."""
    path = os.environ.get(ENV_INSTANCE)
    if not path:
        raise StartupError(
            f"{ENV_INSTANCE} is not set; point it at an instance file, "
            "e.g. instances/dortmund.toml (`directory serve` sets it)"
        )
    try:
        instance = load_instance(path)
    except InstanceError as exc:
        raise StartupError(str(exc)) from exc
    try:
        directory = open_directory(instance, create=False)
    except (StoreError, SearchError, PluginError, ValueError) as exc:
        # ValueError: a plugin's custom field or category does not fit the instance
        raise StartupError(f"instance {instance.key}: {exc}") from exc
    try:
        directory.sync()  # catch up before the first request
    except SearchMisconfigured as exc:  # waiting does not help: refuse to start
        directory.close()
        raise StartupError(f"instance {instance.key}: {exc}") from exc
    except SearchError as exc:
        log.warning("search index not synced at startup (%s); the sync task retries", exc)
    return directory


def app_from_environment() -> Starlette:
    """The uvicorn factory: ``uvicorn --factory directory_app.assembly:app_from_environment``.

    Exits with a one-line message (no stack trace) and uvicorn's ``STARTUP_FAILURE``
    status when the instance file or the store is missing or broken: uvicorn's
    supervisor then stops instead of respawning workers that fail the same way.
    """
    from .serving import StartupFailure, tune_worker

    try:
        directory = open_from_environment()
    except StartupError as exc:  # SystemExit prints the message to stderr
        raise StartupFailure(f"directory server cannot start: {exc}") from None
    app = create_app(directory, on_shutdown=directory.close)
    tune_worker()
    return app
