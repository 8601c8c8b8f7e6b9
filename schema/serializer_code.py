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

    def selection(self, steps: tuple[tuple, ...], source: str, indent: int, depth: int) -> str:
        """Write the lines reading ``steps`` from ``source``; return the dict display."""
        items = []
        for response_name, read, plan, complete in steps:
            key = self.value("k", response_name)
            if plan is None:  # __typename: ``read`` is the type name
                items.append(f"{key}: {self.value('t', read)}")
                continue
            var = self.new("v")
            if plan.attribute is not None:  # as ``read`` does, without a call
                self.line(indent, f"{var} = {source}.{plan.attribute}")
            else:
                self.line(indent, f"{var} = {self.value('r', read)}({source})")
            if plan.non_null:
                self.line(indent, f"if {var} is None:")
                self.line(indent + 1, "raise Slow")
                self.complete(plan, complete, var, indent, depth)
            else:
                self.line(indent, f"if {var} is not None:")
                self.complete(plan, complete, var, indent + 1, depth)
            items.append(f"{key}: {var}")
        return "{" + ", ".join(items) + "}"

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
            display = self.selection(complete.steps, var, indent, depth + 1)
            self.line(indent, f"{var} = {display}")
        else:
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


def compile_serializer(steps: tuple[tuple, ...]) -> Callable[[Any], dict[str, Any]]:
    """The serializer of ``steps`` (as ``execution._serializer`` takes them: response
    name, reader, plan, completion per field; a completion that is a serializer has
    its own ``steps``) as one function; it carries ``steps`` and its ``code`` too."""
    writer = _Writer()
    display = writer.selection(steps, "s0", 1, 0)
    code = "\n".join(["def serialize(s0):", *writer.lines, f"    return {display}"])
    exec(compile(code, "<directory serializer>", "exec"), writer.namespace)  # noqa: S102
    serialize = writer.namespace["serialize"]
    serialize.steps = steps
    serialize.code = code  # for the tests and for reading in a debugger
    return serialize
