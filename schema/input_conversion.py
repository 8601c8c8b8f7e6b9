"""Input objects built from their GraphQL values without strawberry's per-field walk.

Strawberry turns every input-object argument into its class on every request by
``convert_argument``, which for each field of the class looks up its GraphQL name (name
converter, camel case), resolves its type (generics checks) and recurses: some 40 calls
for the ``offers`` arguments of one nearby search, a fifth of the whole GraphQL work
once the offers are loaded. The answer depends only on the class, the schema's config
and its scalars, so ``fast_input`` plans it once per class and installs the plan as the
class's ``from_input``, the hook strawberry documents for types that build their own
value (``StrawberryObjectDefinition.from_input``).

The plan does what ``convert_argument`` does, field by field: fields without a default
start as ``None``; a field the value has is converted, then the class is called with
the keyword arguments. A leaf (scalar, enum) is taken as it is and a list of leaves is
copied, as strawberry does; any other field type (nested input objects, ``GlobalID``,
lists of inputs) is handed back to strawberry (``InputContext.convert``) with its path,
so the result is strawberry's own. ``tests/test_input_conversion.py`` compares both.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import MISSING as _MISSING
from typing import Any, NamedTuple

from strawberry.relay.types import GlobalID
from strawberry.types.arguments import InputContext, _is_leaf_type, _is_optional_leaf_type
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    get_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.unset import UNSET

_AS_IS = "as is"  # a leaf: strawberry returns the value itself (None and UNSET too)
_COPY = "copy"  # a list of leaves: copied (a shared default must not leak between requests)
_STRAWBERRY = "strawberry"  # anything else: InputContext.convert


class _Field(NamedTuple):
    graphql_name: str
    python_name: str
    how: str
    type: Any  # the resolved strawberry type, for _STRAWBERRY


class _Plan(NamedTuple):
    config: Any
    scalar_registry: Any
    defaults: dict[str, None]  # the fields without a default start as None
    fields: tuple[_Field, ...]


# class -> plans, one per (config, scalar registry) of the schemas using it
_plans: weakref.WeakKeyDictionary[type, list[_Plan]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def fast_input(cls: type) -> type:
    """Make strawberry build the input class ``cls`` (``@strawberry.input``) from its
    GraphQL value with a plan made once (see the module); returns ``cls``.

    Refuses classes that build their own value already and ``Maybe`` fields, whose
    nulls strawberry's validation checks only for classes without ``from_input``.
    """
    definition = get_object_definition(cls, strict=True)
    if not definition.is_input:
        raise TypeError(f"{cls.__name__} is not an input type")
    if definition.from_input is not None:
        raise TypeError(f"{cls.__name__} builds its own value already")
    if any(isinstance(field.type, StrawberryMaybe) for field in definition.fields):
        raise TypeError(f"{cls.__name__} has Maybe fields; strawberry must check their nulls")
    definition.from_input = _from_input
    return cls


def _from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    plan = _plan(cls, context)
    kwargs: dict[str, Any] = dict(plan.defaults)
    for graphql_name, python_name, how, field_type in plan.fields:
        if graphql_name in value:
            item = value[graphql_name]
            if how is _AS_IS:
                kwargs[python_name] = item
            elif how is _COPY:
                kwargs[python_name] = item if item is None or item is UNSET else list(item)
            else:
                kwargs[python_name] = context.convert(item, field_type, graphql_name)
    return cls(**kwargs)


def _plan(cls: type, context: InputContext) -> _Plan:
    config, registry = context.config, context.scalar_registry
    for plan in _plans.get(cls, ()):
        if plan.config is config and plan.scalar_registry is registry:
            return plan
    plan = _make_plan(cls, context)
    with _lock:
        _plans.setdefault(cls, []).append(plan)
    return plan


def _make_plan(cls: type, context: InputContext) -> _Plan:
    definition = get_object_definition(cls, strict=True)
    registry = context.scalar_registry
    name_of: Callable[[Any], str] = context.config.name_converter.from_field
    defaults: dict[str, None] = {}
    fields = []
    for field in definition.fields:
        if field.default_value is _MISSING and field.default_factory is _MISSING:
            defaults[field.python_name] = None
        field_type = field.resolve_type(type_definition=definition)
        fields.append(
            _Field(name_of(field), field.python_name, _how(field_type, registry), field_type)
        )
    return _Plan(context.config, registry, defaults, tuple(fields))


def _how(field_type: Any, registry: Any) -> str:
    """How ``convert_argument`` treats a value of ``field_type`` (same order of checks)."""
    if isinstance(field_type, StrawberryMaybe):
        return _STRAWBERRY
    while isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
        if isinstance(field_type, StrawberryMaybe):
            return _STRAWBERRY
    if isinstance(field_type, StrawberryList):
        item = field_type.of_type
        skip = (GlobalID,)
        if _is_leaf_type(item, registry, skip_classes=skip) or _is_optional_leaf_type(
            item, registry, skip_classes=skip
        ):
            return _COPY
        return _STRAWBERRY
    if field_type is GlobalID:
        return _STRAWBERRY
    if _is_leaf_type(field_type, registry) or has_enum_definition(field_type):
        return _AS_IS
    return _STRAWBERRY
