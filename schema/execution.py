"""A faster way through plain fields than graphql-core's per-field machinery.

graphql-core spends several microseconds on every field of every object (resolve info,
argument parsing, path bookkeeping, completion dispatch). A page of 20 offers with their
nested parts is 500+ fields, so that overhead would dominate the request. Most of those
fields are *plain*: a strawberry field without resolver, arguments or extensions, whose
value is an attribute of the source object (see ``types.py``).

``FastExecutionContext`` handles plain fields itself, on two levels:

* a selection whose fields are all plain, down to its leaves (``address { street city }``,
  a whole ``node { ... }`` without resolver fields), is turned once per request into a
  serializer: a loop of ``getattr`` and leaf coercions building the result dict;
* in any other selection, plain fields are still read directly and only the rest
  (resolvers, introspection) goes through graphql-core's ``execute_field``.

A field with a resolver counts as plain too when its definition is marked ``PURE``: the
resolver takes nothing but ``self`` and only computes from it (``Schedule.description``
in ``types.py``), so it is called directly, like reading an attribute.

Semantics are kept: whenever a plain value is not what its type allows (null for a
non-null field, a leaf that does not coerce, a list that is not a list), the value is
handed to graphql-core again before anything with side effects ran below it, so errors
and null propagation are the standard ones. ``tests/test_graphql_execution.py`` runs
queries through both executors and compares the results.
"""

from __future__ import annotations

import keyword
import math
import operator
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from .serializer_code import INT_MAX, INT_MIN, Leaf, RecordSource
from .serializer_code import Slow as _Slow
from .shared_serializers import conditional as _conditional
from .shared_serializers import shared_serializer as _shared_serializer

_TYPENAME = "__typename"
#: Key of a field's ``metadata``: its resolver takes only ``self``, has no side effects
#: and gives the same value every time, so the plain path may call it directly (and
#: graphql-core may call it again when the value needs the slow path).
PURE = "directory.pure"
#: ``serializer_code.RecordSource`` by the Python class of a strawberry object type: its
#: all-plain selections may read sources that are still records (``types.py`` registers
#: the API's ``Offer``)
RECORD_SOURCES: dict[type, RecordSource] = {}


class _Plain(NamedTuple):
    """How to read and complete one plain field."""

    read: Callable[[Any], Any]  # the attribute's getter, or a pure resolver
    non_null: bool
    is_list: bool
    item_non_null: bool
    coerce: Callable[[Any], Any] | None  # for scalars and enums
    object_type: GraphQLObjectType | None  # for object types
    leaf: Leaf | None  # for scalars and enums: what compiled serializers need
    attribute: str | None  # the attribute ``read`` gets, if a plain ASCII identifier


def _coercer(leaf: GraphQLLeafType) -> Leaf:
    """``leaf.coerce_output_value`` raising ``_Slow`` instead of failing (``general``),
    and with shortcuts for values that the built-in scalars and enums return unchanged
    or look up (``coerce``)."""

    def general(value: Any) -> Any:
        try:
            coerced = leaf.coerce_output_value(value)
        except Exception:
            raise _Slow from None
        if coerced is None or coerced is Undefined:
            raise _Slow
        return coerced

    if leaf is GraphQLString or leaf is GraphQLID:
        return Leaf("str", general, lambda v: v if type(v) is str else general(v), None)
    if leaf is GraphQLBoolean:
        return Leaf("bool", general, lambda v: v if type(v) is bool else general(v), None)
    if leaf is GraphQLFloat:
        return Leaf(
            "float",
            general,
            lambda v: v if type(v) is float and math.isfinite(v) else general(v),
            None,
        )
    if leaf is GraphQLInt:
        return Leaf(
            "int",
            general,
            lambda v: v if type(v) is int and INT_MIN <= v <= INT_MAX else general(v),
            None,
        )
    if isinstance(leaf, GraphQLEnumType):
        names = {v.value: name for name, v in leaf.values.items() if type(v.value) is str}
        return Leaf(
            "enum",
            general,
            lambda v: names[v] if type(v) is str and v in names else general(v),
            names,
        )
    return Leaf(None, general, general, None)


# parent type -> field name -> plan, or None when the field is not plain
_plans: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, _Plain | None]] = (
    weakref.WeakKeyDictionary()
)


def _make_plan(parent_type: GraphQLObjectType, field_name: str) -> _Plain | None:
    field = parent_type.fields.get(field_name)
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    attribute = None
    if definition.is_basic_field:
        if definition.default_resolver is not getattr:
            return None
        read = operator.attrgetter(definition.python_name)
        attribute = _identifier(definition.python_name)
    else:
        read = _pure_resolver(definition)
        if read is None:
            return None
    kind = field.type
    non_null = isinstance(kind, GraphQLNonNull)
    if non_null:
        kind = kind.of_type
    is_list = isinstance(kind, GraphQLList)
    item_non_null = False
    if is_list:
        kind = kind.of_type
        item_non_null = isinstance(kind, GraphQLNonNull)
        if item_non_null:
            kind = kind.of_type
    if is_leaf_type(kind):
        leaf = _coercer(kind)
        return _Plain(read, non_null, is_list, item_non_null, leaf.coerce, None, leaf, attribute)
    if is_object_type(kind) and kind.is_type_of is None:
        return _Plain(read, non_null, is_list, item_non_null, None, kind, None, attribute)
    return None  # lists of lists, interfaces, unions, objects with a type check


def _identifier(name: str) -> str | None:
    """``name`` if generated code may spell it as an attribute (ASCII: Python would
    normalize other identifiers, and read another attribute than ``getattr``)."""
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name):
        return name
    return None


def _pure_resolver(definition: StrawberryField) -> Callable[[Any], Any] | None:
    """The resolver function of a field marked ``PURE`` that takes only ``self`` (no
    arguments, info, root or parent), is not async and has no field extensions."""
    resolver = definition.base_resolver
    if resolver is None or not definition.metadata.get(PURE) or definition.extensions:
        return None
    if resolver.arguments or resolver.is_async or resolver.self_parameter is None:
        return None
    if resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter:
        return None
    return resolver.wrapped_func


def _plan(parent_type: GraphQLObjectType, field_name: str) -> _Plain | None:
    plans = _plans.get(parent_type)
    if plans is None:
        plans = _plans[parent_type] = {}
    if field_name not in plans:
        plans[field_name] = _make_plan(parent_type, field_name)
    return plans[field_name]


def _record_source(object_type: GraphQLObjectType) -> RecordSource | None:
    """The record source of the type's Python class or of a class it extends (the
    ``Offer`` of a schema with custom fields extends the API's, ``extra.py``)."""
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    for cls in getattr(origin, "__mro__", ()):
        source = RECORD_SOURCES.get(cls)
        if source is not None:
            return source
    return None


def _serializer(
    steps: tuple[tuple, ...], record_source: RecordSource | None = None
) -> Callable[[Any], dict[str, Any]]:
    """A function building the result dict of an all-plain selection.

    ``steps``: (response name, reader, plan, complete) per field, ``complete`` being a
    leaf coercion or the serializer of the selection below; a ``__typename`` step has
    the type name in place of the reader and no plan.
    """

    def serialize(source: Any) -> dict[str, Any]:
        result = {}
        for response_name, read, plan, complete in steps:
            if plan is None:
                result[response_name] = read  # __typename: the type name
                continue
            value = read(source)
            if value is None:
                if plan.non_null:
                    raise _Slow
                result[response_name] = None
            elif not plan.is_list:
                result[response_name] = complete(value)
            elif type(value) is list or type(value) is tuple:
                if plan.item_non_null:
                    if any(item is None for item in value):
                        raise _Slow
                    result[response_name] = [complete(item) for item in value]
                else:
                    result[response_name] = [
                        None if item is None else complete(item) for item in value
                    ]
            else:
                raise _Slow
        return result

    serialize.steps = steps  # type: ignore[attr-defined]  # for compile_serializer
    serialize.record_source = record_source  # type: ignore[attr-defined]  # the same
    return serialize


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the plain-field shortcuts (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core memoizes grouped field sets per (type, field group), so every item
        # of a list shares one entry here: keyed by id(), holding the key object alive
        self._steps: dict[int, tuple[GroupedFieldSet, tuple[tuple, ...]]] = {}
        self._serializers: dict[tuple[int, int], tuple[Any, Callable | None]] = {}
        middleware = self.middleware_manager
        self._fast = middleware is None or not middleware.middlewares  # they see each field
        self._conditional: bool | None = None  # does the document use @skip/@include?

    def execute_operation(self) -> Any:
        result = super().execute_operation()
        if isinstance(result, ExecutionResult):
            # graphql-core's executor keeps two of its own bound methods
            # (``async_helpers``), a reference cycle: every request left the executor
            # and what it held (about 54 objects) to the garbage collector, whose young
            # collections were then the server's largest remaining cost of that kind.
            # A finished synchronous execution calls nothing through them again (an
            # awaitable or incremental result still does, and keeps them).
            self.async_helpers = None  # type: ignore[assignment]
        return result

    # -- all-plain selections --------------------------------------------------------

    def _serializer_for(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Callable[[Any], dict[str, Any]] | None:
        key = (id(object_type), id(field_details_list))
        cached = self._serializers.get(key)
        if cached is not None and cached[0][1] is field_details_list:
            return cached[1]
        nodes = self._shareable(field_details_list)
        if nodes is None:
            serializer = self._build_serializer(object_type, field_details_list)
        else:
            serializer = _shared_serializer(
                object_type, nodes, lambda: self._build_serializer(object_type, field_details_list)
            )
        self._serializers[key] = ((object_type, field_details_list), serializer)
        return serializer

    def _shareable(self, field_details_list: FieldDetailsList) -> tuple[FieldNode, ...] | None:
        """The field nodes, if the selection below them is the same in every request with
        this document (no @skip/@include, no incremental delivery): then its serializer
        can be kept across requests."""
        if self._conditional is None:
            self._conditional = _conditional(self.operation, self.fragment_definitions)
        if self._conditional:
            return None
        if any(
            fd.defer_usage is not None or fd.fragment_variable_values is not None
            for fd in field_details_list
        ):
            return None
        return tuple(fd.node for fd in field_details_list)

    def _build_serializer(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Callable[[Any], dict[str, Any]] | None:
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages:
            return None
        steps = []
        for response_name, sub_fields in collected.grouped_field_set.items():
            field_name = sub_fields[0].node.name.value
            if field_name == _TYPENAME:
                steps.append((response_name, object_type.name, None, None))
                continue
            plan = _plan(object_type, field_name)
            if plan is None:
                return None
            complete = plan.coerce
            if complete is None:
                complete = self._serializer_for(plan.object_type, sub_fields)
                if complete is None:
                    return None
            steps.append((response_name, plan.read, plan, complete))
        return _serializer(tuple(steps), _record_source(object_type))

    # -- mixed selections --------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        cached = self._steps.get(id(grouped_field_set))
        if cached is None or cached[0] is not grouped_field_set:
            steps = []
            for response_name, field_details_list in grouped_field_set.items():
                field_name = field_details_list[0].node.name.value
                plan = None if field_name == _TYPENAME else _plan(parent_type, field_name)
                steps.append((response_name, field_details_list, field_name, plan))
            cached = (grouped_field_set, tuple(steps))
            self._steps[id(grouped_field_set)] = cached
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        for response_name, field_details_list, field_name, plan in cached[1]:
            if field_name == _TYPENAME:
                results[response_name] = parent_type.name
                continue
            field_path = Path(path, response_name, parent_type.name)
            result: Any = Undefined
            if plan is not None:
                try:
                    result = self._complete_plain(
                        plan, field_details_list, field_path, source_value, position_context
                    )
                except _Slow:
                    result = Undefined
                except Exception as raw_error:  # as graphql-core's execute_field does
                    field_type = parent_type.fields[field_name].type
                    self.handle_field_error(raw_error, field_type, field_details_list, field_path)
                    result = None
            if result is Undefined:  # not plain, or the plain path gave up
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is Undefined:
                    continue
            results[response_name] = result
            if is_awaitable(result):
                pending.append(response_name)
        if not pending:
            return results
        return self._await_fields(results, pending)

    async def _await_fields(self, results: dict[str, Any], pending: list[str]) -> Any:
        values = await gather_with_cancel(*(results[name] for name in pending))
        results.update(zip(pending, values, strict=True))
        return results

    def _complete_plain(
        self,
        plan: _Plain,
        field_details_list: FieldDetailsList,
        path: Path,
        source: Any,
        position_context: Any,
    ) -> Any:
        value = plan.read(source)
        if value is None:
            if plan.non_null:
                raise _Slow
            return None
        coerce, object_type = plan.coerce, plan.object_type
        if not plan.is_list:
            if coerce is not None:
                return coerce(value)
            return self._complete_object(
                object_type, field_details_list, path, value, position_context
            )
        if not isinstance(value, list | tuple):
            raise _Slow
        if plan.item_non_null and any(item is None for item in value):
            raise _Slow
        if coerce is not None:
            return [None if item is None else coerce(item) for item in value]
        serializer = self._serializer_for(object_type, field_details_list)
        if serializer is not None:  # the usual case: every item in one go
            try:
                return [None if item is None else serializer(item) for item in value]
            except Exception:  # _Slow, or a missing attribute: no side effects so far
                pass  # item by item below, where graphql-core reports the problem
        completed: list[Any] = []
        awaitable = False
        for index, item in enumerate(value):
            if item is None:
                completed.append(None)
                continue
            item_path = path.add_key(index, None)
            try:
                done = self._complete_object(
                    object_type, field_details_list, item_path, item, position_context
                )
            except Exception as raw_error:
                if plan.item_non_null:
                    raise
                self.handle_field_error(raw_error, object_type, field_details_list, item_path)
                done = None
            awaitable = awaitable or self.is_awaitable(done)
            completed.append(done)
        if awaitable:
            return self._await_items(completed)
        return completed

    async def _await_items(self, items: list[Any]) -> list[Any]:
        is_awaitable = self.is_awaitable
        indices = [i for i, item in enumerate(items) if is_awaitable(item)]
        values = await gather_with_cancel(*(items[i] for i in indices))
        for i, value in zip(indices, values, strict=True):
            items[i] = value
        return items

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        serializer = self._serializer_for(object_type, field_details_list)
        if serializer is not None:
            try:
                return serializer(value)
            except Exception:  # _Slow, or a missing attribute: no side effects so far
                pass  # field by field below, where graphql-core reports the problem
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages:
            return self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        return self.execute_fields(
            object_type, value, path, collected.grouped_field_set, position_context
        )
