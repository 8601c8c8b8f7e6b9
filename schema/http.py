"""The GraphQL endpoint over HTTP, guarded against hostile and malformed requests.

``GuardedGraphQL`` is strawberry's ASGI view with:

* the request body read up to ``max_body_bytes`` (413 beyond), JSON that must be UTF-8,
  an object, and not nested absurdly deep (400 otherwise), ``variables`` within
  ``max_variables_bytes`` and lists within ``max_variable_list_length`` (400);
* the whole execution (parsing, validation, coercion of variables, resolvers reading
  the store, the search index or a geocoder) in a worker thread, at most ``threads``
  requests at a time (``[server] graphql_threads``, see ``default_threads``), so the
  event loop (and ``/healthz``) stays free; a request still running after
  ``max_execution_seconds`` is answered with an error (its thread finishes in the
  background, outside that count);
* responses over ``max_response_bytes`` replaced by an error (400);
* every error either readable (a ``PublicError``, a GraphQL syntax, validation or
  variable error, a limit) or masked as "Internal server error" with the request id
  that the log line carries; graphql-core's messages (which quote values) cut to
  ``MAX_MESSAGE_LENGTH`` characters, ours quote input through ``errors.quote``;
* refusals answered as JSON GraphQL errors, never a bare 500 or plain text.

Client mistakes are logged at info level by kind only (code and argument name): their
messages may quote what the client typed (an address, search text), which must not
reach a log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from directory_core.instance import Instance, Limits
from directory_core.outage_log import OutageLog
from directory_core.store_connection import json_bytes

from .errors import QUOTE_LENGTH, PublicError
from .limits import CODE as LIMIT_CODE
from .limits import LimitError
from .outages import STORE_UNAVAILABLE_MESSAGE, StoreUnavailable, outage_of

log = logging.getLogger(__name__)

# GraphQL requests executed at once per process, unless ``[server] graphql_threads``
# says otherwise. The embedded backend's searches are CPU work under the GIL: more
# threads than cores only queue for it, and the event loop (``/healthz``, reading
# requests) waits behind each of them (at 8 threads, /healthz took 9 ms at the median
# under load at 100,000 offers). Elasticsearch's searches, a PostgreSQL store's reads and
# writes and Nominatim's geocoding mostly wait on the network (or a lock there), where
# more threads keep the others going.
CPU_BOUND_THREADS = 2
NETWORK_BOUND_THREADS = 8


def default_threads(instance: Instance, store_is_postgresql: bool) -> int:
    """How many GraphQL requests an instance executes at once per process by default:
    ``NETWORK_BOUND_THREADS`` when its store, searches or geocoding wait on another
    server (PostgreSQL, Elasticsearch, Nominatim), else ``CPU_BOUND_THREADS``."""
    if (
        store_is_postgresql
        or instance.search.backend == "elasticsearch"
        or instance.geocoder.nominatim_url
    ):
        return NETWORK_BOUND_THREADS
    return CPU_BOUND_THREADS


MAX_MESSAGE_LENGTH = 300
MAX_JSON_NESTING = 32  # objects and lists inside each other in a request body
INTERNAL_CODE = "INTERNAL_SERVER_ERROR"
REQUEST_CODE = "BAD_REQUEST"

# the encoded ``data`` of the current request, made in the worker thread
_encoded: contextvars.ContextVar[tuple[Any, bytes] | None] = contextvars.ContextVar(
    "encoded_data", default=None
)


class RequestRefused(Exception):
    """A request the endpoint does not take; answered with ``status`` and one error."""

    def __init__(self, status: int, message: str, limit: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.limit = limit

    def response(self, request_id: str) -> JSONResponse:
        extensions: dict[str, Any] = {"code": LIMIT_CODE if self.limit else REQUEST_CODE}
        if self.limit:
            extensions["limit"] = self.limit
        extensions["requestId"] = request_id
        return JSONResponse(
            {"data": None, "errors": [{"message": self.message, "extensions": extensions}]},
            status_code=self.status,
        )


def _over(limit: str, message: str, status: int = 400) -> RequestRefused:
    return RequestRefused(status, f"{message} (limits.{limit} in the instance file)", limit)


def check_variables(variables: Any, limits: Limits) -> None:
    """Refuse variables over ``max_variables_bytes`` (their JSON size, estimated),
    with a list over ``max_variable_list_length`` or nested too deeply; linear."""
    size = 0
    stack: list[tuple[Any, int]] = [(variables, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_NESTING:
            raise RequestRefused(400, f"variables are nested more than {MAX_JSON_NESTING} deep")
        if isinstance(value, dict):
            size += 2
            for key, item in value.items():
                size += len(key) + 4
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if len(value) > limits.max_variable_list_length:
                raise _over(
                    "max_variable_list_length",
                    f"A list in variables has {len(value)} items; "
                    f"at most {limits.max_variable_list_length} allowed",
                )
            size += 2
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            size += len(value) + 3
        else:
            size += 8
        if size > limits.max_variables_bytes:
            raise _over(
                "max_variables_bytes",
                f"variables are larger than {limits.max_variables_bytes} bytes",
            )


_LONG_QUOTE = re.compile(r"""(['"])([^'"]{""" + str(QUOTE_LENGTH + 1) + r""",})\1""")


def cap(message: str, length: int = MAX_MESSAGE_LENGTH) -> str:
    """``message`` with every long quoted value cut to ``QUOTE_LENGTH`` characters, and
    cut to ``length`` characters as a whole (with "…")."""
    message = _LONG_QUOTE.sub(
        lambda m: f"{m.group(1)}{m.group(2)[: QUOTE_LENGTH - 1]}…{m.group(1)}", message
    )
    return message if len(message) <= length else message[: length - 1] + "…"


def is_internal(error: GraphQLError) -> bool:
    """Whether ``error`` comes from an unexpected exception (its text may hold
    internals): not a ``PublicError`` or GraphQL error, and not a value a scalar refused
    while coercing variables (a ValueError/TypeError outside any field)."""
    original = error.original_error
    if original is None or isinstance(original, PublicError | GraphQLError):
        return False
    return error.path is not None or not isinstance(original, ValueError | TypeError)


def describe(error: GraphQLError) -> str:
    """What kind of client mistake ``error`` is, for a log line: code and argument or
    limit, never the message (it may quote an address or search text)."""
    extensions = error.extensions or {}
    code = extensions.get("code") or ("GRAPHQL_ERROR" if error.original_error is None else "")
    if not code:
        code = "BAD_VARIABLE_VALUE"
    detail = extensions.get("argument") or extensions.get("limit")
    where = f" at {'.'.join(map(str, error.path))}" if error.path else ""
    return f"{code}{f' ({detail})' if detail else ''}{where}"


class GuardedGraphQL(GraphQL):
    """Strawberry's ASGI view with the guards of the module docstring."""

    def __init__(
        self, schema: Any, limits: Limits, threads: int = CPU_BOUND_THREADS, **options: Any
    ):
        super().__init__(schema, **options)
        self.limits = limits
        self.worker_limiter = anyio.CapacityLimiter(threads)

    # -- the request ----------------------------------------------------------------

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if not isinstance(request, Request) or request.scope.get("type") != "http":
            return await super().run(request)
        request_id = uuid.uuid4().hex[:12]
        request.state.request_id = request_id
        try:
            if request.method == "POST":
                await self._read_body(request)
            elif len(request.scope.get("query_string", b"")) > self.limits.max_body_bytes:
                raise _over(
                    "max_body_bytes",
                    f"The query string is longer than {self.limits.max_body_bytes} bytes",
                    414,
                )
            return await super().run(request)
        except RequestRefused as refused:
            reason = refused.limit or f"HTTP {refused.status}"
            log.info("GraphQL request refused (request %s): %s", request_id, reason)
            return refused.response(request_id)
        except HTTPException as exc:  # strawberry's refusals (content type, method...)
            log.info("GraphQL request refused (request %s): HTTP %s", request_id, exc.status_code)
            return RequestRefused(exc.status_code, str(exc.reason)).response(request_id)
        except Exception:
            log.exception("GraphQL request failed (request %s)", request_id)
            return JSONResponse(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": f"Internal server error (request {request_id}).",
                            "extensions": {"code": INTERNAL_CODE, "requestId": request_id},
                        }
                    ],
                },
                status_code=500,
            )

    async def _read_body(self, request: Request) -> None:
        """Read the body, refusing it as soon as it is over ``max_body_bytes`` (or
        ``max_upload_bytes`` for a multipart upload that carries credentials)."""
        name = "max_body_bytes"
        if request.headers.get("content-type", "").startswith(
            "multipart/form-data"
        ) and request.headers.get("authorization"):
            name = "max_upload_bytes"
        limit = getattr(self.limits, name)
        refused = _over(name, f"The request body is larger than {limit} bytes", 413)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refused
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise refused
            chunks.append(chunk)
        request._body = b"".join(chunks)  # what request.body() returns from now on

    def decode_json(self, data: str | bytes) -> object:
        try:  # orjson first (a nearby request's body in a fifth of the time)
            value = orjson.loads(data)
        except orjson.JSONDecodeError:  # and the standard library for all it refuses
            value = self._decode_json_slowly(data)
        if not isinstance(value, dict):
            raise RequestRefused(
                400,
                'The request must be a JSON object such as {"query": "...", "variables": {...}}',
            )
        return value

    def _decode_json_slowly(self, data: str | bytes) -> object:
        """The standard library's reading, with its error messages (also what orjson
        refuses and it accepts: NaN, integers beyond 64 bits, lone surrogates)."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise RequestRefused(400, "The request body is not UTF-8 text") from None
        try:
            value = json.loads(data)
        except RecursionError:
            raise RequestRefused(400, "The JSON of the request is nested too deeply") from None
        except ValueError:
            raise RequestRefused(400, "The request body is not valid JSON") from None
        return value

    # -- execution --------------------------------------------------------------------

    async def execute_single(  # type: ignore[override]
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        limits = self.limits
        if request_data.variables:
            check_variables(request_data.variables, limits)
        allowed = OperationType.from_http(request_adapter.method)
        if not isinstance(request_data.query, str) or not request_data.query.strip():
            raise RequestRefused(400, "No GraphQL query found in the request")
        run = partial(
            self._execute_in_thread,
            request_adapter.method,
            request_data.query,
            root_value=root_value,
            variable_values=request_data.variables,
            context_value=context,
            operation_name=request_data.operation_name,
            allowed_operation_types=allowed,
        )
        try:
            with anyio.fail_after(limits.max_execution_seconds):
                result, encoded = await anyio.to_thread.run_sync(
                    run, abandon_on_cancel=True, limiter=self.worker_limiter
                )
        except TimeoutError:
            raise _over(
                "max_execution_seconds",
                f"The request took longer than {limits.max_execution_seconds:g} seconds",
                503,
            ) from None
        if encoded is not None:
            # bytes, as sent: orjson writes other scripts as UTF-8, not \u escapes
            if len(encoded) > limits.max_response_bytes:
                raise _over(
                    "max_response_bytes",
                    f"The answer would be larger than {limits.max_response_bytes} bytes; "
                    "ask for fewer fields or a smaller `first`",
                )
            _encoded.set((result.data, encoded))
        if result.data is None and any(_is_limit(e) for e in result.errors or ()):
            sub_response.status_code = 400
        return result

    def _execute_in_thread(
        self, method: str, query: str, **options: Any
    ) -> tuple[ExecutionResult, bytes | None]:
        """Run the operation (in a worker thread) and encode its data, so that neither
        the work nor the size of a large answer weighs on the event loop."""
        from strawberry.exceptions import MissingQueryError
        from strawberry.schema.exceptions import (
            CannotGetOperationTypeError,
            InvalidOperationTypeError,
        )

        try:
            result = self.schema.execute_sync(query, **options)
        except CannotGetOperationTypeError as exc:
            raise RequestRefused(400, exc.as_http_error_reason()) from None
        except InvalidOperationTypeError as exc:
            raise RequestRefused(400, exc.as_http_error_reason(method)) from None
        except MissingQueryError:
            raise RequestRefused(400, "No GraphQL query found in the request") from None
        encoded = None
        if result.data is not None:
            # orjson: a page of offers in a tenth the time; bytes, which the answer sends
            # as they are (no text in between to decode and encode again)
            encoded = json_bytes(result.data)
        return result, encoded

    # -- the answer -------------------------------------------------------------------

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        request_id = getattr(request.state, "request_id", "-")
        if result.errors:
            result.errors = [self._public(error, request_id) for error in result.errors]
        return await super().process_result(request, result)

    @staticmethod
    def _public(error: GraphQLError, request_id: str) -> GraphQLError:
        if outage_of(error) is not None:  # a known state with its own code, not masked
            unavailable = StoreUnavailable(STORE_UNAVAILABLE_MESSAGE)
            return GraphQLError(
                STORE_UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                original_error=unavailable,
                extensions={"code": unavailable.code, "requestId": request_id},
            )
        if is_internal(error):
            return GraphQLError(
                f"Internal server error (request {request_id}).",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": INTERNAL_CODE, "requestId": request_id},
            )
        if len(error.message) > QUOTE_LENGTH and not isinstance(
            error.original_error, PublicError
        ):  # graphql-core's messages quote values; ours quote at most QUOTE_LENGTH
            return GraphQLError(
                cap(error.message),
                nodes=error.nodes,
                path=error.path,
                extensions=error.extensions,
            )
        return error

    def encode_json(self, data: object) -> str | bytes:
        pre = _encoded.get()
        if pre is not None and isinstance(data, dict) and data.get("data") is pre[0]:
            rest = super().encode_json({k: v for k, v in data.items() if k != "data"})
            rest = rest.encode() if isinstance(rest, str) else rest
            return b'{"data":' + pre[1] + (b"}" if rest == b"{}" else b"," + rest[1:])
        encoded = super().encode_json(data)
        return encoded.decode() if isinstance(encoded, bytes) else encoded


def _is_limit(error: GraphQLError) -> bool:
    return isinstance(error, LimitError) or (error.extensions or {}).get("code") == LIMIT_CODE


# one line per interval while the store is down, instead of a traceback per request
_store_outages = OutageLog(log)


def log_errors(errors: list[GraphQLError], context: Any) -> None:
    """Log the errors of one request: a store outage as one line per interval
    (``outages.py``), internal ones in full with the request id, client mistakes by
    kind only (see the module docstring)."""
    request = getattr(context, "request", None)
    request_id = getattr(getattr(request, "state", None), "request_id", "-")
    for error in errors:
        outage = outage_of(error)
        if outage is not None:
            _store_outages.report("GraphQL request", outage)
        elif is_internal(error):
            log.error(
                "GraphQL internal error (request %s) at %s",
                request_id,
                ".".join(map(str, error.path or ())) or "-",
                exc_info=error.original_error,
            )
        else:
            log.info("GraphQL request refused (request %s): %s", request_id, describe(error))


class _NoQueryString(logging.Filter):
    """Drops the query string from uvicorn's access log lines: a GraphQL GET request
    carries the query and its variables there (an address, search text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def hide_query_strings() -> None:
    """Install the filter on uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryString) for f in logger.filters):
        logger.addFilter(_NoQueryString())
