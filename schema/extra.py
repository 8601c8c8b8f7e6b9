"""Typed GraphQL fields and filters for the plugins' custom fields, built at start-up.

For every plugin namespace with custom fields (``directory_core.custom_fields``) this
builds an output type (``offer { extra { awo { transportService } } }``) and, for the
filterable fields, an input type (``filter: {extra: {awo: {transportService: true}}}``).
Each field keeps its declared type: ``Boolean``, ``Int``, ``Decimal``, ``Date``, ``String``
or an enum type of its own; no JSON blobs. Values are turned into plain objects when an
offer node is built, so the fast path of ``execution.py`` reads them like any attribute.

Type names are derived from plugin and field names (``ExtraAwo``, ``ExtraAwoFilter``,
``ExtraAwoMealsOnWheelsZone``) and can spell the same name for different things (an enum
field ``filter`` of plugin ``x`` and the filter type of ``x``; field ``zone`` of ``awo``
and plugin ``awo_zone``). ``_TypeNames`` hands out each name once, never a core type's:
the object and filter types of every plugin first, then the enums, which fall back to
``...Enum`` (then a number). Field names cannot be renamed (they are the API): two that
become the same GraphQL name stop the start with a ``PluginError`` naming both.
"""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from directory_search.base import ExtraFilter
from strawberry.utils.str_converters import to_camel_case

from directory_core.custom_fields import CustomField, CustomFieldSet
from directory_core.plugins import PluginError

from .errors import InputError

SCALARS: dict[str, type] = {
    "string": str,
    "text": str,
    "url": str,
    "email": str,
    "integer": int,
    "decimal": Decimal,
    "boolean": bool,
    "date": date,
}


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _camel(name: str) -> str:
    pascal = _pascal(name)
    return pascal[:1].lower() + pascal[1:]


@strawberry.input(description="A range; either end may be left out.")
class IntRange:
    min: int | None = None
    max: int | None = None


@strawberry.input(description="A range of decimal numbers; either end may be left out.")
class DecimalRange:
    min: Decimal | None = None
    max: Decimal | None = None


@strawberry.input(description="A range of dates (inclusive); either end may be left out.")
class DateRange:
    min: date | None = None
    max: date | None = None


RANGES = {"integer": IntRange, "decimal": DecimalRange, "date": DateRange}


def _new_type(name: str, annotations: dict[str, Any], fields: dict[str, Any], **options):
    namespace = {"__annotations__": annotations, **fields}
    cls = types.new_class(name, (), {}, lambda ns: ns.update(namespace))
    decorate = strawberry.input if options.pop("is_input", False) else strawberry.type
    return decorate(cls, name=name, **options)


def core_type_names() -> set[str]:
    """The names of the static schema's types (``types.py``, ``inputs.py`` and this
    module): generated types never take them."""
    from . import inputs
    from . import types as core_types

    names = {"Query", "Offer", "OfferEdge", "OfferConnection", "OfferFilter"}
    names |= {"OfferExtra", "OfferExtraFilter"}
    for module in (core_types, inputs, __import__(__name__, fromlist=["_"])):
        for value in vars(module).values():
            definition = getattr(value, "__strawberry_definition__", None)
            definition = definition or getattr(value, "_enum_definition", None)
            name = getattr(definition, "name", None)
            if isinstance(name, str):
                names.add(name)
    return names


class _TypeNames:
    """Each GraphQL type name at most once (see the module docstring)."""

    def __init__(self, reserved: set[str]):
        self.owners = {name: "the core schema" for name in reserved}

    def claim(self, preferred: str, fallback: str, owner: str) -> str:
        for name in (preferred, fallback):
            if name not in self.owners:
                self.owners[name] = owner
                return name
        number = 2
        while f"{fallback}{number}" in self.owners:
            number += 1
        self.owners[f"{fallback}{number}"] = owner
        return f"{fallback}{number}"


def _check_field_names(custom_fields: CustomFieldSet) -> None:
    """Two plugins, or two fields of one plugin, that become one GraphQL field name."""
    seen: dict[str, str] = {}
    for namespace in sorted(custom_fields.by_namespace):
        graphql = to_camel_case(namespace)
        if graphql in seen:
            raise PluginError(
                f"plugins {seen[graphql]!r} and {namespace!r} both become the GraphQL field "
                f"'extra {{ {graphql} }}'; rename one plugin (its entry-point name)"
            )
        seen[graphql] = namespace
    for namespace, declared in sorted(custom_fields.by_namespace.items()):
        fields: dict[str, str] = {}
        for name in declared:
            graphql = to_camel_case(name)
            if graphql in fields:
                raise PluginError(
                    f"custom fields {fields[graphql]!r} and {name!r} of plugin {namespace!r} "
                    f"both become the GraphQL field {graphql!r}; rename one of them"
                )
            fields[graphql] = name


@dataclass
class _Namespace:
    name: str
    fields: dict[str, CustomField]
    enums: dict[str, type[enum.Enum]]
    output: type
    filter: type | None
    input: type | None = None


class ExtraTypes:
    """The GraphQL types of one directory's custom fields (``output``/``filter`` are
    ``None`` when no plugin declares fields)."""

    def __init__(self, custom_fields: CustomFieldSet):
        _check_field_names(custom_fields)
        names = _TypeNames(core_type_names())
        ordered = sorted(custom_fields.by_namespace.items())
        outputs, filters, inputs, enums = {}, {}, {}, {}
        for namespace, _ in ordered:  # plugins' own types first, enums after
            prefix = f"Extra{_pascal(namespace)}"
            outputs[namespace] = names.claim(prefix, f"{prefix}Fields", f"plugin {namespace}")
        for namespace, declared in ordered:
            if any(spec.filterable for spec in declared.values()):
                prefix = f"Extra{_pascal(namespace)}"
                filters[namespace] = names.claim(
                    f"{prefix}Filter", f"{prefix}FilterInput", f"filter of plugin {namespace}"
                )
        for namespace, _ in ordered:  # the typed values a write sets (mutations)
            prefix = f"Extra{_pascal(namespace)}"
            inputs[namespace] = names.claim(
                f"{prefix}Input", f"{prefix}ValuesInput", f"input of plugin {namespace}"
            )
        for namespace, declared in ordered:
            for name, spec in declared.items():
                if spec.type in ("enum", "enum_list"):
                    wanted = f"Extra{_pascal(namespace)}{_pascal(name)}"
                    enums[namespace, name] = names.claim(
                        wanted, f"{wanted}Enum", f"field {namespace}.{name}"
                    )
        self.namespaces: dict[str, _Namespace] = {}
        for namespace, declared in ordered:
            self.namespaces[namespace] = self._namespace_types(
                namespace,
                declared,
                outputs[namespace],
                filters.get(namespace),
                inputs[namespace],
                enums,
            )
        self.output: type | None = None
        self.filter: type | None = None
        self.input: type | None = None
        # the ``Offer`` type with ``extra`` (set by ``query_type``); mutations return it
        self.offer_type: type | None = None
        if not self.namespaces:
            return
        self.input = _new_type(
            "OfferExtraInput",
            {name: ns.input | None for name, ns in self.namespaces.items()},
            {name: strawberry.field(default=strawberry.UNSET) for name in self.namespaces},
            description="Custom fields to set, by plugin name; left out: unchanged.",
            is_input=True,
        )
        self.output = _new_type(
            "OfferExtra",
            {name: ns.output | None for name, ns in self.namespaces.items()},
            {name: None for name in self.namespaces},
            description="Custom fields of the plugins, by plugin name.",
        )
        filterable = {n: ns for n, ns in self.namespaces.items() if ns.filter is not None}
        if filterable:
            self.filter = _new_type(
                "OfferExtraFilter",
                {name: ns.filter | None for name, ns in filterable.items()},
                {name: None for name in filterable},
                description="Filters on the plugins' filterable custom fields.",
                is_input=True,
            )

    def _namespace_types(
        self,
        namespace: str,
        declared: dict[str, CustomField],
        output_name: str,
        filter_name: str | None,
        input_name: str,
        enum_names: dict[tuple[str, str], str],
    ) -> _Namespace:
        enums: dict[str, type[enum.Enum]] = {}
        outputs: dict[str, Any] = {}
        filters: dict[str, Any] = {}
        descriptions: dict[str, str] = {}
        for name, spec in declared.items():
            descriptions[name] = " ".join(p for p in (spec.label + ".", spec.description) if p)
            if spec.type in ("enum", "enum_list"):
                members = [(value.upper(), value) for value in spec.values]
                enum_type = strawberry.enum(
                    enum.Enum(enum_names[namespace, name], members, type=str),  # type: ignore[misc]
                    description=f"Values of {namespace}.{name} ({spec.label}).",
                )
                enums[name] = enum_type
                outputs[name] = enum_type if spec.type == "enum" else list[enum_type]
                if spec.filterable:
                    filters[name] = list[enum_type]
            else:
                outputs[name] = SCALARS[spec.type]
                if spec.filterable:
                    filters[name] = RANGES.get(spec.type, SCALARS[spec.type])
        output = _new_type(
            output_name,
            {name: kind | None for name, kind in outputs.items()},
            {
                name: strawberry.field(default=None, description=descriptions[name])
                for name in outputs
            },
            description=f"Custom fields of plugin {namespace}.",
        )
        filter_type = None
        if filters and filter_name is not None:
            filter_type = _new_type(
                filter_name,
                {name: kind | None for name, kind in filters.items()},
                {
                    name: strawberry.field(default=None, description=_filter_help(declared[name]))
                    for name in filters
                },
                description=f"Filters on the custom fields of plugin {namespace} (AND).",
                is_input=True,
            )
        input_type = _new_type(
            input_name,
            {name: kind | None for name, kind in outputs.items()},
            {
                name: strawberry.field(
                    default=strawberry.UNSET,
                    description=f"{descriptions[name]} Left out: unchanged; null: removed.",
                )
                for name in outputs
            },
            description=f"Custom fields of plugin {namespace} to set.",
            is_input=True,
        )
        return _Namespace(namespace, declared, enums, output, filter_type, input_type)

    # -- values --------------------------------------------------------------------

    def node(self, extra: dict[str, dict[str, Any]] | None) -> Any:
        """The ``OfferExtra`` object for an offer's stored ``extra`` mapping."""
        if self.output is None:
            return None
        parts: dict[str, Any] = {}
        for name, ns in self.namespaces.items():
            stored = (extra or {}).get(name)
            if not stored:
                parts[name] = None
                continue
            part = ns.output.__new__(ns.output)
            for field_name, spec in ns.fields.items():
                part.__dict__[field_name] = _output_value(spec, stored.get(field_name))
            parts[name] = part
        node = self.output.__new__(self.output)
        node.__dict__.update(parts)
        return node

    def filters(self, value: Any) -> tuple[ExtraFilter, ...]:
        """Search filters from an ``OfferExtraFilter`` input (argument ``filter.extra``)."""
        if value is None:
            return ()
        result: list[ExtraFilter] = []
        for name, ns in self.namespaces.items():
            given = getattr(value, name, None)
            if given is None:
                continue
            for field_name, spec in ns.fields.items():
                wanted = getattr(given, field_name, None)
                if wanted is None or not spec.filterable:
                    continue
                path = f"{name}.{field_name}"
                where = f"filter.extra.{name}.{_camel(field_name)}"
                result.extend(_filters(spec, path, wanted, where))
        return tuple(result)


def _output_value(spec: CustomField, stored: Any) -> Any:
    if stored is None:
        return None
    if spec.type == "date":
        return date.fromisoformat(stored)
    if spec.type == "decimal":
        return Decimal(str(stored))
    return stored


def _filter_help(spec: CustomField) -> str:
    if spec.type in ("enum", "enum_list"):
        return f"{spec.label}: any of these values."
    if spec.type in RANGES:
        return f"{spec.label}: within this range (inclusive)."
    return f"{spec.label}: exactly this value."


def _filters(spec: CustomField, path: str, wanted: Any, where: str) -> list[ExtraFilter]:
    if spec.type in ("enum", "enum_list"):
        if not wanted:
            raise InputError(where, "must list at least one value")
        return [ExtraFilter(path, "in", [str(v.value) for v in wanted])]
    if spec.type in RANGES:
        low, high = wanted.min, wanted.max
        if low is None and high is None:
            raise InputError(where, "needs min, max or both")
        if low is not None and high is not None and low > high:
            raise InputError(where, f"min ({low}) must not be greater than max ({high})")
        convert = {"integer": int, "decimal": float, "date": date.isoformat}[spec.type]
        found = []
        if low is not None:
            found.append(ExtraFilter(path, "gte", convert(low)))
        if high is not None:
            found.append(ExtraFilter(path, "lte", convert(high)))
        return found
    return [ExtraFilter(path, "eq", wanted)]


def query_type(extra: ExtraTypes, base_query: type) -> type:
    """The ``Query`` root for ``extra``: the static one, or one whose ``Offer`` has an
    ``extra`` field and whose ``OfferFilter`` has an ``extra`` filter. The resolvers are
    the static ones; only the declared types differ."""
    import copy

    from strawberry.annotation import StrawberryAnnotation
    from strawberry.tools import create_type
    from strawberry.types.base import get_object_definition

    from . import types as t
    from .input_conversion import fast_input
    from .inputs import OfferFilter

    if extra.output is None:
        extra.offer_type = t.Offer
        return base_query

    def subclass(name: str, base: type, annotations: dict[str, Any], defaults: dict, **opts):
        namespace = {"__annotations__": annotations, **defaults}
        cls = types.new_class(name, (base,), {}, lambda ns: ns.update(namespace))
        decorate = strawberry.input if opts.pop("is_input", False) else strawberry.type
        return decorate(cls, name=name, **opts)

    offer = subclass(
        "Offer",
        t.Offer,
        {"extra": extra.output | None},
        {"extra": strawberry.field(default=None, description="Custom fields of plugins.")},
        description=get_object_definition(t.Offer).description,
    )
    extra.offer_type = offer
    edge = subclass("OfferEdge", t.OfferEdge, {"node": offer}, {})
    connection = subclass(
        "OfferConnection",
        t.OfferConnection,
        {"edges": list[edge]},
        {},
        description=get_object_definition(t.OfferConnection).description,
    )
    offer_filter = OfferFilter
    if extra.filter is not None:
        offer_filter = fast_input(  # like the static one (input_conversion.py)
            subclass(
                "OfferFilter",
                OfferFilter,
                {"extra": extra.filter | None},
                {"extra": strawberry.field(default=None, description="Custom-field filters.")},
                is_input=True,
                description=get_object_definition(OfferFilter).description,
            )
        )
    fields = []
    for field in get_object_definition(base_query).fields:
        field = copy.copy(field)
        if field.python_name == "offers":
            field.type = connection
            arguments = []
            for argument in field.arguments:
                if argument.python_name == "filter_":
                    argument = copy.copy(argument)
                    argument.type_annotation = StrawberryAnnotation(offer_filter | None)
                arguments.append(argument)
            field.arguments = arguments
        elif field.python_name == "offer":
            field.type = offer | None
        elif field.python_name == "stale_offers":
            field.type = list[offer]
        fields.append(field)
    return create_type("Query", fields)
