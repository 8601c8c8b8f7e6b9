"""An HSDS 3.0 data package: ``directory export hsds OUT`` and reading one back.

A package folder holds both forms the specification describes:

- the JSON form, one file per entity: ``services.json`` (fully nested services, the
  ``compiled/service_package.json`` shape), ``organizations.json``,
  ``service_at_locations.json``, ``taxonomies.json`` and ``taxonomy_terms.json``;
- the tabular form: one CSV file per table (``services.csv``, ``locations.csv``, …) and
  ``datapackage.json`` describing them.

Offers are read from the store in id order, in batches, and written as they come, so the
export of a big directory needs little memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .mapping import Publication
from .tabular import TabularWriter, nest_services, read_tables

if TYPE_CHECKING:  # pragma: no cover
    from ..directory import Directory

JSON_FILES = (
    "services.json",
    "organizations.json",
    "service_at_locations.json",
    "taxonomies.json",
    "taxonomy_terms.json",
)
BATCH = 2000


class PackageError(Exception):
    """The package cannot be written or read; the message says what and where."""


@dataclass
class ExportReport:
    folder: Path
    services: int = 0
    organizations: int = 0
    files: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


class _JsonArray:
    """A JSON array written one item at a time."""

    def __init__(self, path: Path):
        self.handle = path.open("w", encoding="utf-8")
        self.handle.write("[")
        self.first = True

    def add(self, item: dict[str, Any]) -> None:
        self.handle.write("\n" if self.first else ",\n")
        self.handle.write(json.dumps(item, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.handle.write("\n]\n")
        self.handle.close()


def _offers(directory: Directory, carrier: str | None) -> Iterator[Any]:
    store = directory.store
    if carrier is None:
        batches: Iterator[list[str]] = store.iter_offer_ids(BATCH)
    else:
        ids = sorted(
            {
                **store.carrier_offer_ids(carrier, "active"),
                **store.carrier_offer_ids(carrier, "archived"),
            }
        )
        batches = (ids[i : i + BATCH] for i in range(0, len(ids), BATCH))
    for batch in batches:
        offers = store.get_offers(batch)
        for offer_id in batch:
            if offer_id in offers:
                yield offers[offer_id]


def export_package(
    directory: Directory,
    folder: Path,
    carrier: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every offer (or those of ``carrier``), active and archived, as an HSDS
    package into ``folder`` (created if missing; files of an earlier export are
    overwritten)."""
    if carrier is not None and carrier not in directory.carrier_by_key:
        raise PackageError(
            f"unknown carrier {carrier!r}; the instance lists: "
            f"{', '.join(sorted(directory.carrier_by_key))}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    publication = Publication.of(directory, embed_terms=False)
    report = ExportReport(folder)
    tables = TabularWriter(folder)
    services = _JsonArray(folder / "services.json")
    at_locations = _JsonArray(folder / "service_at_locations.json")
    carriers: dict[str | None, None] = {}
    try:
        for offer in _offers(directory, carrier):
            service = publication.service(offer)
            services.add(service)
            at_locations.add(service["service_at_locations"][0])
            tables.add("service", service)
            carriers.setdefault(offer.carrier)
            report.services += 1
            if progress and report.services % BATCH == 0:
                progress(report.services)
    finally:
        services.close()
        at_locations.close()
    organizations = [publication.organization(key) for key in carriers]
    _write_json(folder / "organizations.json", organizations)
    tables.add_all("organization", organizations)
    _write_json(folder / "taxonomies.json", publication.taxonomies())
    tables.add_all("taxonomy", publication.taxonomies())
    _write_json(folder / "taxonomy_terms.json", publication.terms())
    tables.add_all("taxonomy_term", publication.terms())
    report.organizations = len(organizations)
    report.files = list(JSON_FILES) + tables.close(f"{publication.name}: HSDS 3.0")
    report.rows = dict(tables.counts)
    return report


def _write_json(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@dataclass
class Package:
    """What an importer needs from a source: its services (``services()`` iterates them,
    ``organization_ids`` lets it skip the others cheaply), organizations and taxonomy
    terms by id."""

    organizations: list[dict[str, Any]]
    terms: dict[str, dict[str, Any]]
    listed: list[dict[str, Any]] | None = None  # services held in memory
    path: Path | None = None  # or streamed from this services.json

    def services(self, organization_ids: set[str] | None = None) -> Iterator[tuple[int, Any]]:
        """(position in the source, service) of the services (of ``organization_ids``
        only, if given), in source order."""
        if self.listed is not None:
            yield from _wanted(enumerate(self.listed), organization_ids)
            return
        assert self.path is not None
        yield from _stream_services(self.path, organization_ids)

    def organization_ids_of_services(self) -> set[Any]:
        if self.listed is not None:
            return {s.get("organization_id") for s in self.listed if isinstance(s, dict)}
        return {s.get("organization_id") for _, s in self.services() if isinstance(s, dict)}


def _wanted(
    items: Iterable[tuple[int, Any]], organization_ids: set[str] | None
) -> Iterator[tuple[int, Any]]:
    for index, item in items:
        if organization_ids is None or (
            isinstance(item, dict) and item.get("organization_id") in organization_ids
        ):
            yield index, item


def _stream_services(path: Path, organization_ids: set[str] | None) -> Iterator[tuple[int, Any]]:
    """(index, item) of the items of ``services.json``. A file written one item per line
    (as the export writes it) is read line by line, and the lines of other organizations
    are skipped unparsed, so importing 100,000 services carrier by carrier never holds them all;
    any other layout is parsed as a whole."""
    markers = tuple(f'"organization_id": "{i}"' for i in organization_ids or ())
    with path.open(encoding="utf-8-sig") as source:
        if source.readline().strip() == "[":
            first = source.readline().strip()
            if first == "]":
                return
            try:
                item = json.loads(first.removesuffix(","))
            except json.JSONDecodeError:
                item = None  # not one item per line: parse the whole file below
            if isinstance(item, dict):
                yield from _wanted([(0, item)], organization_ids)
                for number, line in enumerate(source, start=3):
                    text = line.strip().removesuffix(",")
                    if text in ("", "]"):
                        continue
                    if (
                        markers
                        and '"organization_id": "' in text
                        and not any(m in text for m in markers)
                    ):
                        continue  # another organization's service
                    try:
                        item = json.loads(text)
                    except json.JSONDecodeError as exc:
                        raise PackageError(
                            f"{path.name}: line {number} is not one JSON object ({exc.msg}); "
                            "write one service per line or the file as one JSON array"
                        ) from exc
                    yield from _wanted([(number - 2, item)], organization_ids)
                return
    yield from _wanted(enumerate(_read_json(path)), organization_ids)


def read_package(folder: Path) -> Package:
    """Read a package folder: the JSON form if ``services.json`` is there (streamed),
    else the tabular form (``datapackage.json`` and its CSV files, read whole)."""
    try:
        if (folder / "services.json").is_file():
            terms_file = folder / "taxonomy_terms.json"
            terms = _read_json(terms_file) if terms_file.is_file() else []
            orgs_file = folder / "organizations.json"
            organizations = _read_json(orgs_file) if orgs_file.is_file() else []
            return Package(
                organizations=organizations,
                terms=_by_id(terms),
                path=folder / "services.json",
            )
        if (folder / "datapackage.json").is_file():
            tables = read_tables(folder)
            return Package(
                organizations=tables.get("organization", []),
                terms=_by_id(tables.get("taxonomy_term", [])),
                listed=nest_services(tables),
            )
    except (OSError, ValueError) as exc:
        raise PackageError(f"{folder}: {exc}") from exc
    raise PackageError(
        f"{folder} holds neither services.json nor datapackage.json: not an HSDS package"
    )


def _by_id(items: list[Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in items if isinstance(t, dict) and "id" in t}


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise PackageError(
            f"{path.name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, list):
        raise PackageError(f"{path.name}: expected a JSON array, got {type(data).__name__}")
    return data
