"""The GraphQL front door: the schema and its routes, ``/graphql`` (GraphiQL in a browser).

``graphql_routes(directory)`` is what the app assembly (``directory_app``) mounts; the
GraphQL endpoint is guarded by ``http.py`` (limits, error masking, work in threads) and
gives every resolver a typed ``context.Context``. ``build_schema`` is the schema alone
(for ``directory schema`` and the tests).
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from strawberry.extensions import DisableIntrospection
from strawberry.types import ExecutionContext

from directory_core.custom_fields import CustomFieldSet
from directory_core.directory import Directory
from directory_core.instance import Limits

from .cache import DEFAULT_SIZE as DEFAULT_CACHE_SIZE
from .cache import OfferCache
from .context import Context
from .execution import FastExecutionContext
from .extra import ExtraTypes, query_type
from .graphiql import ASSETS_PATH, PAGE, graphiql_assets
from .http import GuardedGraphQL, default_threads, log_errors
from .limits import limit_extensions
from .mutations import mutation_type
from .staff import StaffQuery


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
        instance = directory.instance
        threads = instance.server.graphql_threads or default_threads(
            instance, directory.store.is_postgresql
        )
        super().__init__(schema, instance.limits, threads, **options)
        self.directory = directory
        self.offers = offers
        self.extra = extra

    async def get_context(self, request: Any, response: Any) -> Context:  # type: ignore[override]
        return Context(
            directory=self.directory,
            offers=self.offers,
            extra=self.extra,
            request=request,
            response=response,
        )

    async def render_graphql_ide(self, request: Any) -> Response:
        return HTMLResponse(PAGE)


def graphql_routes(
    directory: Directory,
    *,
    offer_cache_size: int = DEFAULT_CACHE_SIZE,
    execution_context_class: type = FastExecutionContext,
) -> list[BaseRoute]:
    """The GraphQL front door of ``directory`` as Starlette routes: ``/graphql`` and,
    when the instance allows GraphiQL, its assets.

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
    routes: list[BaseRoute] = [Route("/graphql", graphql, methods=["GET", "POST"])]
    if settings.graphiql:
        routes.append(Mount(ASSETS_PATH, graphiql_assets()))
    return routes
