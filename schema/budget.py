"""What a GraphQL document would cost to run, measured in time linear in its size.

A document can be small and still ask for a lot: fragments that spread the next one
several times, aliases repeating a subtree, lists inside lists. ``measure`` computes, for
one operation with its fragments expanded, the depth of the deepest field, the number
of aliased fields and a **cost**: the number of fields it would resolve, each counted
once per item of every list it sits in. A list field with a ``first`` argument (or the
list right below a connection field with one) counts as ``first`` items (a variable's
value as graphql-core coerces it, ``100.0`` as 100, or its definition's default when it
was not sent), any other list as ``LIST_SIZE_ESTIMATE`` items.

Each fragment is measured once per (fragment, pending ``first``) and its figures are
reused at every spread, so the work is linear in the document even where the expanded
query is exponential; the figures are plain Python integers and may be huge.
Introspection fields (``__schema``, ``__type``) count towards aliases and cost with list
size 1 but not towards depth: their depth is fixed by the schema (GraphiQL's own
introspection query is 13 levels deep).

Unknown fields, fragments and fragment cycles are left to graphql-core's validation,
which runs afterwards and reports them; here they count as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

LIST_SIZE_ESTIMATE = 10
# fragments spreading fragments this deep are refused (as too deep) before they would
# reach Python's recursion limit here or in graphql-core
MAX_FRAGMENT_NESTING = 50


class FragmentsTooDeep(Exception):
    """Fragments spread each other more than ``MAX_FRAGMENT_NESTING`` levels deep."""


@dataclass(frozen=True)
class Measure:
    """Figures of one selection set (or operation), fragments expanded."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0


_NOTHING = Measure()


def _first_value(field: FieldNode, variables: dict[str, Any], default: int) -> int | None:
    """The ``first`` argument of ``field`` if it has one (a variable resolved, a value
    that is not an int counted as ``default``: validation refuses it later)."""
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            number: Any = int(value.value)
        elif isinstance(value, VariableNode):
            number = variables.get(value.name.value, default)
        else:
            return default
        return _counted(number, default)
    return None


def _counted(number: Any, default: int) -> int:
    """A ``first`` value as graphql-core will coerce it for an ``Int``: a whole number
    (an integral float such as ``100.0`` included) of 0 or more, else ``default``
    (validation or the resolver refuses it, or it means the default page size)."""
    if type(number) is float and number.is_integer():
        number = int(number)
    if type(number) is not int or number < 0:
        return default
    return number


def _is_list(kind: Any) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


class _Measurer:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        default_first: int,
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_first = default_first
        self.memo: dict[tuple[str, int | None], Measure] = {}
        self.active: set[str] = set()

    def selection_set(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        pending_first: int | None,
        introspection: bool,
    ) -> Measure:
        """Figures of a selection set: depth below it, aliases and cost inside it."""
        if selection_set is None:
            return _NOTHING
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent, pending_first, introspection)
            elif isinstance(selection, InlineFragmentNode):
                kind = parent
                if selection.type_condition is not None:
                    kind = self.schema.get_type(selection.type_condition.name.value)
                part = self.selection_set(
                    selection.selection_set, kind, pending_first, introspection
                )
            elif isinstance(selection, FragmentSpreadNode):
                part = self.spread(selection.name.value, pending_first, introspection)
            else:  # pragma: no cover - graphql-core has no other selections
                continue
            depth = max(depth, part.depth)
            aliases += part.aliases
            cost += part.cost
        return Measure(depth, aliases, cost)

    def spread(self, name: str, pending_first: int | None, introspection: bool) -> Measure:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return _NOTHING  # unknown fragment or a cycle: validation reports it
        if len(self.active) >= MAX_FRAGMENT_NESTING:
            raise FragmentsTooDeep
        key = (name, pending_first if not introspection else -1)
        found = self.memo.get(key)
        if found is None:
            self.active.add(name)
            try:
                kind = self.schema.get_type(fragment.type_condition.name.value)
                found = self.selection_set(
                    fragment.selection_set, kind, pending_first, introspection
                )
            finally:
                self.active.discard(name)
            self.memo[key] = found
        return found

    def field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        pending_first: int | None,
        introspection: bool,
    ) -> Measure:
        name = node.name.value
        introspection = introspection or name.startswith("__")
        field_type = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
            field_type = definition.type if definition is not None else None
        first = None if introspection else _first_value(node, self.variables, self.default_first)
        items, below_first = 1, None
        if field_type is not None and _is_list(field_type):
            # a list: its own `first`, or the one of the connection right above it
            size = first if first is not None else pending_first
            if introspection:
                size = 1
            items = size if size is not None else LIST_SIZE_ESTIMATE
        else:
            below_first = first  # a connection: `first` sizes the list below it
        child_type = get_named_type(field_type) if field_type is not None else None
        inner = self.selection_set(node.selection_set, child_type, below_first, introspection)
        depth = 0 if introspection else 1 + inner.depth
        alias = 1 if node.alias is not None else 0
        return Measure(depth, alias + inner.aliases, items * (1 + inner.cost))


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    default_first: int,
) -> Measure:
    """The figures of the operation that would run (the largest one if the name is
    missing or unknown: graphql-core refuses those later anyway)."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    named = [op for op in operations if op.name is not None and op.name.value == operation_name]
    result = _NOTHING
    for operation in named or operations:
        values = _WithDefaults(variables or {}, operation)
        measurer = _Measurer(schema, fragments, values, default_first)  # type: ignore[arg-type]
        root = schema.get_root_type(operation.operation)
        found = measurer.selection_set(operation.selection_set, root, None, False)
        result = Measure(
            max(result.depth, found.depth),
            max(result.aliases, found.aliases),
            max(result.cost, found.cost),
        )
    return result


_MISSING = object()


class _WithDefaults:
    """The request's variables, and where one was not sent, the default value its
    definition in the operation gives (``query($n: Int = 100)``): graphql-core uses it."""

    def __init__(self, values: Any, operation: OperationDefinitionNode):
        self.values = values
        self.defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name, _MISSING)
        if value is _MISSING:
            return self.defaults.get(name, default)
        return value


class _Recorder:
    """The request's variables, noting the names ``measure`` reads (those of ``first``
    arguments: nothing else changes the figures of a document)."""

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.read: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return self.values.get(name, default)


def _key_of(values: dict[str, Any], name: str) -> Any:
    """What a variable contributes to the memo key: ``"-"`` if it was not sent (its
    definition's default then counts, fixed for the document), else its value as
    ``_first_value`` counts it (``None`` for the default page size)."""
    if name not in values:
        return "-"
    counted = _counted(values[name], -1)
    return None if counted == -1 else counted


# figures kept per document: one per operation name and `first` values seen, up to this
MEMO_ENTRIES = 32


def measure_memoized(
    schema: GraphQLSchema,
    document: DocumentNode,
    memo: dict[Any, Any],
    operation_name: str | None,
    variables: dict[str, Any] | None,
    default_first: int,
) -> Measure:
    """``measure``, remembered in ``memo`` (a parsed document's own dict): the same
    document asked again with the same ``first`` values has the same figures, and a
    counsellor's page asks the same few documents all day."""
    values = variables or {}
    # the figures also depend on the schema (list fields) and the default page size
    base = (id(schema), default_first, operation_name)
    names = memo.get(("read", *base))
    if names is not None:
        found = memo.get(("figures", *base, *(_key_of(values, n) for n in names)))
        if found is not None and found[0] is schema:
            return found[1]
    recorder = _Recorder(values)
    figures = measure(schema, document, operation_name, recorder, default_first)  # type: ignore[arg-type]
    names = tuple(sorted(recorder.read))
    if len(memo) < MEMO_ENTRIES:
        memo[("read", *base)] = names
        memo[("figures", *base, *(_key_of(values, n) for n in names))] = (schema, figures)
    return figures
