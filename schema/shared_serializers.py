"""The serializers of all-plain selections kept across requests (``execution.py``).

A counsellor's page asks the same few documents all day; the parsed document is cached
(``limits.DocumentCache``), so a repeated query brings the same field node objects, and
the serializer built for them on the first request serves the later ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, GraphQLObjectType, OperationDefinitionNode

from .serializer_code import compile_serializer

# Serializers kept across requests, by (object type, field nodes). The parsed document
# is cached (limits.DocumentCache), so a repeated query brings the same node objects;
# the entry holds the nodes, so their ids cannot be reused while it exists. A node keeps
# its whole document and query text alive, so the entries are bounded by the bytes of
# the query texts they hold (counted once per entry: a rough, safe upper bound) as well
# as by number. Whether an operation uses @skip/@include is kept here too, under the id
# of the operation alone (a key no serializer has).
_SHARED_LIMIT = 2048
_SHARED_MAX_BYTES = 4_000_000
_shared: dict[tuple[int, ...], tuple[tuple, Callable | None]] = {}
_shared_bytes = 0
_shared_lock = threading.Lock()
#: False: a selection is served by the plain loop on its first request and written as
#: code when it comes again; True (the tests): written as code at once
CODE_AT_FIRST_USE = False


def _source_bytes(node: FieldNode | OperationDefinitionNode) -> int:
    loc = node.loc
    return len(loc.source.body) if loc is not None else 0


def shared_serializer(
    object_type: GraphQLObjectType,
    nodes: tuple[FieldNode, ...],
    build: Callable[[], Callable | None],
) -> Callable | None:
    """The serializer of an all-plain selection (``build`` makes it), kept across
    requests and written as code (``serializer_code``) when it comes again (see
    ``CODE_AT_FIRST_USE``): a query text seen once (literal values in the text
    instead of variables) would otherwise pay the compilation, about 0.2 ms per
    selection, every time."""
    key = (id(object_type), *map(id, nodes))
    entry = _shared.get(key)
    if entry is not None and entry[0][0] is object_type and entry[0][1:] == nodes:
        serializer = entry[1]
        if serializer is None or hasattr(serializer, "code"):
            return serializer
        compiled = compile_serializer(serializer.steps, serializer.record_source)
        with _shared_lock:
            if _shared.get(key) is entry:
                _shared[key] = (entry[0], compiled)
        return compiled
    serializer = build()
    if serializer is not None and CODE_AT_FIRST_USE:
        serializer = compile_serializer(serializer.steps, serializer.record_source)
    _keep(key, (object_type, *nodes), serializer, _source_bytes(nodes[0]) if nodes else 0)
    return serializer


def _keep(key: tuple[int, ...], holds: tuple, value: Any, size: int) -> None:
    global _shared_bytes
    with _shared_lock:
        if len(_shared) >= _SHARED_LIMIT or _shared_bytes + size > _SHARED_MAX_BYTES:
            _shared.clear()
            _shared_bytes = 0
        _shared[key] = (holds, value)
        _shared_bytes += size


def conditional(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """``has_conditions``, kept across requests with the serializers."""
    key = (id(operation),)
    entry = _shared.get(key)
    if entry is not None and entry[0][0] is operation:
        return entry[1]
    found = has_conditions(operation, fragments)
    _keep(key, (operation,), found, _source_bytes(operation))
    return found


def has_conditions(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether any selection of the operation or its fragments has @skip or @include."""
    stack = [operation.selection_set, *(f.selection_set for f in fragments.values())]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if any(d.name.value in ("skip", "include") for d in selection.directives or ()):
                return True
            stack.append(getattr(selection, "selection_set", None))
    return False
