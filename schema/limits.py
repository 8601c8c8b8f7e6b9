"""Limits on what one request may ask for, from the instance's ``[limits]`` table.

``QueryLimits`` parses the query (at most ``max_tokens`` tokens) and measures it with
``budget.measure`` (depth, aliases, cost, in time linear in the document) *before*
graphql-core validates it, so a small document that expands to millions of fields is
refused at once with one error naming the limit. It replaces strawberry's
``QueryDepthLimiter`` and ``MaxAliasesLimiter``, whose validation rules walk every
expanded path (4^12 for twelve fragments each spreading the next four times).

Parsed documents and their validation results are kept in ``DocumentCache``, bounded
by the bytes of the query texts it holds (a parsed document keeps its whole source
text alive), instead of strawberry's ``ParserCache`` / ``ValidationCache``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from directory_core.instance import Limits

from .budget import FragmentsTooDeep, measure_memoized

CODE = "QUERY_LIMIT_EXCEEDED"


class LimitError(GraphQLError):
    """A request over one of the instance's limits; ``limit`` names the setting."""

    def __init__(self, limit: str, message: str):
        super().__init__(
            f"{message} (limits.{limit} in the instance file)",
            extensions={"code": CODE, "limit": limit},
        )
        self.limit = limit


class DocumentCache:
    """Parsed documents (and validation errors) by query text, least recently used
    first out, holding at most ``max_bytes`` of query text and ``max_entries`` texts."""

    def __init__(self, max_bytes: int = 2_000_000, max_entries: int = 512):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int], list[Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> list[Any] | None:
        """``[document, validation errors or None]``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, int], entry: list[Any]) -> None:
        size = len(key[0])
        if size > self.max_bytes // 8:  # one huge text must not flush everything else
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                (text, _), _ = self._entries.popitem(last=False)
                self._bytes -= len(text)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


DOCUMENTS = DocumentCache()


def parse_query(query: str, max_tokens: int) -> list[Any]:
    """The cache entry of ``query``, parsed now if it is not cached; raises a
    ``GraphQLError`` for syntax errors and queries over ``max_tokens``."""
    key = (query, max_tokens)
    entry = DOCUMENTS.get(key)
    if entry is None:
        try:
            document = parse(query, max_tokens=max_tokens)
        except RecursionError:  # brackets nested far deeper than any limit allows
            raise LimitError("max_query_depth", "The query is nested too deeply") from None
        except GraphQLError as exc:
            if "nested too deeply" in exc.message:  # graphql-core's own nesting guard
                raise LimitError("max_query_depth", "The query is nested too deeply") from None
            if f"more than {max_tokens} tokens" in exc.message:
                raise LimitError(
                    "max_tokens", f"The query has more than {max_tokens} tokens"
                ) from None
            raise
        entry = [document, None, {}]  # the figures of ``check_limits`` go in the dict
        DOCUMENTS.put(key, entry)
    return entry


class QueryLimits(SchemaExtension):
    """Parse (cached), check the limits, then validate (cached): see the module."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits
        self._entry: list[Any] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            entry = parse_query(context.query, self.limits.max_tokens)
            check_limits(
                context.schema._schema,
                entry[0],
                context.operation_name,
                context.variables,
                self.limits,
                entry[2],
            )
            context.graphql_document = entry[0]
            self._entry = entry
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self._entry
        rules = context.validation_rules
        if entry is not None and entry[1] is not None and entry[1][0] is rules:
            context.pre_execution_errors = entry[1][1]
        else:
            errors = validate_document(context.schema._schema, context.graphql_document, rules)
            context.pre_execution_errors = errors
            if entry is not None:
                entry[1] = (rules, errors)
        yield


def check_limits(
    schema: Any,
    document: Any,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    limits: Limits,
    memo: dict[Any, Any] | None = None,
) -> None:
    """Raise ``LimitError`` if the operation is deeper, has more aliases or costs more
    than the limits allow. ``memo``: where the figures of this document are kept."""
    try:
        found = measure_memoized(
            schema,
            document,
            {} if memo is None else memo,
            operation_name,
            variables,
            limits.default_page_size,
        )
    except FragmentsTooDeep:
        raise LimitError("max_query_depth", "Fragments are nested too deeply") from None
    depth = found.depth - 1  # as graphql's depth limiters count: the top level is 0
    if depth > limits.max_query_depth:
        raise LimitError(
            "max_query_depth",
            f"The query nests fields {depth} levels deep; at most {limits.max_query_depth} allowed",
        )
    if found.aliases > limits.max_aliases:
        raise LimitError(
            "max_aliases",
            f"The query has {found.aliases} aliased fields (fragments expanded); "
            f"at most {limits.max_aliases} allowed",
        )
    if found.cost > limits.max_query_cost:
        raise LimitError(
            "max_query_cost",
            f"The query would resolve about {_round(found.cost)} fields; "
            f"at most {limits.max_query_cost} allowed",
        )


def _round(number: int) -> str:
    return f"{number:.3g}" if number >= 10**6 else str(number)


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories enforcing the query limits (a fresh extension per request,
    as strawberry wants)."""
    return [lambda: QueryLimits(limits)]
