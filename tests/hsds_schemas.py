"""The official HSDS 3.0 JSON schemas, as validators (plain and strict).

The schemas are read from ``../shared/data/hsds-3.0`` (the copy of the specification
beside the repository; ``DIRECTORY_HSDS_SCHEMAS`` points elsewhere). They are missing on
purpose nowhere: a test that needs them fails with the path it looked in.

Strict mode adds what the schemas leave open: ``additionalProperties: false`` on every
object schema, so a property HSDS does not define is an error. ``required`` and ``enum``
are the schemas' own and hold in both modes; formats (uuid, email, uri, date-time) are
checked in both.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).parent.parent
SCHEMAS = Path(os.environ.get("DIRECTORY_HSDS_SCHEMAS", ROOT.parent / "shared/data/hsds-3.0"))


def _load(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    if not path.is_file():
        raise FileNotFoundError(
            f"HSDS 3.0 schema {path} is missing; set DIRECTORY_HSDS_SCHEMAS to the folder "
            "with the official schemas (openreferral/specification, schema/)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def strict(schema: Any) -> Any:
    """A copy of ``schema`` where every object schema forbids unknown properties."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("type", "object") == "object":
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def validator(name: str, strict_mode: bool = True) -> Draft202012Validator:
    """A validator for ``name`` (e.g. ``compiled/service.json``)."""
    schema = _load(name)
    if strict_mode:
        schema = strict(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@cache
def tabular_validator(table: str, strict_mode: bool = True) -> Draft202012Validator:
    """A validator of one typed CSV row of ``table`` (``compiled/tabular.json``); the
    columns HSDS requires in the tabular form (``tabular_required``) are required too."""
    item = copy.deepcopy(_load("compiled/tabular.json")["properties"][table]["items"])
    item["required"] = sorted(set(item.get("required", [])) | set(item.get("tabular_required", [])))
    schema = strict(item) if strict_mode else item
    return Draft202012Validator(schema, format_checker=FormatChecker())


def errors(name: str, instance: Any) -> list[str]:
    """Every problem of ``instance`` against ``name``, plain and strict, as text."""
    found = []
    for mode in (False, True):
        for error in validator(name, mode).iter_errors(instance):
            where = "/".join(str(p) for p in error.absolute_path)
            found.append(f"{'strict' if mode else 'plain'} {name} at {where}: {error.message}")
    return found


def page_errors(item_schema: str, body: Any) -> list[str]:
    """Problems of an HSDS API page: the ``Page`` fields of openapi.json and each item."""
    page = _load("openapi.json")["components"]["schemas"]["Page"]
    page = {**page, "properties": {**page["properties"], "contents": {"type": "array"}}}
    page["required"] = [*page["properties"]]
    found = [f"page: {e.message}" for e in Draft202012Validator(strict(page)).iter_errors(body)]
    for i, item in enumerate(body.get("contents", []) if isinstance(body, dict) else []):
        found += [f"contents[{i}]: {e}" for e in errors(item_schema, item)]
    return found
