"""Custom fields: typed fields a plugin adds to offers.

A plugin declares ``CustomField`` values in its ``register_custom_fields`` hook. Values
live in ``Offer.extra[namespace][name]`` where the namespace is the plugin's name. They
are validated on every write (``CustomFieldSet.check``), stored with the offer, indexed
by every search backend (filterable fields as filters, searchable ones as text) and
exposed as typed GraphQL fields and filters (``directory_schema.extra``).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .model import OfferKind
from .validation import EMAIL, WEBSITE, FieldError

FIELD_TYPES = (
    "string",
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "url",
    "email",
    "enum",
    "enum_list",
)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ENUM_VALUE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
KINDS = tuple(k.value for k in OfferKind)


class CustomFieldError(ValueError):
    """A custom field declaration is invalid or collides with another."""


@dataclass(frozen=True)
class CustomField:
    """A typed field a plugin adds to offers.

    :param name: snake_case identifier, unique within the plugin (``transport_service``).
    :param type: one of ``string``, ``text``, ``integer``, ``decimal``, ``boolean``,
        ``date``, ``url``, ``email``, ``enum``, ``enum_list``.
    :param label: German label shown to people (``"Fahrdienst"``).
    :param description: one sentence on what the field means.
    :param values: the allowed values of ``enum`` and ``enum_list`` fields.
    :param kinds: offer kinds the field applies to (empty: all kinds).
    :param carriers: carrier keys the field applies to (empty: all carriers).
    :param required: every offer the field applies to must have a value.
    :param filterable: offers can be filtered by it (GraphQL ``OfferFilter.extra``).
    :param searchable: its text is part of full-text search.
    """

    name: str
    type: str
    label: str
    description: str = ""
    values: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    required: bool = False
    filterable: bool = False
    searchable: bool = False
    namespace: str = field(default="", compare=False)  # set on registration

    def problems(self) -> list[str]:
        """What is wrong with this declaration (empty if nothing)."""
        found = []
        if not NAME.match(self.name) or keyword.iskeyword(self.name):
            found.append(f"name {self.name!r} must be snake_case (a-z, 0-9, _)")
        if self.type not in FIELD_TYPES:
            found.append(f"type {self.type!r} is not one of {', '.join(FIELD_TYPES)}")
        if self.type in ("enum", "enum_list"):
            if not self.values:
                found.append(f"an {self.type} field needs values")
            for value in self.values:
                if not ENUM_VALUE.match(value):
                    found.append(f"enum value {value!r} must be lower-case a-z, 0-9, _")
            if len(set(self.values)) != len(self.values):
                found.append("enum values must be unique")
        elif self.values:
            found.append(f"values are only for enum fields, not {self.type}")
        if not self.label.strip():
            found.append("label must not be empty")
        for kind in self.kinds:
            if kind not in KINDS:
                found.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if self.searchable and self.type not in ("string", "text", "enum", "enum_list"):
            found.append(f"a {self.type} field cannot be searchable (only text and enums)")
        return found

    def applies_to(self, kind: str, carrier: str | None) -> bool:
        return (not self.kinds or kind in self.kinds) and (
            not self.carriers or carrier in self.carriers
        )

    @property
    def path(self) -> str:
        return f"{self.namespace}.{self.name}"

    def coerce(self, value: Any) -> Any:
        """The stored (JSON) form of ``value``; raises ``ValueError`` with a reason."""
        kind = self.type
        if kind in ("string", "text"):
            if not isinstance(value, str):
                raise ValueError(f"must be text, got {value!r}")
            if kind == "string" and len(value) > 300:
                raise ValueError("must be at most 300 characters")
            return value
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"must be a whole number, got {value!r}")
            return value
        if kind == "decimal":
            if isinstance(value, bool):
                raise ValueError(f"must be a number, got {value!r}")
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise ValueError(f"must be a number, got {value!r}") from None
            if not number.is_finite():
                raise ValueError(f"must be a finite number, got {value!r}")
            return str(number)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            return value
        if kind == "date":
            if isinstance(value, date):
                return value.isoformat()
            try:
                return date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise ValueError(f"must be a date YYYY-MM-DD, got {value!r}") from None
        if kind == "url":
            if not isinstance(value, str) or not WEBSITE.match(value):
                raise ValueError(f"must be an http(s) URL, got {value!r}")
            return value
        if kind == "email":
            if not isinstance(value, str) or not EMAIL.match(value):
                raise ValueError(f"must be an e-mail address, got {value!r}")
            return value
        if kind == "enum":
            if value not in self.values:
                raise ValueError(f"must be one of {', '.join(self.values)}, got {value!r}")
            return value
        if kind == "enum_list":
            if not isinstance(value, list | tuple):
                raise ValueError(f"must be a list of {', '.join(self.values)}, got {value!r}")
            wrong = [v for v in value if v not in self.values]
            if wrong:
                raise ValueError(f"must contain only {', '.join(self.values)}, got {wrong[0]!r}")
            return list(dict.fromkeys(value))
        raise ValueError(f"unknown type {kind}")  # pragma: no cover - checked on declaration

    def index_value(self, stored: Any) -> Any:
        """The value search backends filter on (numbers as numbers, lists as lists)."""
        if self.type == "decimal":
            return float(stored)
        return stored


class CustomFieldSet:
    """All declared custom fields of a directory, by namespace."""

    def __init__(self, fields: Iterable[CustomField] = ()):
        self.by_namespace: dict[str, dict[str, CustomField]] = {}
        for declared in fields:
            self.add(declared)

    def add(self, declared: CustomField) -> None:
        problems = declared.problems()
        if not NAME.match(declared.namespace):
            problems.append(f"namespace {declared.namespace!r} must be snake_case")
        if problems:
            raise CustomFieldError(
                f"custom field {declared.namespace}.{declared.name} of plugin "
                f"{declared.namespace!r} is invalid: " + "; ".join(problems)
            )
        fields = self.by_namespace.setdefault(declared.namespace, {})
        if declared.name in fields:
            raise CustomFieldError(
                f"custom field {declared.path} is declared twice by plugin {declared.namespace!r}"
            )
        fields[declared.name] = declared

    def __iter__(self):
        for fields in self.by_namespace.values():
            yield from fields.values()

    def __bool__(self) -> bool:
        return bool(self.by_namespace)

    def get(self, path: str) -> CustomField | None:
        namespace, _, name = path.partition(".")
        return self.by_namespace.get(namespace, {}).get(name)

    def check(self, offer: Any) -> list[FieldError]:
        """Validate and normalise ``offer.extra`` in place; return the problems."""
        errors: list[FieldError] = []
        extra = offer.extra or {}
        if not isinstance(extra, dict):
            return [FieldError("extra", "must be a mapping of plugin name to fields")]
        for namespace, values in extra.items():
            declared = self.by_namespace.get(namespace)
            if declared is None:
                known = ", ".join(sorted(self.by_namespace)) or "none"
                errors.append(
                    FieldError(
                        f"extra.{namespace}", f"no plugin declares fields here; known: {known}"
                    )
                )
                continue
            if not isinstance(values, dict):
                errors.append(FieldError(f"extra.{namespace}", "must be a mapping of fields"))
                continue
            for name in list(values):
                spec = declared.get(name)
                where = f"extra.{namespace}.{name}"
                if spec is None:
                    errors.append(FieldError(where, "unknown custom field"))
                elif not spec.applies_to(offer.kind, offer.carrier):
                    errors.append(
                        FieldError(where, f"does not apply to a {offer.kind} of {offer.carrier}")
                    )
                elif values[name] is None:
                    del values[name]
                else:
                    try:
                        values[name] = spec.coerce(values[name])
                    except ValueError as exc:
                        errors.append(FieldError(where, str(exc)))
        for spec in self:
            if spec.required and spec.applies_to(offer.kind, offer.carrier):
                if extra.get(spec.namespace, {}).get(spec.name) is None:
                    errors.append(FieldError(f"extra.{spec.path}", "is required"))
        for namespace in [n for n, v in extra.items() if v == {}]:
            del extra[namespace]
        return errors

    def index_fields(self, offer: Any) -> tuple[dict[str, Any], list[str]]:
        """The filter values (by ``namespace.name``) and the searchable text of an offer."""
        filters: dict[str, Any] = {}
        text: list[str] = []
        for namespace, values in (offer.extra or {}).items():
            for name, value in values.items():
                spec = self.by_namespace.get(namespace, {}).get(name)
                if spec is None or value is None:
                    continue
                if spec.filterable:
                    filters[spec.path] = spec.index_value(value)
                if spec.searchable:
                    text.extend(value if isinstance(value, list) else [str(value)])
        return filters, text
