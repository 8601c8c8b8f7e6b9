"""The web application: GraphQL at ``/graphql`` (GraphiQL in a browser), ``/healthz``.

Every response carries the security headers of ``headers.py``; the GraphQL endpoint is
guarded by ``http.py`` (limits, error masking, work in threads), ``/healthz`` answers
anonymous callers briefly (``health.py``).

``create_app(directory)`` serves one open directory; ``app_from_environment()`` is the
factory ``directory serve`` hands to uvicorn (``DIRECTORY_INSTANCE`` names the instance
file). While the app runs, a background task applies the store's outbox to the search
index every few seconds, so offers written by another process (an import, the CLI)
become searchable.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio.to_thread
import strawberry
from directory_search.base import SearchError, SearchMisconfigured, SearchUnavailable
from directory_web import web_routes
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from strawberry.extensions import DisableIntrospection
from strawberry.types import ExecutionContext

from directory_core.auth import authenticate
from directory_core.custom_fields import CustomFieldSet
from directory_core.directory import Directory, open_directory
from directory_core.instance import InstanceError, Limits, load_instance
from directory_core.plugins import PluginError
from directory_core.store import StoreError, is_outage

from .cache import DEFAULT_SIZE as DEFAULT_CACHE_SIZE
from .cache import OfferCache
from .execution import FastExecutionContext
from .extra import ExtraTypes, query_type
from .graphiql import ASSETS_PATH, PAGE, graphiql_assets
from .headers import SecurityHeaders
from .health import healthz_endpoint
from .http import GuardedGraphQL, hide_query_strings, log_errors
from .limits import limit_extensions
from .mutations import mutation_type
from .outages import OutageLog
from .staff import StaffQuery

log = logging.getLogger(__name__)

SYNC_INTERVAL_SECONDS = 2.0
ENV_INSTANCE = "DIRECTORY_INSTANCE"


class DirectorySchema(strawberry.Schema):
    """Logs client mistakes briefly (no stack trace, no message) and internal errors in
    full, each with the request id (``http.log_errors``)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context.context if execution_context else None)


def build_schema(
    limits: Limits,
    extra: ExtraTypes | None = None,
    *,
    execution_context_class: type = FastExecutionContext,
    introspection: bool = True,
) -> strawberry.Schema:
    """The GraphQL schema with the query limits of an instance and the typed custom
    fields of its plugins (``extra.py``).

    ``execution_context_class``: graphql-core's way through fields; the default takes a
    shortcut for plain fields (``execution.py``). ``introspection``: whether
    ``__schema`` and ``__type`` may be asked for. Errors are masked by the HTTP view
    (``http.GuardedGraphQL``).
    """
    extensions: list[Any] = [*limit_extensions(limits)]
    if not introspection:
        extensions.append(DisableIntrospection)
    query = query_type(extra, StaffQuery) if extra is not None else StaffQuery
    return DirectorySchema(
        query=query,
        mutation=mutation_type(extra if extra is not None else ExtraTypes(CustomFieldSet())),
        execution_context_class=execution_context_class,
        extensions=extensions,
    )


class DirectoryGraphQL(GuardedGraphQL):
    """The guarded GraphQL view (``http.py``) with the directory in the context
    (``info.context``) and GraphiQL from the app's own files (``graphiql.py``)."""

    def __init__(
        self,
        schema: strawberry.Schema,
        directory: Directory,
        offers: OfferCache,
        extra: ExtraTypes,
        **options: Any,
    ):
        super().__init__(schema, directory.instance.limits, **options)
        self.directory = directory
        self.offers = offers
        self.extra = extra

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {
            # who sent it (``authenticate`` hook); a short read, only with credentials
            "auth": authenticate(self.directory, request),
            "request": request,
            "response": response,
            "directory": self.directory,
            "offers": self.offers,
            "extra": self.extra,
        }

    async def render_graphql_ide(self, request: Any) -> Response:
        return HTMLResponse(PAGE)


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
    ``offer_cache_size``: offers kept in memory (``cache.OfferCache``; 0: none).
    ``execution_context_class``: as for ``build_schema`` (the tests run both).
    """
    extra = ExtraTypes(directory.custom_fields)
    settings = directory.instance.server
    graphql = DirectoryGraphQL(
        build_schema(
            directory.instance.limits,
            extra,
            execution_context_class=execution_context_class,
            introspection=settings.introspection,
        ),
        directory,
        OfferCache(directory, offer_cache_size),
        extra,
        graphql_ide="graphiql" if settings.graphiql else None,
        # uploads for importOffers; no CSRF risk: the API authenticates by header, not cookie
        multipart_uploads_enabled=True,
    )
    hide_query_strings()

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

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz_endpoint(directory), methods=["GET"]),
    ]
    if settings.graphiql:
        routes.append(Mount(ASSETS_PATH, graphiql_assets()))
    # The other front doors over the same directory (HSDS 3.0 read API, the web pages),
    # mounted here until the app assembly moves to its own module (a later refactor).
    from directory_hsds.app import create_hsds_app

    routes += [
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
    """The uvicorn factory: ``uvicorn --factory directory_schema.app:app_from_environment``.

    Exits with a one-line message (no stack trace) and uvicorn's ``STARTUP_FAILURE``
    status when the instance file or the store is missing or broken: uvicorn's
    supervisor then stops instead of respawning workers that fail the same way.
    """
    from .serving import StartupFailure

    try:
        directory = open_from_environment()
    except StartupError as exc:  # SystemExit prints the message to stderr
        raise StartupFailure(f"directory server cannot start: {exc}") from None
    return create_app(directory, on_shutdown=directory.close)
