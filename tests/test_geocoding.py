"""Tests of the geocoder chain, with Nominatim played by a local fake HTTP server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from directory_core.gazetteer import Gazetteer
from directory_core.geocoding import (
    DictCache,
    GeocodeCache,
    GeocoderChain,
    GeocodeResult,
    GeocodingError,
    NominatimConfig,
    normalize_query,
)
from directory_core.model import Address, District

from .local_http import local_http_server

USER_AGENT = "seniorennetz-directory-tests/0.1"
LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"

# Made-up answers in Nominatim's /search?format=json&addressdetails=1 format.
HOUSE = {
    "place_id": 101,
    "licence": LICENCE,
    "osm_type": "node",
    "osm_id": 1001,
    "lat": "51.4878900",
    "lon": "7.4990100",
    "class": "place",
    "type": "house",
    "place_rank": 30,
    "importance": 0.00001,
    "addresstype": "place",
    "name": "",
    "display_name": "16, Hörder Bahnhofstraße, Hörde, Dortmund, Nordrhein-Westfalen, 44263, "
    "Deutschland",
    "address": {
        "house_number": "16",
        "road": "Hörder Bahnhofstraße",
        "suburb": "Hörde",
        "city": "Dortmund",
        "state": "Nordrhein-Westfalen",
        "postcode": "44263",
        "country": "Deutschland",
        "country_code": "de",
    },
    "boundingbox": ["51.4878400", "51.4879400", "7.4989600", "7.4990600"],
}
STREET = {
    **HOUSE,
    "place_id": 102,
    "osm_type": "way",
    "lat": "51.4881000",
    "lon": "7.4975000",
    "class": "highway",
    "type": "residential",
    "place_rank": 26,
    "addresstype": "road",
    "address": {k: v for k, v in HOUSE["address"].items() if k != "house_number"},
}
SUBURB = {
    **HOUSE,
    "place_id": 103,
    "lat": "51.4890000",
    "lon": "7.4960000",
    "class": "boundary",
    "type": "administrative",
    "place_rank": 18,
    "addresstype": "suburb",
    "address": {"suburb": "Hörde", "city": "Dortmund", "country_code": "de"},
}
CITY = {
    **HOUSE,
    "place_id": 104,
    "lat": "51.4847000",
    "lon": "7.2162000",
    "class": "boundary",
    "type": "administrative",
    "place_rank": 16,
    "addresstype": "city",
    "address": {"city": "Bochum", "country_code": "de"},
}


@dataclass
class FakeNominatim:
    """What the fake server answers, and what it was asked."""

    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: int = 200
    delay: float = 0.0
    requests: list[tuple[float, str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self, **options: Any) -> NominatimConfig:
        options.setdefault("min_delay_seconds", 0.0)
        return NominatimConfig(
            user_agent=USER_AGENT, domain=self.domain, scheme="http", proxies={}, **options
        )

    def answer(self, params: dict[str, str]) -> list[dict[str, Any]]:
        key = params.get("q") or params.get("street") or params.get("postalcode", "")
        return self.answers.get(normalize_query(key), [])


def _handler(fake: FakeNominatim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            fake.requests.append((time.monotonic(), url.path, params, dict(self.headers)))
            if fake.delay:
                time.sleep(fake.delay)
            if fake.status != 200:
                body = json.dumps({"error": "Service Unavailable"}).encode()
            elif url.path != "/search":
                fake.status, body = 404, b"[]"
            else:
                body = json.dumps(fake.answer(params), ensure_ascii=False).encode()
            try:
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def nominatim() -> Iterator[FakeNominatim]:
    fake = FakeNominatim()
    with local_http_server(_handler(fake)) as server:
        fake.port = server.server_address[1]
        yield fake


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


ADDRESS_TEXT = "Hörder Bahnhofstraße 16, 44263 Dortmund"


# --- Nominatim through the fake server --------------------------------------------------


def test_nominatim_address_result(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config())
    result = chain.geocode(ADDRESS_TEXT)
    assert result == GeocodeResult(
        51.48789,
        7.49901,
        "address",
        "Hörder Bahnhofstraße 16, 44263 Dortmund (Adresse, OpenStreetMap/Nominatim)",
        "nominatim",
    )
    [(_, path, params, headers)] = nominatim.requests
    assert path == "/search"
    assert params["q"] == ADDRESS_TEXT
    assert params["format"] == "json"
    assert params["addressdetails"] == "1"
    assert params["countrycodes"] == "de"
    assert params["accept-language"] == "de"
    assert params["limit"] == "1"
    assert headers["User-Agent"] == USER_AGENT


def test_nominatim_structured_query_for_address(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    nominatim.answers[normalize_query("Hörder Bahnhofstraße 16")] = [HOUSE]
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config())
    result = chain.geocode(Address("Hörder Bahnhofstraße 16", "44263", "Dortmund"))
    assert result.precision == "address" and result.source == "nominatim"
    [(_, _, params, _)] = nominatim.requests
    assert "q" not in params
    assert (params["street"], params["postalcode"], params["city"]) == (
        "Hörder Bahnhofstraße 16",
        "44263",
        "Dortmund",
    )


def test_nominatim_viewbox(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.answers["hörde"] = [SUBURB]
    config = nominatim.config(viewbox=((51.41, 7.30), (51.60, 7.64)), bounded=True)
    GeocoderChain(gazetteer, nominatim=config).geocode("Hörde")
    [(_, _, params, _)] = nominatim.requests
    assert params["viewbox"] == "7.3,51.41,7.64,51.6"
    assert params["bounded"] == "1"


@pytest.mark.parametrize(
    "raw, precision, label",
    [
        (HOUSE, "address", "Hörder Bahnhofstraße 16, 44263 Dortmund (Adresse, "),
        ({**HOUSE, "class": "building", "type": "yes", "address": {}}, "address", "16, Hörder"),
        (STREET, "postcode", "Hörder Bahnhofstraße, 44263 Dortmund (Straße/Gebiet, "),
        (SUBURB, "district", "Dortmund (Stadtteil, "),
    ],
)
def test_nominatim_precision(
    nominatim: FakeNominatim,
    gazetteer: Gazetteer,
    raw: dict[str, Any],
    precision: str,
    label: str,
) -> None:
    nominatim.answers["irgendwo"] = [raw]
    result = GeocoderChain(gazetteer, nominatim=nominatim.config()).geocode("irgendwo")
    assert (result.precision, result.source) == (precision, "nominatim")
    assert result.label.startswith(label)


def test_nominatim_city_match_is_too_coarse(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.answers["bochum"] = [CITY]
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config())
    with pytest.raises(GeocodingError) as info:
        chain.geocode("Bochum")
    assert str(info.value) == (
        "could not resolve location 'Bochum': it contains no postcode or known district and "
        "the geocoder service found only a match coarser than a district"
    )


def test_nominatim_finds_nothing_gazetteer_answers(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    cache = DictCache()
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    result = chain.geocode("Unbekannte Straße 1, 44263 Dortmund")
    assert result == gazetteer.postcode("44263")
    assert len(nominatim.requests) == 1
    assert cache.entries == {}


def test_rate_limiter_spaces_requests(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.answers["hörde"] = [SUBURB]
    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(min_delay_seconds=0.4))
    started = time.monotonic()
    chain.geocode("Hörde")
    chain.geocode(ADDRESS_TEXT)
    chain.geocode("44135 Dortmund")  # found nothing: falls back, but was still rate-limited
    elapsed = time.monotonic() - started
    times = [t for t, *_ in nominatim.requests]
    assert len(times) == 3
    assert elapsed >= 0.8
    assert all(b - a >= 0.35 for a, b in zip(times, times[1:], strict=False))


def test_without_rate_limit_requests_are_not_delayed(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(min_delay_seconds=0.0))
    started = time.monotonic()
    for plz in ("44135", "44137", "44139"):
        chain.geocode(plz)
    assert time.monotonic() - started < 0.6  # three requests at 0.4 s spacing take 0.8 s
    assert len(nominatim.requests) == 3


def test_cache_hit_second_time_without_request(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    cache = DictCache()
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    first = chain.geocode(ADDRESS_TEXT)
    assert len(nominatim.requests) == 1
    assert cache.entries == {"hörder bahnhofstrasse 16, 44263 dortmund": first}
    again = chain.geocode("  HÖRDER Bahnhofstraße 16 ,44263   dortmund ")
    assert again == first
    assert chain.geocode(Address("Hörder Bahnhofstraße 16", "44263", "Dortmund")) == first
    assert len(nominatim.requests) == 1


def test_cache_shared_by_chains(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    cache = DictCache()
    first = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    first.geocode(ADDRESS_TEXT)
    nominatim.status = 503  # the service is down, but the cache still answers
    second = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    assert second.geocode(ADDRESS_TEXT).source == "nominatim"
    assert len(nominatim.requests) == 1


# --- failures of the service ------------------------------------------------------------


def test_503_falls_back_to_gazetteer(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.status = 503
    cache = DictCache()
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    result = chain.geocode(ADDRESS_TEXT)
    assert (result.lat, result.lon) == (51.4847, 7.4996)
    assert (result.precision, result.source) == ("postcode", "gazetteer")
    assert result.label == (
        "44263 Dortmund (Postleitzahl, Mittelpunkt); "
        "Geocoding-Dienst nicht erreichbar, Ersatzwert aus Ortsverzeichnis"
    )
    assert len(nominatim.requests) == 1  # no retries by default
    assert cache.entries == {}  # a fallback is not cached: ask the service again next time
    chain.geocode(ADDRESS_TEXT)
    assert len(nominatim.requests) == 2


def test_503_falls_back_to_district(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.status = 503
    result = GeocoderChain(gazetteer, nominatim=nominatim.config()).geocode("Dortmund-Hörde")
    assert (result.lat, result.lon, result.precision) == (51.483333, 7.5, "district")
    assert "nicht erreichbar" in result.label


def test_timeout_falls_back_to_gazetteer(nominatim: FakeNominatim, gazetteer: Gazetteer) -> None:
    nominatim.delay = 0.5
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(timeout=0.1))
    result = chain.geocode("44135 Dortmund")
    assert (result.lat, result.lon, result.source) == (51.5125, 7.477, "gazetteer")
    assert "nicht erreichbar" in result.label


def test_unreachable_service_falls_back(gazetteer: Gazetteer) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = NominatimConfig(
        user_agent=USER_AGENT,
        domain=f"127.0.0.1:{port}",
        scheme="http",
        proxies={},
        min_delay_seconds=0,
    )
    result = GeocoderChain(gazetteer, nominatim=config).geocode("44263")
    assert result.precision == "postcode" and "nicht erreichbar" in result.label


def test_failing_service_and_unknown_address(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    nominatim.status = 503
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config())
    with pytest.raises(GeocodingError) as info:
        chain.geocode(Address("Nirgendwostr. 1", "99999", "Nirgendwo"))
    message = str(info.value)
    assert message.startswith(
        "could not resolve address 'Nirgendwostr. 1, 99999 Nirgendwo': postcode 99999 is "
        "unknown and the geocoder service failed (GeocoderTimedOut: "
    )
    assert "503" in message


# --- offline only -----------------------------------------------------------------------


def test_unresolvable_address_raises(gazetteer: Gazetteer) -> None:
    chain = GeocoderChain(gazetteer)
    with pytest.raises(GeocodingError) as info:
        chain.geocode(Address("Nirgendwostr. 1", "99999", "Nirgendwo"))
    assert str(info.value) == (
        "could not resolve address 'Nirgendwostr. 1, 99999 Nirgendwo': postcode 99999 is "
        "unknown and no geocoder service is configured"
    )
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "could not resolve location '': the query is empty"),
        (" , ", "could not resolve location ' , ': the query is empty"),
        (
            "Bochum",
            "could not resolve location 'Bochum': it contains no postcode or known district "
            "and no geocoder service is configured",
        ),
    ],
)
def test_unresolvable_queries(gazetteer: Gazetteer, query: str, message: str) -> None:
    with pytest.raises(GeocodingError) as info:
        GeocoderChain(gazetteer).geocode(query)
    assert str(info.value) == message


def test_offline_chain_resolves_postcode_and_district(gazetteer: Gazetteer) -> None:
    chain = GeocoderChain(gazetteer)
    assert chain.geocode(Address("Hörder Bahnhofstraße 16", "44263", "Dortmund")) == (
        gazetteer.postcode("44263")
    )
    assert chain.geocode(Address(city="Dortmund-Hörde")) == gazetteer.district("Hörde")
    assert chain.geocode("44135 Dortmund").label == "44135 Dortmund (Postleitzahl, Mittelpunkt)"


def test_default_gazetteer_and_instance_districts() -> None:
    assert GeocoderChain().geocode("44263").precision == "postcode"
    own = Gazetteer([District("mitte", "Bochum-Mitte", 51.4818, 7.2162)], city="Bochum")
    result = GeocoderChain(own).geocode("Mitte")
    assert (result.lat, result.lon, result.precision) == (51.4818, 7.2162, "district")


# --- small parts ------------------------------------------------------------------------


def test_normalize_query() -> None:
    assert normalize_query("  Hörder  Bahnhofstraße 16 ,44263\tDORTMUND ") == (
        "hörder bahnhofstrasse 16, 44263 dortmund"
    )
    assert normalize_query("Ho\u0308rde") == normalize_query("HÖRDE") == "hörde"
    assert normalize_query("Hauptstraße") == normalize_query("HAUPTSTRASSE")
    assert normalize_query(Address("Hauptstr. 1", "44135", "Dortmund")) == (
        "hauptstr. 1, 44135 dortmund"
    )


def test_dict_cache_is_a_geocode_cache() -> None:
    cache = DictCache()
    assert isinstance(cache, GeocodeCache)
    result = GeocodeResult(51.0, 7.0, "address", "x", "nominatim")
    assert cache.get("x") is None
    cache.put("x", result)
    assert cache.get("x") is result


def test_nominatim_config() -> None:
    config = NominatimConfig.from_base_url("https://geo.example.org/nominatim/", "app/1.0")
    assert (config.scheme, config.domain, config.min_delay_seconds) == (
        "https",
        "geo.example.org/nominatim",
        1.0,
    )
    with pytest.raises(ValueError, match="base_url must be an http"):
        NominatimConfig.from_base_url("geo.example.org", "app/1.0")
    with pytest.raises(ValueError, match="user_agent must name the application"):
        NominatimConfig(user_agent=" ")
    with pytest.raises(ValueError, match="min_delay_seconds must not be negative, got -1"):
        NominatimConfig(user_agent="app/1.0", min_delay_seconds=-1)


# --- a client's address is never stored --------------------------------------------------


def test_without_cache_shares_the_service_and_stores_nothing(
    nominatim: FakeNominatim, gazetteer: Gazetteer
) -> None:
    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    cache = DictCache()
    chain = GeocoderChain(gazetteer, nominatim=nominatim.config(), cache=cache)
    searching = chain.without_cache()
    assert searching._service is chain._service  # one rate limit for both
    assert searching.geocode(ADDRESS_TEXT).source == "nominatim"
    assert cache.entries == {} and chain.cache is cache
    chain.geocode(ADDRESS_TEXT)
    assert len(cache.entries) == 1


def test_search_geocoding_never_reaches_the_store(nominatim: FakeNominatim, tmp_path) -> None:
    import dataclasses

    import sqlalchemy as sa

    from directory_core import tables
    from directory_core.directory import open_directory
    from directory_core.instance import GeocoderSettings, load_instance
    from directory_core.model import Offer

    nominatim.answers[normalize_query(ADDRESS_TEXT)] = [HOUSE]
    instance = dataclasses.replace(
        load_instance("instances/dortmund.toml"),
        store_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
        geocoder=GeocoderSettings(
            nominatim_url=f"http://{nominatim.domain}", min_delay_seconds=0.0
        ),
    )
    directory = open_directory(instance)
    try:

        def cached() -> list[str]:
            with directory.store.engine.connect() as conn:
                return list(conn.execute(sa.select(tables.geocode_cache.c.query)).scalars())

        # what a counsellor types for a nearby search (GraphQL near.address, the pages)
        assert directory.geocode(ADDRESS_TEXT).source == "nominatim"
        assert cached() == []
        # an offer's own address is public and cached (asked as a structured query)
        street, rest = ADDRESS_TEXT.split(", ")
        nominatim.answers[normalize_query(street)] = [HOUSE]
        offer = Offer(
            title="Treff", kind="meeting_place", address=Address(street, *rest.split(" "))
        )
        directory.save([offer])
        assert cached() == [normalize_query(ADDRESS_TEXT)]
    finally:
        directory.close()
