"""The search form: reading it from a request, checking it, and turning it into one
``SearchQuery`` of the directory's search interface.

Where the client lives is personal data. The form is always POSTed; a search by postcode,
district or the whole city, without free text, is then redirected to a GET URL that can be
bookmarked (``SearchForm.public_params``). A search by street address or with free text is
answered in the POST response itself, so neither reaches a URL, the browser history or the
server's access log (see docs/web.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from directory_search.base import GeoPoint, SearchQuery

from directory_core.directory import Directory
from directory_core.gazetteer import Gazetteer
from directory_core.geocoding import GeocodeResult, GeocodingError
from directory_core.model import WEEKDAYS, OfferKind

from .i18n import N_

RADII = ("1", "2", "5", "10")
WHOLE_CITY = "all"
DEFAULT_RADIUS = "5"
PAGE_SIZE = 10
ACCESS_FLAGS = ("wheelchair", "hearing_loop", "easy_language")
CHANNELS = ("phone", "home_visit", "online")
KINDS = tuple(k.value for k in OfferKind)
MAX_TEXT = 200
_POSTCODE = re.compile(r"^\d{5}$")


@dataclass
class Place:
    """Where a search is centred: the point and what the page may say about it."""

    lat: float
    lon: float
    kind: str  # "postcode", "district" or "address"
    label: str  # what the page shows; never the typed address


@dataclass
class SearchForm:
    """The fields of the search form, as submitted (strings, lists of strings)."""

    where: str = ""
    radius: str = DEFAULT_RADIUS
    categories: list[str] = field(default_factory=list)
    kind: str = ""
    text: str = ""
    language: str = ""
    free: bool = False
    access: list[str] = field(default_factory=list)
    day: str = ""
    channels: list[str] = field(default_factory=list)
    page: int = 1
    sent: bool = False  # the form was sent (it always has a radius), even if empty
    errors: dict[str, str] = field(default_factory=dict)  # field -> message id

    @classmethod
    def read(cls, data: Any) -> SearchForm:
        """The form from query parameters or a POSTed form (a multi-dict)."""
        try:
            page = max(1, min(int(data.get("page") or 1), 1000))
        except ValueError:
            page = 1
        return cls(
            where=" ".join(str(data.get("where") or "").split())[:MAX_TEXT],
            radius=str(data.get("radius") or DEFAULT_RADIUS),
            categories=[str(v) for v in data.getlist("category") if v],
            kind=str(data.get("kind") or ""),
            text=" ".join(str(data.get("q") or "").split())[:MAX_TEXT],
            language=str(data.get("language") or ""),
            free=bool(data.get("free")),
            access=[str(v) for v in data.getlist("access") if v],
            day=str(data.get("day") or ""),
            channels=[str(v) for v in data.getlist("channel") if v],
            page=page,
            sent="radius" in data,
        )

    @property
    def submitted(self) -> bool:
        """Whether a search was asked for (a bare GET ``/search`` shows just the form; a
        form sent empty searches the whole city)."""
        return bool(
            self.sent
            or self.where
            or self.categories
            or self.kind
            or self.text
            or self.language
            or self.free
            or self.access
            or self.day
            or self.channels
            or self.radius == WHOLE_CITY
        )

    def check(self, directory: Directory) -> None:
        """Record problems in ``errors`` (unknown values are mistakes of the page or a
        hand-edited URL; they are named, never guessed)."""
        if self.radius not in (*RADII, WHOLE_CITY):
            self.errors["radius"] = N_("Choose one of the distances offered.")
        self.categories = [c for c in self.categories if c in directory.taxonomy]
        if self.kind and self.kind not in KINDS:
            self.errors["kind"] = N_("Choose one of the kinds offered.")
        if self.day and self.day not in WEEKDAYS:
            self.errors["day"] = N_("Choose one of the weekdays offered.")
        self.access = [a for a in self.access if a in ACCESS_FLAGS]
        self.channels = [c for c in self.channels if c in CHANNELS]

    def public_params(self) -> list[tuple[str, str]] | None:
        """The form as URL parameters, or ``None`` if it holds something private (an
        address or free text: the where field is not a postcode or known district)."""
        if self.text:
            return None
        params: list[tuple[str, str]] = []
        if self.where:
            params.append(("where", self.where))
        params.append(("radius", self.radius))
        params += [("category", c) for c in self.categories]
        for name, value in (("kind", self.kind), ("language", self.language), ("day", self.day)):
            if value:
                params.append((name, value))
        if self.free:
            params.append(("free", "1"))
        params += [("access", a) for a in self.access]
        params += [("channel", c) for c in self.channels]
        return params

    def query(self, place: Place | None, max_radius_km: float) -> SearchQuery:
        """The ``SearchQuery`` of this form: within the radius of ``place`` nearest
        first, or (whole city) by title."""
        near = GeoPoint(place.lat, place.lon) if place is not None else None
        radius = min(float(self.radius), max_radius_km) if near is not None else None
        return SearchQuery(
            near=near,
            radius_km=radius,
            text=self.text or None,
            kinds=(self.kind,) if self.kind else (),
            categories=tuple(self.categories),
            languages=(self.language,) if self.language else (),
            channels=tuple(self.channels),
            free_of_charge=True if self.free else None,
            accessibility=tuple(self.access),
            open_on=WEEKDAYS.index(self.day) if self.day else None,
            sort="distance" if near is not None else "title",
            offset=(self.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            want_total=True,
            want_facets=True,
        )


class Places:
    """Resolves the where field: postcode, district, or a street address.

    Addresses go to ``Directory.geocode``, which never writes them to the persistent
    geocode cache (the client's address must not reach the store); postcodes and
    districts come from the offline gazetteer.
    """

    def __init__(self, directory: Directory):
        self.directory = directory
        self.gazetteer = Gazetteer(directory.districts, city=directory.instance.city)

    def public(self, text: str) -> Place | None:
        """A postcode or a district: places that may appear in a URL."""
        if _POSTCODE.match(text):
            found = self.gazetteer.postcode(text)
            return _place(found, "postcode", found.label.split(" (")[0]) if found else None
        found = self.gazetteer.district(text)
        if found is not None:
            return _place(found, "district", found.label.split(" (")[0])
        return None

    def resolve(self, text: str) -> Place | None:
        """Any place: public ones first, then an address (``None`` if not found)."""
        place = self.public(text)
        if place is not None:
            return place
        try:
            found = self.directory.geocode(text)  # never cached: it may be an address
        except GeocodingError:
            return None
        # the label of an address result would repeat the address: say only how exact
        return _place(found, "address", "")

    def suggestions(self, prefix: str, limit: int = 8) -> list[dict[str, str]]:
        """Districts and postcodes of the city starting with ``prefix`` (umlauts folded:
        "hoe" finds "Hörde")."""
        from directory_core.gazetteer import name_key

        wanted = name_key(prefix)
        found: list[dict[str, str]] = []
        if not wanted:
            return found
        for district in self.directory.districts:
            if name_key(district.name).startswith(wanted) or district.key.startswith(wanted):
                found.append({"value": district.name, "label": district.name})
        city = self.directory.instance.city
        for code in self.postcodes:
            if code.startswith(wanted):
                found.append({"value": code, "label": f"{code} {city}"})
        return found[:limit]

    @cached_property
    def postcodes(self) -> list[str]:
        """The city's postcodes (looked up once: it scans the whole gazetteer)."""
        city = self.directory.instance.city
        return sorted(self.gazetteer.postcodes_in(city, include_shared_points=True))

    def choices(self) -> list[str]:
        """Every district name and postcode of the city (the form's ``<datalist>``)."""
        return [d.name for d in self.directory.districts] + self.postcodes


def _place(found: GeocodeResult, kind: str, label: str) -> Place:
    if kind == "address":
        # ~100 m: a client's home never needs to be known more exactly for a search
        return Place(round(found.lat, 3), round(found.lon, 3), kind, label)
    return Place(found.lat, found.lon, kind, label)
