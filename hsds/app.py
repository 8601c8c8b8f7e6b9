"""The HSDS 3.0 read API: the read endpoints of the official ``openapi.json``.

``create_hsds_app(directory)`` is mounted at ``/hsds`` by the one ASGI app. Lists of
services and service_at_locations are answered by the same search backend as GraphQL's
``offers`` (same ``SearchQuery``, same default order: distance with a point, relevance
with ``search``, title otherwise), one page of ids at a time, the offers loaded with one
``get_many``. Endpoints are plain functions: Starlette runs them in its thread pool,
since every one of them reads the store.

The spec puts search text and postcodes into the query string; so that no client's
words or whereabouts land in a log, ``hide_query_strings`` cuts the query string from
the server's access log lines of this API.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from directory_search.base import GeoPoint, SearchQuery, SearchUnavailable
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from directory_core.directory import Directory
from directory_core.geocoding import GeocodingError
from directory_core.hsds import HSDS_VERSION
from directory_core.hsds.mapping import (
    CATEGORIES_TAG,
    Publication,
    service_id,
    service_of_at_location,
)
from directory_core.model import Offer

from .params import Near, Paging, ParameterError, Params, near, paging

log = logging.getLogger(__name__)

PROFILE_URL = "https://docs.openreferral.org/en/latest/hsds/"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
PAGE = ("page", "per_page", "format")
NEARBY = ("postcode", "proximity", "lat", "lon", "radius_km")
SERVICE_FILTERS = ("search", "taxonomy_term_id", "taxonomy_id", "organization_id", "modified_after")
SCAN_CHUNK = 1000  # ids per search call when modified_after needs the whole hit list


class NotFound(Exception):
    """No entity with that id; the message says which."""


def error(status: int, code: str, message: str, parameter: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    return JSONResponse({"error": body}, status_code=status)


def page_body(contents: list[Any], total: int, paged: Paging) -> dict[str, Any]:
    """An HSDS ``Page`` (openapi.json ``components.schemas.Page``) around ``contents``."""
    pages = math.ceil(total / paged.per_page)
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": paged.page,
        "size": len(contents),
        "first_page": paged.page == 1,
        "last_page": paged.page >= pages,
        "empty": total == 0,
        "contents": contents,
    }


class HsdsApi:
    """The endpoints, over one directory."""

    def __init__(self, directory: Directory):
        self.directory = directory

    @property
    def limits(self) -> Any:
        return self.directory.instance.limits

    def publication(self) -> Publication:
        return Publication.of(self.directory)

    # -- /, services ----------------------------------------------------------------------

    def root(self, request: Request) -> JSONResponse:
        Params(request.query_params)
        return JSONResponse(
            {"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": OPENAPI_URL}
        )

    def services(self, request: Request) -> JSONResponse:
        params = Params(
            request.query_params,
            (*PAGE, *SERVICE_FILTERS, *NEARBY, "full", "minimal"),
        )
        if params.boolean("minimal"):
            raise ParameterError("minimal", "is not supported; use full=false (the default)")
        full = params.boolean("full")
        offers, total, paged = self._search(params)
        pub = self.publication()
        contents = [pub.service(o) if full else pub.service_list_item(o) for o in offers]
        return JSONResponse(page_body(contents, total, paged))

    def service(self, request: Request) -> JSONResponse:
        Params(request.query_params)
        offer = self._offer(request.path_params["id"], "service")
        return JSONResponse(self.publication().service(offer))

    def service_at_locations(self, request: Request) -> JSONResponse:
        params = Params(
            request.query_params,
            (*PAGE, *SERVICE_FILTERS, *NEARBY, "full"),
        )
        full = params.boolean("full")
        offers, total, paged = self._search(params)
        pub = self.publication()
        contents = [pub.service_at_location(o, full=full) for o in offers]
        return JSONResponse(page_body(contents, total, paged))

    def service_at_location(self, request: Request) -> JSONResponse:
        Params(request.query_params)
        wanted = request.path_params["id"]
        try:
            sid = service_of_at_location(wanted)
        except ValueError:
            raise NotFound(f"no service_at_location with id {wanted!r}") from None
        try:
            offer = self._offer(sid, "service")
        except NotFound:
            raise NotFound(f"no service_at_location with id {wanted!r}") from None
        return JSONResponse(self.publication().service_at_location(offer))

    def _offer(self, wanted: str, noun: str) -> Offer:
        offer = self.directory.get_many([wanted]).get(wanted) if len(wanted) <= 100 else None
        if offer is None or service_id(offer.id) != wanted:
            raise NotFound(f"no {noun} with id {wanted!r}")
        return offer

    # -- the search ------------------------------------------------------------------------

    def _search(self, params: Params) -> tuple[list[Offer], int, Paging]:
        """One page of offers for the filters of ``/services`` and
        ``/service_at_locations``, in GraphQL's default order."""
        paged = paging(params, self.limits)
        pub = self.publication()
        filters: dict[str, Any] = {"text": params.text("search")}
        term = params.text("taxonomy_term_id")
        if term is not None:
            filters["categories"] = (self._category_of_term(pub, term),)
        taxonomy = params.text("taxonomy_id")
        if taxonomy is not None:
            if taxonomy != pub.taxonomy_id(CATEGORIES_TAG):
                raise ParameterError(
                    "taxonomy_id",
                    f"only the category taxonomy {pub.taxonomy_id(CATEGORIES_TAG)} can filter "
                    f"services, got {taxonomy!r}",
                )
            filters["categories"] = filters.get("categories") or tuple(
                self.directory.taxonomy.children(None)
            )
        organization = params.text("organization_id")
        if organization is not None:
            filters["carriers"] = (self._carrier_of(pub, organization),)
        since = params.moment("modified_after")
        nearby = near(params, self.limits)
        if nearby is not None:
            filters["near"] = self._point(nearby)
            filters["radius_km"] = nearby.radius_km
        if since is None:
            # exact counts: total_items and total_pages drive the client's paging
            query = SearchQuery(
                offset=paged.offset, limit=paged.per_page, exact_counts=True, **filters
            )
            result = self._run(query)
            ids = [hit.id for hit in result.hits]
            total = result.total or 0
        else:
            ids, total = self._modified_after(SearchQuery(**filters), since, paged)
        found = self.directory.get_many(ids)
        return [found[i] for i in ids if i in found], total, paged

    def _run(self, query: SearchQuery) -> Any:
        try:
            return self.directory.search(query)
        except SearchUnavailable:
            raise HTTPException(503, "The search service is unavailable; try again.") from None

    def _modified_after(
        self, query: SearchQuery, since: datetime, paged: Paging
    ) -> tuple[list[str], int]:
        """The page of hits changed on or after ``since``: the search gives the whole
        hit list in order (in chunks), the store the change times."""
        ids: list[str] = []
        offset = 0
        while True:
            chunk = self._run(
                SearchQuery(**{**query.__dict__, "offset": offset, "limit": SCAN_CHUNK})
            ).hits
            versions = self.directory.store.offer_versions([h.id for h in chunk])
            ids += [h.id for h in chunk if h.id in versions and versions[h.id] >= since]
            if len(chunk) < SCAN_CHUNK:
                break
            offset += SCAN_CHUNK
        return ids[paged.offset : paged.offset + paged.per_page], len(ids)

    def _point(self, nearby: Near) -> GeoPoint:
        if nearby.postcode is None:
            return GeoPoint(nearby.lat, nearby.lon)  # type: ignore[arg-type]  # both checked
        try:
            found = self.directory.geocode(nearby.postcode)
        except GeocodingError:
            raise ParameterError("postcode", "could not be resolved to a place") from None
        return GeoPoint(found.lat, found.lon)

    def _category_of_term(self, pub: Publication, term_id: str) -> str:
        for key in self.directory.taxonomy.by_key:
            if pub.term_id(CATEGORIES_TAG, key) == term_id:
                return key
        raise ParameterError(
            "taxonomy_term_id", f"is not a category term of this directory: {term_id!r}"
        )

    def _carrier_of(self, pub: Publication, org_id: str) -> str:
        for carrier in self.directory.carriers:
            if pub.organization_id(carrier.key) == org_id:
                return carrier.key
        raise ParameterError("organization_id", f"no organization with id {org_id!r}")

    # -- organizations ------------------------------------------------------------------------

    def organizations(self, request: Request) -> JSONResponse:
        params = Params(request.query_params, (*PAGE, "search", "full"))
        paged = paging(params, self.limits)
        text = (params.text("search") or "").casefold()
        full = params.boolean("full")
        pub = self.publication()
        keys = [c.key for c in self.directory.carriers if text in c.name.casefold()]
        window = keys[paged.offset : paged.offset + paged.per_page]
        make: Callable[[str], dict[str, Any]] = (
            pub.organization if full else pub.organization_list_item
        )
        return JSONResponse(page_body([make(k) for k in window], len(keys), paged))

    def organization(self, request: Request) -> JSONResponse:
        params = Params(request.query_params, ("full_service",))
        full_service = params.boolean("full_service")
        wanted = request.path_params["id"]
        pub = self.publication()
        keys: list[str | None] = [c.key for c in self.directory.carriers] + [None]
        key = next((k for k in keys if pub.organization_id(k) == wanted), "")
        if key == "":
            raise NotFound(f"no organization with id {wanted!r}")
        record = pub.organization(key)
        ids = list(self.directory.store.carrier_offer_ids(key, "active")) if key else []
        if full_service and len(ids) > self.limits.max_page_size:
            raise ParameterError(
                "full_service",
                f"this organization has {len(ids)} services, more than "
                f"{self.limits.max_page_size}; page through /services?organization_id={wanted}"
                "&full=true instead",
            )
        offers: list[Offer] = []
        for start in range(0, len(ids), 2000):
            offers += self.directory.get_many(ids[start : start + 2000]).values()
        offers.sort(key=lambda o: (o.title.casefold(), o.id))
        if full_service:
            record["services"] = [pub.service(o) for o in offers]
        else:  # the spec: "simple information which could only contain the service.id"
            record["services"] = [
                {"id": service_id(o.id), "name": o.title, "status": "active"} for o in offers
            ]
        return JSONResponse(record)

    # -- taxonomies -----------------------------------------------------------------------------

    def taxonomies(self, request: Request) -> JSONResponse:
        params = Params(request.query_params, (*PAGE, "search"))
        paged = paging(params, self.limits)
        text = (params.text("search") or "").casefold()
        items = [
            t
            for t in self.publication().taxonomies()
            if text in t["name"].casefold() or text in t["description"].casefold()
        ]
        window = items[paged.offset : paged.offset + paged.per_page]
        return JSONResponse(page_body(window, len(items), paged))

    def taxonomy(self, request: Request) -> JSONResponse:
        Params(request.query_params)
        wanted = request.path_params["id"]
        for item in self.publication().taxonomies():
            if item["id"] == wanted:
                return JSONResponse(item)
        raise NotFound(f"no taxonomy with id {wanted!r}")

    def taxonomy_terms(self, request: Request) -> JSONResponse:
        params = Params(
            request.query_params,
            (*PAGE, "search", "taxonomy_id", "top_only", "parent_id"),
        )
        paged = paging(params, self.limits)
        text = (params.text("search") or "").casefold()
        taxonomy = params.text("taxonomy_id")
        parent = params.text("parent_id")
        top_only = params.boolean("top_only")
        items = [
            t
            for t in self.publication().terms()
            if (
                text in t["name"].casefold()
                or text in t["code"].casefold()
                or text in t["description"].casefold()
            )
            and (taxonomy is None or t["taxonomy_id"] == taxonomy)
            and (parent is None or t.get("parent_id") == parent)
            and (not top_only or "parent_id" not in t)
        ]
        window = items[paged.offset : paged.offset + paged.per_page]
        return JSONResponse(page_body(window, len(items), paged))

    def taxonomy_term(self, request: Request) -> JSONResponse:
        Params(request.query_params)
        wanted = request.path_params["id"]
        for item in self.publication().terms():
            if item["id"] == wanted:
                return JSONResponse(item)
        raise NotFound(f"no taxonomy_term with id {wanted!r}")


class _HideQueryStrings(logging.Filter):
    """Cuts the query string from uvicorn access log lines of ``/hsds`` requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith("/hsds") and "?" in path:
                record.args = (*args[:2], path.split("?", 1)[0] + "?…", *args[3:])
        return True


def hide_query_strings() -> None:
    """Install the access-log filter once (uvicorn logs requests as ``uvicorn.access``)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideQueryStrings) for f in access.filters):
        access.addFilter(_HideQueryStrings())


def create_hsds_app(directory: Directory) -> Starlette:
    """The HSDS API over ``directory``, to be mounted at ``/hsds``."""
    api = HsdsApi(directory)
    hide_query_strings()

    def bad_parameter(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ParameterError)
        log.info("HSDS request refused: bad parameter %s", exc.parameter)
        return error(400, "BAD_PARAMETER", str(exc), exc.parameter)

    def not_found(request: Request, exc: Exception) -> JSONResponse:
        return error(404, "NOT_FOUND", str(exc))

    def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 503: "SERVICE_UNAVAILABLE"}
        return error(exc.status_code, code.get(exc.status_code, "ERROR"), str(exc.detail))

    routes = [
        Route("/", api.root),
        Route("/services", api.services),
        Route("/services/{id}", api.service),
        Route("/service_at_locations", api.service_at_locations),
        Route("/service_at_locations/{id}", api.service_at_location),
        Route("/organizations", api.organizations),
        Route("/organizations/{id}", api.organization),
        Route("/taxonomies", api.taxonomies),
        Route("/taxonomies/{id}", api.taxonomy),
        Route("/taxonomy_terms", api.taxonomy_terms),
        Route("/taxonomy_terms/{id}", api.taxonomy_term),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            ParameterError: bad_parameter,
            NotFound: not_found,
            HTTPException: http_error,
        },
    )
