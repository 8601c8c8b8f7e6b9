"""One Python function per all-plain selection, for the selections kept across requests.

``execution.py`` turns a selection whose fields are all plain into a serializer: a loop
over its steps that reads each attribute and completes it with a leaf coercion or the
serializer of the selection below. For a page of 20 offers that loop runs 180 times and
unpacks 500 steps. A selection kept across requests (its document is cached) is worth
more work once: ``compile_serializer`` writes it as straight-line code, the selections
below inlined (a node of an offer is one call), leaf checks spelled out
(``type(v) is str``), lists as comprehensions.

The generated code does what the loop does and raises ``Slow`` where the loop raises
it (a null for a non-null field, a value its type does not allow, a list that is not
a list), before anything with side effects, so ``execution.py`` falls back to
graphql-core exactly as before. ``tests/test_graphql_execution.py`` compares both.

A selection on a type with a ``RecordSource`` (the API's ``Offer``, registered by
``types.py``) gets a second function too, for sources that are still a store record
(``types.RecordNode``): it reads each field from the record as the layout of
``directory_core.record_layout`` says (a column, a conversion of one, a part made of
several) instead of building the offer first, and the first function hands such a
source to it. A page of 20 offers: about 0.1 ms less.

Safety: the code text holds only names made here (``v3``, ``k0``, ``r2``), the bounds
of GraphQL's Int and the attribute names of plain fields, which come from the schema's
Python classes (``plan.attribute``: ASCII identifiers, checked). Everything the query
brings (response names) and all other values (getters, coercions, type names) reach
the function as values of its namespace, never as text of its code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

#: How deep selections are inlined into their parent's function; deeper ones are
#: called (their own function), which keeps the indentation of the code bounded.
MAX_INLINE_DEPTH = 6
#: the bounds of GraphQL's Int, for the checks here and in ``execution.py``
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class Slow(Exception):
    """The plain path cannot complete this value; graphql-core must (nothing with side
    effects has run for it yet)."""


class Leaf(NamedTuple):
    """What the code needs of a leaf type: ``kind`` names a built-in check ("str",
    "bool", "float", "int", "enum" or None), ``general`` coerces any value (raising
    ``Slow``), ``coerce`` tries the check first, ``names`` maps enum values to names."""

    kind: str | None
    general: Callable[[Any], Any]
    coerce: Callable[[Any], Any]
    names: dict[str, str] | None


class RecordSource(NamedTuple):
    """How a type's values may come as records (see the module): sources of class
    ``node_class`` carry ``_record``, ``_directory`` and ``_extra``; ``layout`` says where
    each attribute is in the record (``record_layout.OFFER_LAYOUT``), ``values`` which
    attributes the node makes of that value, as ``value(layout value, directory,
    extra)``, and ``reader(attribute)`` gives a function of the record for any of them
    (conversions that may share their objects: the answer only reads them)."""

    node_class: type
    layout: dict[str, Any]
    values: dict[str, Callable[[Any, Any, Any], Any]]
    reader: Callable[[str], Callable[[Any], Any]]


def _fail() -> Any:
    raise Slow


def _non_null(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:
        if value is None:
            raise Slow
        return coerce(value)

    return complete


_TESTS = {  # a value passing this needs no coercion
    "str": "type({v}) is str",
    "bool": "type({v}) is bool",
    "float": "type({v}) is float and _isfinite({v})",
    "int": f"type({{v}}) is int and {INT_MIN} <= {{v}} <= {INT_MAX}",
}


class _Writer:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"Slow": Slow, "_isfinite": math.isfinite}
        self.lines: list[str] = []
        self.count = 0

    def new(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, prefix: str, value: Any) -> str:
        name = self.new(prefix)
        self.namespace[name] = value
        return name

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def display(self, steps: tuple[tuple, ...], write: Callable[..., str]) -> str:
        """The dict display of ``steps``, each field's value written by ``write(plan,
        read, complete)`` (which returns its variable), ``__typename`` as the type name."""
        items = []
        for response_name, read, plan, complete in steps:
            key = self.value("k", response_name)
            if plan is None:  # __typename: ``read`` is the type name
                items.append(f"{key}: {self.value('t', read)}")
            else:
                items.append(f"{key}: {write(plan, read, complete)}")
        return "{" + ", ".join(items) + "}"

    def checked(self, plan: Any, var: str, indent: int, then: Callable[[int], None]) -> None:
        """Write the null check of ``var`` (``Slow`` for a non-null field), then the
        lines of ``then(indent)`` for a value that is not None."""
        if plan.non_null:
            self.line(indent, f"if {var} is None:")
            self.line(indent + 1, "raise Slow")
            then(indent)
        else:
            self.line(indent, f"if {var} is not None:")
            then(indent + 1)

    def selection(self, steps: tuple[tuple, ...], source: str, indent: int, depth: int) -> str:
        """Write the lines reading ``steps`` from ``source``; return the dict display."""

        def write(plan: Any, read: Any, complete: Any) -> str:
            var = self.new("v")
            if plan.attribute is not None:  # as ``read`` does, without a call
                self.line(indent, f"{var} = {source}.{plan.attribute}")
            else:
                self.line(indent, f"{var} = {self.value('r', read)}({source})")
            self.checked(plan, var, indent, lambda i: self.complete(plan, complete, var, i, depth))
            return var

        return self.display(steps, write)

    def complete(self, plan: Any, complete: Any, var: str, indent: int, depth: int) -> None:
        """Write the lines completing ``var`` (not None) in place."""
        if plan.is_list:
            self.line(indent, f"if type({var}) is not list and type({var}) is not tuple:")
            self.line(indent + 1, "raise Slow")
            item = self.new("x")
            self.line(indent, f"{var} = [{self.item(plan, complete, item)} for {item} in {var}]")
        elif plan.leaf is not None:
            self.leaf(plan.leaf, var, indent)
        elif depth < MAX_INLINE_DEPTH:
            indent = self.record_branch(complete, var, indent)
            display = self.selection(complete.steps, var, indent, depth + 1)
            self.line(indent, f"{var} = {display}")
        else:
            indent = self.record_branch(complete, var, indent)
            self.line(indent, f"{var} = {self.value('f', complete)}({var})")

    def leaf(self, leaf: Leaf, var: str, indent: int) -> None:
        general = self.value("c", leaf.general)
        test = _TESTS.get(leaf.kind or "")
        if test is not None:
            self.line(indent, f"if not ({test.format(v=var)}):")
            self.line(indent + 1, f"{var} = {general}({var})")
        elif leaf.kind == "enum":
            names, name = self.value("m", leaf.names), self.new("n")
            self.line(indent, f"{name} = {names}.get({var}) if type({var}) is str else None")
            self.line(indent, f"{var} = {general}({var}) if {name} is None else {name}")
        else:
            self.line(indent, f"{var} = {general}({var})")

    def record_branch(self, complete: Any, var: str, indent: int) -> int:
        """If ``complete``'s selection has a record function, write the lines handing a
        record source ``var`` to it; return the indentation of the other sources' code."""
        record = _record_serializer(complete)
        if record is None:
            return indent
        node_class = self.value("R", record.record_source.node_class)
        self.line(indent, f"if type({var}) is {node_class}:")
        self.line(indent + 1, f"{var} = {self.value('g', record)}({var})")
        self.line(indent, "else:")
        return indent + 1

    def record_selection(self, steps: tuple[tuple, ...], source: RecordSource) -> str:
        """Write the lines reading ``steps`` from the record ``r`` (directory ``d``,
        custom field types ``e``); return the dict display. Every field's attribute is
        in the layout (``_compile_record_serializer`` checks)."""

        def write(plan: Any, read: Any, complete: Any) -> str:
            attribute = plan.attribute
            place = source.layout[attribute]
            if _parts_readable(place, plan, complete):
                return self.record_part(place, complete.steps)
            var = self.new("v")
            value = self.record_value(place, source, attribute)
            if attribute in source.values:  # a key the node turns into its object
                value = f"{self.value('n', source.values[attribute])}({value}, d, e)"
            self.line(1, f"{var} = {value}")
            self.checked(plan, var, 1, lambda i: self.complete(plan, complete, var, i, 1))
            return var

        return self.display(steps, write)

    def record_value(self, place: Any, source: RecordSource, attribute: str) -> str:
        """The expression of an attribute's value in the record ``r``: the column itself
        when it needs no conversion, else the layout's reader."""
        if getattr(place, "convert", True) is None:
            return f"r[{place.index}]"
        return f"{self.value('a', source.reader(attribute))}(r)"

    def record_part(self, part: Any, steps: tuple[tuple, ...]) -> str:
        """Write the lines reading a part's selection from its columns (each of them
        checked by ``_parts_readable``); return the variable holding its dict."""

        def write(plan: Any, read: Any, complete: Any) -> str:
            column = part.columns[plan.attribute]
            var = self.new("w")
            value = f"r[{column.index}]"
            if column.convert is not None:
                value = f"{self.value('a', column.convert)}({value})"
            self.line(1, f"{var} = {value}")
            self.checked(plan, var, 1, lambda i: self.leaf(plan.leaf, var, i))
            return var

        var = self.new("v")
        self.line(1, f"{var} = {self.display(steps, write)}")
        return var

    def item(self, plan: Any, complete: Any, x: str) -> str:
        """The expression completing list item ``x``."""
        if plan.leaf is None:
            function = self.value("f", complete)
            if plan.item_non_null:
                return f"{function}({x}) if {x} is not None else {self.value('e', _fail)}()"
            return f"None if {x} is None else {function}({x})"
        test = _TESTS.get(plan.leaf.kind or "")
        if plan.item_non_null:
            coerce = self.value("c", _non_null(plan.leaf.coerce))
            return f"{x} if {test.format(v=x)} else {coerce}({x})" if test else f"{coerce}({x})"
        coerce = self.value("c", plan.leaf.coerce)
        if test is None:
            return f"None if {x} is None else {coerce}({x})"
        return f"{x} if {x} is None or {test.format(v=x)} else {coerce}({x})"


def compile_serializer(
    steps: tuple[tuple, ...], record_source: RecordSource | None = None
) -> Callable[[Any], dict[str, Any]]:
    """The serializer of ``steps`` (as ``execution._serializer`` takes them: response
    name, reader, plan, completion per field; a completion that is a serializer has
    its own ``steps``, and its type's ``record_source`` if it has one) as one function;
    it carries ``steps``, ``record_source`` and its ``code`` too."""
    writer = _Writer()
    record = _compile_record_serializer(steps, record_source) if record_source else None
    if record is not None:
        assert record_source is not None
        node_class = writer.value("R", record_source.node_class)
        writer.line(1, f"if type(s0) is {node_class}:")
        writer.line(2, f"return {writer.value('g', record)}(s0)")
    display = writer.selection(steps, "s0", 1, 0)
    code = "\n".join(["def serialize(s0):", *writer.lines, f"    return {display}"])
    exec(compile(code, "<directory serializer>", "exec"), writer.namespace)  # noqa: S102
    serialize = writer.namespace["serialize"]
    serialize.steps = steps
    serialize.record_source = record_source
    serialize.record_serializer = record or False
    serialize.code = code  # for the tests and for reading in a debugger
    return serialize


def _record_serializer(complete: Any) -> Callable[[Any], dict[str, Any]] | None:
    """The record function of the selection of the serializer ``complete``, if its
    type has a ``RecordSource`` and every field can be read from the record; written
    once and kept on ``complete``."""
    source = getattr(complete, "record_source", None)
    if source is None:
        return None
    record = getattr(complete, "record_serializer", None)
    if record is None:
        record = _compile_record_serializer(complete.steps, source) or False
        complete.record_serializer = record
    return record or None


def _compile_record_serializer(
    steps: tuple[tuple, ...], source: RecordSource
) -> Callable[[Any], dict[str, Any]] | None:
    if not all(plan is None or plan.attribute in source.layout for _name, _read, plan, _c in steps):
        return None  # a field the record does not hold (a pure resolver of the type)
    writer = _Writer()
    writer.line(1, "r, d, e = s0._record, s0._directory, s0._extra")
    display = writer.record_selection(steps, source)
    code = "\n".join(["def serialize(s0):", *writer.lines, f"    return {display}"])
    exec(compile(code, "<directory record serializer>", "exec"), writer.namespace)  # noqa: S102
    serialize = writer.namespace["serialize"]
    serialize.record_source = source
    serialize.code = code
    return serialize


def _parts_readable(place: Any, plan: Any, complete: Any) -> bool:
    """Whether a selection on a part can be read from its columns directly: a part
    that always exists (no required columns), a non-null object field, and each field
    below one of its columns and a leaf (or ``__typename``)."""
    columns = getattr(place, "columns", None)
    if columns is None or place.required or not plan.non_null or plan.is_list:
        return False
    if plan.object_type is None or not hasattr(complete, "steps"):
        return False
    return all(
        sub is None or (sub.attribute in columns and sub.leaf is not None and not sub.is_list)
        for _name, _read, sub, _c in complete.steps
    )
