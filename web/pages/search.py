"""The search page: the form at ``/``, results at ``/search`` (GET: bookmarkable postcode,
district and whole-city searches; POST: everything, answered directly when the form holds
an address or search words, else redirected to the GET URL). See ``forms.py``."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from directory_search.base import SearchQuery, SearchUnavailable
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory_core.languages import LANGUAGE_LABELS
from directory_core.model import WEEKDAYS

from ..app import Site
from ..forms import ACCESS_FLAGS, CHANNELS, KINDS, PAGE_SIZE, RADII, WHOLE_CITY, Place, SearchForm
from ..i18n import N_, pick_language
from ..views import OfferView, offer_view


@dataclass
class CategoryGroup:
    """A top-level category (a building block of the counsellors' work) and its children."""

    key: str
    category: Any
    children: list[Any] = field(default_factory=list)


@dataclass
class Results:
    """One page of results, ready for ``partials/results.html``."""

    total: int
    offers: list[OfferView]
    first_number: int
    pages: int
    place: Place | None
    place_label: str
    districts: list[tuple[str, int]]
    markers: bool
    map_json: str
    corrected: str | None = None  # the search words as corrected for typos, if they were
    total_exact: bool = True  # false: more hits than counted ("at least"; see SearchResult)

    @property
    def corrected_html(self) -> Markup:
        """The corrected words, isolated for right-to-left pages."""
        return Markup("<bdi lang=\"de\">{}</bdi>").format(self.corrected or "")

    @property
    def place_label_html(self) -> Markup:
        """The place isolated for right-to-left pages ("44263 Dortmund" stays in order)."""
        return Markup("<bdi>{}</bdi>").format(self.place_label)


def category_groups(site: Site) -> list[CategoryGroup]:
    """The category tree as groups: top-level categories in the instance's order."""
    taxonomy = site.directory.taxonomy
    return [
        CategoryGroup(
            key, taxonomy.by_key[key], [taxonomy.by_key[c] for c in taxonomy.children(key)]
        )
        for key in taxonomy.children(None)
    ]


OFFICES_MAX_AGE_SECONDS = 60.0


def offices(site: Site) -> list[tuple[str, str]]:
    """(id, title) of the advice offices (Seniorenbüros) of the instance, for "made by"
    on a handout. Kept for a minute: loading them costs more than the rest of a results
    page, and a new office may well wait that long."""
    now = time.monotonic()
    cached = site.cache.get("offices")
    if cached is not None and now - cached[0] < OFFICES_MAX_AGE_SECONDS:
        return cached[1]
    found = site.directory.search(
        SearchQuery(kinds=("advice_office",), sort="title", limit=50, want_total=False)
    )
    loaded = site.directory.get_many([hit.id for hit in found.hits])
    result = [(hit.id, loaded[hit.id].title) for hit in found.hits if hit.id in loaded]
    site.cache["offices"] = (now, result)
    return result


def form_context(site: Site, form: SearchForm) -> dict[str, Any]:
    """What the search form needs besides the submitted values."""
    return {
        "form": form,
        "radii": RADII,
        "kinds": KINDS,
        "weekdays": WEEKDAYS,
        "access_flags": ACCESS_FLAGS,
        "channels": CHANNELS,
        "spoken_languages": list(LANGUAGE_LABELS),
        "category_groups": category_groups(site),
        "place_choices": site.places.choices(),
        "facets": None,
        "results": None,
        "offices": [],
    }


def _map_json(
    site: Site, place: Place | None, radius_km: float | None, offers: list[OfferView]
) -> str:
    data = {
        "center": [place.lat, place.lon] if place else None,
        "radius_m": radius_km * 1000 if place and radius_km else None,
        "markers": [
            {"n": o.number, "lat": o.lat, "lon": o.lon, "title": o.title, "id": o.id}
            for o in offers
            if o.lat is not None and o.lon is not None
        ],
        "tiles": site.renderer.map.tile_url,
        "attribution": site.renderer.map.attribution,
    }
    # inside <script>: no "</script>" or "<!--" can be formed
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def run_search(site: Site, form: SearchForm, lang: str, private: bool) -> dict[str, Any]:
    """Check the form, resolve the place, search, and build the page's context.

    ``private``: the where field may be a street address (a POSTed form)."""
    directory = site.directory
    context = form_context(site, form)
    form.check(directory)
    place = None
    if form.where and form.radius != WHOLE_CITY:
        place = site.places.resolve(form.where) if private else site.places.public(form.where)
        if place is None:
            form.errors["where"] = N_(
                "This place was not found. Enter a postcode, a district, or a street "
                "with house number and postcode."
            )
    if form.errors:
        return context
    query = form.query(place, directory.instance.limits.max_radius_km)
    result = directory.search(query)
    loaded = directory.get_many([hit.id for hit in result.hits])
    views = []
    for i, hit in enumerate(result.hits):
        offer = loaded.get(hit.id)
        if offer is None:  # removed since the index saw it
            continue
        view = offer_view(directory, offer, lang, hit.distance_km)
        view.number = query.offset + i + 1
        views.append(view)
    facets = result.facets or {}
    districts = sorted(
        (
            (directory.district_by_key[key].name, count)
            for key, count in facets.get("district", {}).items()
            if key in directory.district_by_key and count
        ),
        key=lambda item: (-item[1], item[0]),
    )
    total = result.total or 0
    context.update(
        facets=facets,
        offices=offices(site),
        results=Results(
            total=total,
            offers=views,
            first_number=query.offset + 1,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            place=place,
            place_label=place.label if place and place.label else "",
            districts=districts,
            markers=bool(views),
            map_json=_map_json(site, place, query.radius_km, views),
            corrected=result.corrected,
            total_exact=result.total_exact,
        ),
    )
    return context


def _page(site: Site, request: Request, form: SearchForm, lang: str, private: bool) -> Response:
    try:
        context = run_search(site, form, lang, private)
    except SearchUnavailable:
        return site.renderer.page(
            request, "unavailable.html", lang, status_code=503, private=private
        )
    status = 200 if not form.errors else 400
    return site.renderer.page(
        request, "search.html", lang, status_code=status, private=private, **context
    )


def routes(site: Site) -> list[Route]:
    """``/`` (the empty form), ``/search`` (GET and POST)."""

    async def home(request: Request) -> Response:
        lang = pick_language(request)
        return site.renderer.page(request, "search.html", lang, **form_context(site, SearchForm()))

    async def search_get(request: Request) -> Response:
        lang = pick_language(request)
        form = SearchForm.read(request.query_params)
        if not form.submitted:
            return await home(request)
        return await anyio.to_thread.run_sync(_page, site, request, form, lang, False)

    async def search_post(request: Request) -> Response:
        data = await request.form()
        lang = pick_language(request, str(data.get("lang") or ""))
        form = SearchForm.read(data)
        public = form.public_params()
        if public is not None and (
            not form.where or form.radius == WHOLE_CITY or site.places.public(form.where)
        ):
            if form.page > 1:
                public.append(("page", str(form.page)))
            public.append(("lang", lang))
            return RedirectResponse(f"/search?{urlencode(public)}", status_code=303)
        return await anyio.to_thread.run_sync(_page, site, request, form, lang, True)

    return [
        Route("/", home, methods=["GET"]),
        Route("/search", search_get, methods=["GET"]),
        Route("/search", search_post, methods=["POST"]),
    ]
