"""The built-in importer ``hsds``: an HSDS 3.0 package folder or HSDS API base URL.

``directory import CARRIER hsds SOURCE`` takes the services of one organization of the
source for the carrier: the organization named by the setting ``organization`` (its id
or name), else the one whose identifier ``carrier_key`` or name is the carrier's (as the
directory's own export writes them), else the only organization of the source. An API
source is paged through ``SOURCE/services?full=true&page=N``. Everything else (validation,
geocoding of services without coordinates, upsert, ``--full`` archiving, ``--dry-run``,
the report) is the import runner's.

Settings (``[importers.hsds]``, or per carrier in ``[importers.hsds.carriers.KEY]``):
``organization`` (id or name), ``kind`` (the kind of services that carry none, default
``service``), ``per_page`` (API page size, default 100), ``timeout`` (seconds, default 30).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .. import hookimpl
from ..importers.base import Importer, ImportRecord, SourceError
from ..model import new_id
from .package import Package, PackageError, read_package
from .reading import ServiceReader

SETTINGS = ("organization", "kind", "per_page", "timeout", "carriers")
MAX_PAGES = 100_000
BATCH = 1000  # services per look-up of ids already taken


class HsdsImporter(Importer):
    """HSDS 3.0 services of one organization (see the module docstring)."""

    name = "hsds"
    description = (
        "HSDS 3.0 (Open Referral): a data package folder (JSON or CSV with datapackage.json) "
        "or an HSDS API base URL; the services of the carrier's organization"
    )
    formats = ("hsds",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        unknown = sorted(set(self.settings) - set(SETTINGS))
        if unknown:
            raise SourceError(
                f"importers.hsds: unknown setting {unknown[0]!r}; known: {', '.join(SETTINGS)}"
            )
        self._loaded: dict[str, Package] = {}

    # -- sources -----------------------------------------------------------------------

    def _load(self, source: str) -> Package:
        if source not in self._loaded:
            if source.startswith(("http://", "https://")):
                self._loaded[source] = self._from_api(source.rstrip("/"))
            else:
                folder = Path(source)
                if not folder.is_dir():
                    raise SourceError(f"{source} is not a folder (an HSDS package) nor a URL")
                try:
                    self._loaded[source] = read_package(folder)
                except PackageError as exc:
                    raise SourceError(str(exc)) from exc
        return self._loaded[source]

    def _from_api(self, base: str) -> Package:
        per_page = int(self.settings.get("per_page", 100))
        timeout = float(self.settings.get("timeout", 30.0))
        services: list[dict[str, Any]] = []
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            for page in range(1, MAX_PAGES):
                url = f"{base}/services"
                params = {"full": "true", "page": page, "per_page": per_page}
                try:
                    response = client.get(url, params=params)
                    response.raise_for_status()
                    body = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise SourceError(f"cannot read {url} page {page}: {exc}") from exc
                if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
                    raise SourceError(f"{url} page {page}: not an HSDS page (no 'contents' list)")
                services.extend(body["contents"])
                if body.get("last_page", True) or not body["contents"]:
                    break
        organizations = {
            s["organization"]["id"]: s["organization"]
            for s in services
            if isinstance(s, dict) and isinstance(s.get("organization"), dict)
        }
        return Package(organizations=list(organizations.values()), terms={}, listed=services)

    # -- choosing the organization -------------------------------------------------------

    def _organization_ids(self, package: Package) -> set[str] | None:
        """The organization ids whose services are this carrier's (``None``: all)."""
        orgs = [o for o in package.organizations if isinstance(o, dict) and o.get("id")]
        wanted = self.settings.get("organization")
        if wanted:
            found = {o["id"] for o in orgs if wanted in (o["id"], o.get("name"))}
            if not found:
                raise SourceError(
                    f"importers.hsds.organization: no organization {wanted!r} in the source; "
                    f"it has: {_names(orgs)}"
                )
            return found
        carrier = self.directory.carrier_by_key[self.carrier]
        found = {
            o["id"]
            for o in orgs
            if any(
                i.get("identifier_type") == "carrier_key" and i.get("identifier") == carrier.key
                for i in o.get("organization_identifiers") or []
                if isinstance(i, dict)
            )
            or o.get("name") == carrier.name
        }
        if found:
            return found
        if len(orgs) <= 1 and len(package.organization_ids_of_services()) <= 1:
            return None
        raise SourceError(
            f"the source has several organizations and none is carrier {self.carrier!r}; "
            f"choose one with [importers.hsds.carriers.{self.carrier}] organization = "
            f'"..." (id or name): {_names(orgs)}'
        )

    # -- reading -------------------------------------------------------------------------

    def read(self, source: str) -> Iterator[ImportRecord]:
        package = self._load(source)
        try:
            orgs = self._organization_ids(package)
            reader = ServiceReader(
                self.directory.taxonomy,
                default_kind=str(self.settings.get("kind", "service")),
                terms=package.terms,
            )
            batch: list[tuple[int, Any]] = []
            for i, service in package.services(orgs):
                batch.append((i, service))
                if len(batch) == BATCH:
                    yield from self._records(reader, batch)
                    batch = []
            yield from self._records(reader, batch)
        finally:
            self._loaded.pop(source, None)

    def _records(
        self, reader: ServiceReader, batch: list[tuple[int, Any]]
    ) -> Iterator[ImportRecord]:
        taken = self._taken_ids([s.get("id") for _, s in batch if isinstance(s, dict)])
        for i, service in batch:
            sid = service.get("id") if isinstance(service, dict) else None
            location = f"services[{i}]" + (f" (id {sid})" if sid else "")
            offer, errors = reader.offer(service)
            if offer is None:
                yield ImportRecord(location, errors=errors)
                continue
            if not _is_uuid(offer.id) or taken.get(offer.id, offer.external_id) != (
                offer.external_id
            ):
                offer.id = new_id()  # the service id belongs to another offer
            yield ImportRecord(location, offer=offer)

    def _taken_ids(self, ids: list[Any]) -> dict[str, str | None]:
        """Service ids already used by an offer: id → that offer's external id, or None
        when it is another carrier's (then the service gets a fresh id)."""
        wanted = [i for i in ids if isinstance(i, str) and _is_uuid(i)]
        existing = self.directory.get_many(wanted)
        return {
            oid: (o.external_id if o.carrier == self.carrier else None)
            for oid, o in existing.items()
        }

    def count(self, source: str) -> int | None:
        return None  # counting would mean reading a big package twice


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _names(orgs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{o.get('name')!r} ({o['id']})" for o in orgs[:20]) or "none"


@hookimpl(trylast=True)
def register_importers(register):
    register(HsdsImporter)
