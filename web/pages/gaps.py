"""The supply-gap page ``/gaps``: a district × category heat table and a dot map.

``/gaps?category=KEY&district=KEY&as_of=YYYY-MM-DD``. The figures are those of the
``coverage`` query and ``directory gaps`` (``directory_core.coverage``), read from the
cache kept per store state (``coverage_for``), so the page is computed once and again
only after offers changed. The heat table colours each cell by the share of the
district's postcode areas farther than the threshold from the nearest offer; the map is
server-rendered SVG (no script, no tiles): one dot per postcode area, coloured by its
distance to the nearest offer of one category. The print section of the stylesheet puts
the page on one A4 landscape sheet with the date and source of every figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import anyio.to_thread
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from directory_search.base import SearchUnavailable
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory_core import labels
from directory_core.coverage import Coverage, coverage_for
from directory_core.population import AGE_BANDS

from .. import carrier_session as cs
from ..app import Site
from ..i18n import N_, pick_language

MAP_WIDTH = 480
MAP_MARGIN = 24


@dataclass(frozen=True)
class HeatCell:
    """A cell of the heat table, with the figures it shows and its colour class."""

    district: str
    category: str
    active: int
    per_thousand: float | None
    beyond: int
    areas: int
    share: float | None
    heat: str  # CSS class: heat-none, heat-0 .. heat-3


@dataclass(frozen=True)
class Dot:
    """A postcode area on the map."""

    code: str
    district: str | None
    x: float
    y: float
    distance_km: float | None
    css: str  # near, within, beyond, far, none
    selected: bool


def heat_class(share: float | None) -> str:
    """The colour class of a share of postcode areas beyond the threshold."""
    if share is None:
        return "heat-none"
    if share == 0:
        return "heat-0"
    if share < 0.5:
        return "heat-1"
    return "heat-2" if share < 1 else "heat-3"


def distance_class(km: float | None, threshold: float) -> str:
    """The colour class of a distance: within half the threshold, within it, up to twice
    it, farther, or no offer at all."""
    if km is None:
        return "none"
    if km <= threshold / 2:
        return "near"
    if km <= threshold:
        return "within"
    return "beyond" if km <= 2 * threshold else "far"


def _project(coverage: Coverage, points: list[tuple[float, float]]):
    """A plane projection (equirectangular, true to scale at the mean latitude) that fits
    ``points`` into the map's width; returns ``(to_xy, height)``."""
    lats = [lat for lat, _ in points]
    lons = [lon for _, lon in points]
    squeeze = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = (MAP_WIDTH - 2 * MAP_MARGIN) / span_x
    height = span_y * scale + 2 * MAP_MARGIN

    def to_xy(lat: float, lon: float) -> tuple[float, float]:
        x = MAP_MARGIN + (lon - min(lons)) * squeeze * scale
        y = MAP_MARGIN + (max(lats) - lat) * scale
        return round(x, 1), round(y, 1)

    return to_xy, round(height, 1)


def dot_map(coverage: Coverage, category: str, threshold: float, district: str | None, site):
    """The dots, district labels and size of the SVG map for ``category``."""
    districts = site.directory.districts
    points = [(a.point.lat, a.point.lon) for a in coverage.postcodes]
    points += [(d.lat, d.lon) for d in districts]
    if not points:
        return {"dots": [], "labels": [], "height": 0, "width": MAP_WIDTH}
    to_xy, height = _project(coverage, points)
    dots = []
    for area in coverage.postcodes:
        x, y = to_xy(area.point.lat, area.point.lon)
        km = area.nearest[category].distance_km
        dots.append(
            Dot(
                code=area.point.code,
                district=area.point.district,
                x=x,
                y=y,
                distance_km=km,
                css=distance_class(km, threshold),
                selected=district is not None and area.point.district == district,
            )
        )
    # district names just above their reference point, so they do not cover the dots
    names = [(d.name, x, round(y - 12, 1)) for d in districts for x, y in [to_xy(d.lat, d.lon)]]
    return {"dots": dots, "labels": names, "height": height, "width": MAP_WIDTH}


def _band(coverage: Coverage) -> str | None:
    """The age band the page divides by: the first one some district has a figure for."""
    for band in AGE_BANDS:
        if any(d.population and d.population.band(band) for d in coverage.districts):
            return band
    return None


def _read(request: Request, site: Site) -> tuple[dict, dict[str, str]]:
    """The page's parameters, checked; problems by field name."""
    directory = site.directory
    params = request.query_params
    errors: dict[str, str] = {}
    category = params.get("category") or None
    if category is not None and category not in directory.taxonomy:
        errors["category"] = N_("Choose a category from the list.")
        category = None
    district = params.get("district") or None
    if district is not None and district not in directory.district_by_key:
        errors["district"] = N_("Choose a district from the list.")
        district = None
    as_of = None
    if params.get("as_of"):
        try:
            as_of = date.fromisoformat(params["as_of"])
        except ValueError:
            errors["as_of"] = N_("Enter the date as YYYY-MM-DD.")
        else:
            if as_of > date.today():
                errors["as_of"] = N_("The date must not be in the future.")
                as_of = None
    return {"category": category, "district": district, "as_of": as_of}, errors


def _context(site: Site, coverage: Coverage, wanted: dict, lang: str) -> dict:
    taxonomy = site.directory.taxonomy
    category, district = wanted["category"], wanted["district"]
    if category is None:
        columns = [c.key for c in taxonomy if c.parent is None]
    else:
        columns = [category, *(c.key for c in taxonomy if c.parent == category)]
    band = _band(coverage)
    thresholds = {c.key: c.threshold_km for c in coverage.categories}
    cells = {(c.district, c.category): c for c in coverage.cells}
    rows = []
    for info in coverage.districts:
        if district is not None and info.key != district:
            continue
        row = []
        for key in columns:
            cell = cells[(info.key, key)]
            row.append(
                HeatCell(
                    district=info.key,
                    category=key,
                    active=cell.active,
                    per_thousand=cell.per_thousand[band] if band else None,
                    beyond=cell.beyond,
                    areas=cell.postcode_areas,
                    share=cell.share_beyond,
                    heat=heat_class(cell.share_beyond),
                )
            )
        rows.append((info, row))
    map_category = columns[0]

    def number(value: float, digits: int = 1) -> str:
        return format_decimal(round(value, digits), locale=lang)

    return {
        "coverage": coverage,
        "wanted": wanted,
        "columns": [
            (key, labels.category_label(taxonomy.by_key[key], lang), thresholds[key])
            for key in columns
        ],
        "rows": rows,
        "band": AGE_BANDS[band] if band else None,
        "band_key": band,
        "map_category": map_category,
        "map_label": labels.category_label(taxonomy.by_key[map_category], lang),
        "threshold": thresholds[map_category],
        "dots": dot_map(coverage, map_category, thresholds[map_category], district, site),
        "categories": [
            (c.key, labels.category_label(c, lang), c.parent is not None) for c in taxonomy
        ],
        "districts": site.directory.districts,
        "number": number,
        "reference_date": format_date(coverage.reference_date, format="long", locale=lang),
        "computed_at": format_datetime(coverage.computed_at, format="short", locale=lang),
    }


def routes(site: Site) -> list[Route]:
    """``/gaps``."""

    access = site.directory.instance.coverage.access

    async def gaps(request: Request) -> Response:
        lang = pick_language(request)
        if access == "off":
            return site.renderer.page(request, "not_found.html", lang, status_code=404)
        if access == "staff":
            session = await anyio.to_thread.run_sync(cs.current, site.directory, request)
            if session is None:  # sign in first (the carrier area's sign-in)
                return RedirectResponse("/carriers/sign-in", status_code=303)
        wanted, errors = _read(request, site)
        try:
            coverage = await anyio.to_thread.run_sync(
                lambda: coverage_for(site.directory, wanted["as_of"])
            )
        except SearchUnavailable:
            return site.renderer.page(request, "unavailable.html", lang, status_code=503)
        context = _context(site, coverage, wanted, lang)
        return site.renderer.page(
            request,
            "gaps.html",
            lang,
            status_code=400 if errors else 200,
            private=access == "staff",  # not kept in shared caches
            form_errors=errors,
            **context,
        )

    return [Route("/gaps", gaps, methods=["GET"], name="gaps")]
