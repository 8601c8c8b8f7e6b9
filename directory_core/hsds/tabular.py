"""The tabular form of HSDS 3.0: one CSV file per table and a ``datapackage.json``.

The tables, their files, columns and order come from the official tabular schema
(``schema/tabular.json``, a copy of HSDS 3.0 ``compiled/tabular.json``).
``TabularWriter`` writes rows by flattening nested records (each nested list goes to its
own table, linked by the foreign keys the records carry) and the data package;
``read_tables`` reads such a package and ``nest_services`` puts the services back
together, so the importer reads the CSV form and the JSON form alike.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from . import HSDS_VERSION

SCHEMA_FILE = Path(__file__).parent / "schema" / "tabular.json"

#: nested list (or object) property → the table its items belong to
CHILD_TABLES: dict[str, str] = {
    "phones": "phone",
    "schedules": "schedule",
    "service_areas": "service_area",
    "service_at_locations": "service_at_location",
    "languages": "language",
    "funding": "funding",
    "cost_options": "cost_option",
    "required_documents": "required_document",
    "contacts": "contact",
    "attributes": "attribute",
    "addresses": "address",
    "accessibility": "accessibility",
    "organization_identifiers": "organization_identifier",
    "locations": "location",
    "programs": "program",
    "location": "location",
}


@cache
def table_schemas() -> dict[str, dict[str, Any]]:
    """Table name → the official schema of one row (``properties``, ``path``, …)."""
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return {name: spec["items"] for name, spec in data["properties"].items()}


@cache
def columns(table: str) -> tuple[str, ...]:
    """The scalar columns of ``table`` in the schema's order."""
    props = table_schemas()[table]["properties"]
    return tuple(n for n, p in props.items() if p.get("type") in ("string", "number", "integer"))


class TabularWriter:
    """Writes rows straight to one CSV per table as records come (an export of 100,000
    offers never holds its rows in memory); ``close`` writes ``datapackage.json``.

    A record is flattened: its scalar fields are its row, each nested list goes to its
    own table (linked by the foreign keys the records carry). Rows are de-duplicated by
    id only in the tables that can repeat (an organization nested in many services)."""

    DEDUPLICATE = frozenset({"organization", "organization_identifier"})

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, Any] = {}
        self.writers: dict[str, Any] = {}
        self.seen: dict[str, set[str]] = {}
        self.counts: dict[str, int] = {}

    def _writer(self, table: str) -> Any:
        if table not in self.writers:
            handle = (self.folder / table_schemas()[table]["path"]).open(
                "w", encoding="utf-8", newline=""
            )
            self.files[table] = handle
            self.writers[table] = csv.writer(handle)
            self.writers[table].writerow(columns(table))
            self.counts[table] = 0
        return self.writers[table]

    def add(self, table: str, record: dict[str, Any]) -> None:
        """Add ``record`` (nested) as a row of ``table`` and its nested lists to theirs."""
        if table in self.DEDUPLICATE:
            seen = self.seen.setdefault(table, set())
            if record["id"] in seen:
                return
            seen.add(record["id"])
        self._writer(table).writerow([_cell(record.get(name)) for name in columns(table)])
        self.counts[table] += 1
        for name, value in record.items():
            child = CHILD_TABLES.get(name)
            if child is None:
                continue  # nested organization / service / taxonomy_term: own tables
            for item in value if isinstance(value, list) else [value]:
                self.add(child, item)

    def add_all(self, table: str, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.add(table, record)

    def close(self, title: str) -> list[str]:
        """Close the CSV files and write ``datapackage.json``; return the file names."""
        schemas = table_schemas()
        for handle in self.files.values():
            handle.close()
        tables = sorted(self.files, key=lambda t: schemas[t]["datapackage_metadata"]["order"])
        package = {
            "name": "human_services_data",
            "title": title,
            "profile": "tabular-data-package",
            "version": HSDS_VERSION,
            "resources": [_resource(t, schemas[t], columns(t)) for t in tables],
        }
        (self.folder / "datapackage.json").write_text(
            json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        return [schemas[t]["path"] for t in tables] + ["datapackage.json"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


FRICTIONLESS_TYPES = {"string": "string", "number": "number", "integer": "integer"}


def _resource(table: str, spec: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A Frictionless tabular data resource for ``table``, from the HSDS schema."""
    required = set(spec.get("required", [])) | set(spec.get("tabular_required", []))
    fields = []
    for name in names:
        prop = spec["properties"][name]
        entry: dict[str, Any] = {
            "name": name,
            "type": prop.get("datapackage_type") or FRICTIONLESS_TYPES[prop["type"]],
            "description": prop.get("description", ""),
        }
        if prop.get("format") in ("uuid", "email", "uri"):
            entry["format"] = prop["format"]
        constraints = {"required": name in required}
        if prop.get("constraints", {}).get("unique"):
            constraints["unique"] = True
        if "enum" in prop:
            constraints["enum"] = prop["enum"]
        entry["constraints"] = constraints
        fields.append(entry)
    return {
        "name": table,
        "path": spec["path"],
        "description": spec.get("description", ""),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "profile": "tabular-data-resource",
        "schema": {"fields": fields, "primaryKey": "id"},
    }


def typed_row(table: str, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row with its empty cells left out and numbers as numbers (per the schema)."""
    props = table_schemas()[table]["properties"]
    typed: dict[str, Any] = {}
    for name, text in row.items():
        if text is None or text == "" or name not in props:
            continue
        if props[name].get("type") == "number":
            number = float(text)
            typed[name] = int(number) if number.is_integer() else number
        else:
            typed[name] = text
    return typed


def read_tables(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The typed rows of every CSV resource listed in ``folder/datapackage.json``.

    Raises ``ValueError`` naming file and line for a cell that is not a number where the
    schema wants one, and for a resource the HSDS schema does not know."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    known = {spec["path"]: name for name, spec in table_schemas().items()}
    tables: dict[str, list[dict[str, Any]]] = {}
    for resource in package.get("resources", []):
        path = resource.get("path", "")
        table = resource.get("name") if resource.get("name") in table_schemas() else known.get(path)
        if table is None:
            raise ValueError(f"datapackage.json: resource {path!r} is not an HSDS table")
        with (folder / path).open(encoding="utf-8-sig", newline="") as source:
            rows = []
            for line, row in enumerate(csv.DictReader(source), start=2):
                try:
                    rows.append(typed_row(table, row))
                except ValueError as exc:
                    raise ValueError(f"{path}, line {line}: {exc}") from None
        tables[table] = rows
    return tables


def nest_services(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Fully nested services from the tables (the inverse of ``TabularWriter.add``)."""

    def by(table: str, key: str) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in tables.get(table, []):
            if row.get(key):
                grouped.setdefault(row[key], []).append(dict(row))
        return grouped

    terms = {row["id"]: row for row in tables.get("taxonomy_term", [])}
    attributes = by("attribute", "link_id")
    for items in attributes.values():
        for item in items:
            if item.get("taxonomy_term_id") in terms:
                item["taxonomy_term"] = terms[item["taxonomy_term_id"]]
    organizations = {row["id"]: dict(row) for row in tables.get("organization", [])}
    for org_id, identifiers in by("organization_identifier", "organization_id").items():
        if org_id in organizations:
            organizations[org_id]["organization_identifiers"] = identifiers
    locations = {row["id"]: dict(row) for row in tables.get("location", [])}
    for name, table in (("addresses", "address"), ("accessibility", "accessibility")):
        for location_id, items in by(table, "location_id").items():
            if location_id in locations:
                locations[location_id][name] = items
    for location_id, items in attributes.items():
        if location_id in locations:
            locations[location_id]["attributes"] = items
    at_locations = by("service_at_location", "service_id")
    children = {
        name: by(table, "service_id")
        for name, table in (
            ("phones", "phone"),
            ("schedules", "schedule"),
            ("languages", "language"),
            ("cost_options", "cost_option"),
        )
    }
    services = []
    for row in tables.get("service", []):
        service = dict(row)
        sid = service["id"]
        if service.get("organization_id") in organizations:
            service["organization"] = organizations[service["organization_id"]]
        for name, grouped in children.items():
            if sid in grouped:
                service[name] = grouped[sid]
        if sid in at_locations:
            service["service_at_locations"] = [
                {**at, "location": locations[at["location_id"]]}
                if at.get("location_id") in locations
                else at
                for at in at_locations[sid]
            ]
        if sid in attributes:
            service["attributes"] = attributes[sid]
        services.append(service)
    return services
