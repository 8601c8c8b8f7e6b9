"""Turning an address or free text into a point: Nominatim (if configured), then the gazetteer.

``GeocoderChain.geocode`` asks, in order:

1. the cache (``GeocodeCache``; the store implements it with a table, ``DictCache`` is the
   in-memory version),
2. a Nominatim service through geopy, if one is configured (``NominatimConfig``), always
   behind geopy's ``RateLimiter``; results are cached,
3. the offline ``Gazetteer``: postcode centroid, then district point.

If the service fails (timeout, 5xx, unreachable) the gazetteer answer says so in its label
and is not cached, so the service is asked again next time. If nothing resolves,
``GeocodingError`` names the input and the reasons; there is never a silent (0, 0).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from geopy.exc import GeocoderServiceError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from .gazetteer import Gazetteer, GeocodeResult, find_postcodes
from .model import Address, Precision

__all__ = [
    "DictCache",
    "GeocodeCache",
    "GeocodeResult",
    "Geocoder",
    "GeocoderChain",
    "GeocodingError",
    "NominatimConfig",
    "normalize_query",
]

_ADDRESS_CLASSES = frozenset({"building"})
_ADDRESS_TYPES = frozenset({"house", "building"})
_DISTRICT_TYPES = frozenset(
    {"suburb", "city_district", "borough", "quarter", "neighbourhood", "district"}
)
_TOO_COARSE_TYPES = frozenset(
    {"city", "town", "village", "municipality", "county", "state", "region", "country"}
)


class GeocodingError(ValueError):
    """An address or query could not be resolved to a point."""


@runtime_checkable
class GeocodeCache(Protocol):
    """A persistent cache of geocoder answers, keyed by ``normalize_query`` keys."""

    def get(self, query: str) -> GeocodeResult | None: ...

    def put(self, query: str, result: GeocodeResult) -> None: ...


class DictCache:
    """An in-memory ``GeocodeCache`` (tests, short-lived processes)."""

    def __init__(self) -> None:
        self.entries: dict[str, GeocodeResult] = {}

    def get(self, query: str) -> GeocodeResult | None:
        return self.entries.get(query)

    def put(self, query: str, result: GeocodeResult) -> None:
        self.entries[query] = result


class Geocoder(Protocol):
    """Anything that resolves an address or free text to a point or raises."""

    def geocode(self, query: str | Address) -> GeocodeResult: ...


def normalize_query(query: str | Address) -> str:
    """The cache key of a query: NFC, casefolded ("ß" becomes "ss"), whitespace collapsed,
    commas tidied: "  Hörder Bahnhofstraße 16 ,44263 DORTMUND" and
    "hörder bahnhofstrasse 16, 44263 dortmund" share one key.
    """
    text = query.one_line() if isinstance(query, Address) else query
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"\s*,\s*", ", ", " ".join(text.split()))
    return text.strip(" ,")


@dataclass(frozen=True)
class NominatimConfig:
    """How to reach a Nominatim service.

    Use your own instance or respect the OSMF usage policy (an identifying
    ``user_agent``, at most one request per second: ``min_delay_seconds=1.0``).
    ``viewbox`` is ((lat1, lon1), (lat2, lon2)); with ``bounded`` results outside are
    dropped, otherwise it only biases them.
    """

    user_agent: str
    domain: str = "nominatim.openstreetmap.org"
    scheme: str = "https"
    timeout: float = 10.0
    min_delay_seconds: float = 1.0
    max_retries: int = 0
    country_codes: str | None = "de"
    viewbox: tuple[tuple[float, float], tuple[float, float]] | None = None
    bounded: bool = False
    language: str = "de"
    proxies: dict[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.user_agent.strip():
            raise ValueError("NominatimConfig.user_agent must name the application")
        if self.min_delay_seconds < 0:
            raise ValueError(
                f"min_delay_seconds must not be negative, got {self.min_delay_seconds}"
            )

    @classmethod
    def from_base_url(cls, base_url: str, user_agent: str, **options: Any) -> NominatimConfig:
        """A config from a URL like "https://nominatim.example.org/nominatim"."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        domain = (parts.netloc + parts.path).rstrip("/")
        return cls(user_agent=user_agent, domain=domain, scheme=parts.scheme, **options)

    def build(self) -> Callable[..., Any]:
        """geopy's ``Nominatim.geocode`` behind a ``RateLimiter`` that raises on failure."""
        service = Nominatim(
            domain=self.domain,
            scheme=self.scheme,
            user_agent=self.user_agent,
            timeout=self.timeout,
            proxies=self.proxies,
        )
        return RateLimiter(
            service.geocode,
            min_delay_seconds=self.min_delay_seconds,
            max_retries=self.max_retries,
            swallow_exceptions=False,
        )


def _describe(query: str | Address) -> str:
    kind = "address" if isinstance(query, Address) else "location"
    text = query.one_line() if isinstance(query, Address) else query
    return f"could not resolve {kind} {text!r}"


def _precision_of(raw: dict[str, Any]) -> str | None:
    """Map a Nominatim result to a model precision; ``None`` if coarser than a district."""
    address = raw.get("address") or {}
    kind, osm_class = raw.get("type"), raw.get("class")
    addresstype = raw.get("addresstype")
    rank = raw.get("place_rank")
    if address.get("house_number") or osm_class in _ADDRESS_CLASSES or kind in _ADDRESS_TYPES:
        return Precision.ADDRESS.value
    if kind in _TOO_COARSE_TYPES or addresstype in _TOO_COARSE_TYPES:
        return None
    if kind in _DISTRICT_TYPES or addresstype in _DISTRICT_TYPES:
        return Precision.DISTRICT.value
    if isinstance(rank, int) and rank < 21:
        return Precision.DISTRICT.value if rank >= 17 else None
    return Precision.POSTCODE.value  # a street, a postcode area or similar


def _label_of(raw: dict[str, Any], precision: str) -> str:
    address = raw.get("address") or {}
    street = " ".join(p for p in (address.get("road"), address.get("house_number")) if p)
    town = next(
        (address[k] for k in ("city", "town", "village", "municipality") if address.get(k)), ""
    )
    place = " ".join(p for p in (address.get("postcode"), town) if p)
    text = ", ".join(p for p in (street, place) if p) or str(raw.get("display_name", "?"))
    what = {"address": "Adresse", "postcode": "Straße/Gebiet", "district": "Stadtteil"}
    return f"{text} ({what.get(precision, precision)}, OpenStreetMap/Nominatim)"


class GeocoderChain:
    """Resolve addresses and free text: cache, Nominatim (optional), offline gazetteer."""

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        nominatim: NominatimConfig | None = None,
        cache: GeocodeCache | None = None,
    ) -> None:
        self.gazetteer = gazetteer if gazetteer is not None else Gazetteer()
        self.nominatim = nominatim
        self.cache = cache
        self._service = nominatim.build() if nominatim is not None else None

    def without_cache(self) -> GeocoderChain:
        """The same chain (the same service and rate limit) without the persistent cache:
        for text typed for a search, which may be a client's address and must never be
        stored."""
        chain = copy.copy(self)
        chain.cache = None
        return chain

    def geocode(self, query: str | Address) -> GeocodeResult:
        """The best available point for ``query``; raises ``GeocodingError`` if none."""
        text = query.one_line() if isinstance(query, Address) else query
        key = normalize_query(text)
        if not key:
            raise GeocodingError(f"{_describe(query)}: the query is empty")
        # only service answers are cached: the offline gazetteer is faster than the cache
        if self.cache is not None and self._service is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
        reasons: list[str] = []
        failure: str | None = None
        if self._service is None:
            reasons.append("no geocoder service is configured")
        else:
            try:
                found = self._ask_service(query)
            except GeocoderServiceError as exc:
                failure = f"{type(exc).__name__}: {exc}"
                reasons.append(f"the geocoder service failed ({failure})")
            else:
                if isinstance(found, GeocodeResult):
                    if self.cache is not None:
                        self.cache.put(key, found)
                    return found
                reasons.append(found)
        result = self._ask_gazetteer(query, text)
        if result is None:
            raise GeocodingError(
                f"{_describe(query)}: {self._offline_reason(text)} and {' and '.join(reasons)}"
            )
        if failure is not None:
            note = (
                f"{result.label}; Geocoding-Dienst nicht erreichbar, Ersatzwert aus Ortsverzeichnis"
            )
            result = replace(result, label=note)
        return result

    def _ask_service(self, query: str | Address) -> GeocodeResult | str:
        """A result, or the reason why the service's answer is not usable."""
        assert self._service is not None and self.nominatim is not None
        config = self.nominatim
        if isinstance(query, Address):
            parts = {"street": query.street, "postalcode": query.postcode, "city": query.city}
            request: str | dict[str, str] = {k: v for k, v in parts.items() if v.strip()}
        else:
            request = " ".join(query.split())
        location = self._service(
            request,
            exactly_one=True,
            addressdetails=True,
            language=config.language,
            country_codes=config.country_codes,
            viewbox=config.viewbox,
            bounded=config.bounded,
        )
        if location is None:
            return "the geocoder service found nothing"
        raw: dict[str, Any] = location.raw
        precision = _precision_of(raw)
        if precision is None:
            return "the geocoder service found only a match coarser than a district"
        return GeocodeResult(
            location.latitude, location.longitude, precision, _label_of(raw, precision), "nominatim"
        )

    def _ask_gazetteer(self, query: str | Address, text: str) -> GeocodeResult | None:
        if isinstance(query, Address) and query.postcode.strip():
            result = self.gazetteer.postcode(query.postcode)
            if result is not None:
                return result
        return self.gazetteer.search(text)

    def _offline_reason(self, text: str) -> str:
        postcodes = find_postcodes(text)
        if postcodes:
            return f"postcode {postcodes[0]} is unknown"
        return "it contains no postcode or known district"
