"""What the templates show of an offer (``directory_web.views``), and the page response
(``directory_web.rendering``): labels in the page language, phone links, marking of old
verification dates, the Content-Security-Policy, QR codes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest
from directory_app.assembly import create_app
from directory_web.pages.handout import qr_svg
from directory_web.rendering import MapSettings
from directory_web.views import format_distance, offer_view, tel_href

from directory_core.directory import open_directory
from directory_core.instance import InstanceError, parse_instance
from directory_core.model import Contact, Location, Offer

from . import web_fixtures as wf
from .conftest import dortmund_instance_at
from .helpers import instance_data
from .test_graphql_extra import example_plugins

web_directory, web = wf.web_directory, wf.web
KNOWN_CAFE = "00000000-0000-4000-8000-000000000001"

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_offer_view_in_german_and_turkish(directory, known_offers):
    cafe = known_offers["cafe"]
    directory.save([cafe])
    german = offer_view(directory, cafe, "de", 0.56, now=NOW)
    assert german.kind_label == "Demenzgruppe"
    assert german.carrier == "Caritasverband"
    assert german.schedule == ["jeden Dienstag, 14:00–16:00 Uhr"]
    assert german.languages == ["Deutsch", "Türkisch"]
    assert german.accessibility == ["rollstuhlgerecht"]
    assert german.distance == "0,6 km"
    assert german.verified == "3. November 2025" and german.verified_stale is False
    turkish = offer_view(directory, cafe, "tr", 0.56, now=NOW)
    assert turkish.kind_label == "Demans grubu"
    assert turkish.schedule == ["her Salı, 14:00–16:00"]
    assert turkish.description == cafe.description  # offer texts stay as written


def test_verification_older_than_a_year_or_missing_is_marked(directory, known_offers):
    cafe = dataclasses.replace(known_offers["cafe"], verified_at=datetime(2025, 5, 31))
    assert offer_view(directory, cafe, "de", now=NOW).verified_stale is True
    never = dataclasses.replace(cafe, verified_at=None)
    view = offer_view(directory, never, "de", now=NOW)
    assert view.verified == "" and view.verified_stale is True


def test_phone_links_and_distances():
    assert tel_href("0231 50-29640") == "tel:02315029640"
    assert tel_href("+49 (231) 12 34") == "tel:+492311234"
    assert tel_href("") == ""
    assert format_distance(1.26, "en") == "1.3 km"
    assert format_distance(None, "de") == ""


def test_tile_origin_for_the_csp():
    osm = MapSettings("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "©")
    assert osm.tile_origin == "https://tile.openstreetmap.org"
    sub = MapSettings("https://{s}.tile.example.org/{z}/{x}/{y}.png", "©")
    assert sub.tile_origin == "https://*.tile.example.org"


def test_qr_codes_are_inline_svg_with_a_name():
    svg = qr_svg("http://example.org/offer/1", 'QR "code"')
    assert svg.startswith('<svg role="img" aria-label="QR &#34;code&#34;" ')
    assert "<path" in svg


def test_tile_server_is_an_instance_setting(tmp_path):
    default = parse_instance(instance_data(tmp_path))
    assert default.web.tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "OpenStreetMap" in default.web.tile_attribution
    own = parse_instance(
        instance_data(
            tmp_path,
            web={"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png", "tile_attribution": "X"},
        )
    )
    assert own.web.tile_url == "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(InstanceError, match=r"web.tile_url: must be an http\(s\) URL"):
        parse_instance(instance_data(tmp_path, web={"tile_url": "tiles.example.org"}))


def test_offer_page_shows_custom_fields_by_their_labels(tmp_path, serve):
    directory = open_directory(
        dortmund_instance_at(tmp_path / "d.sqlite"), extra_plugins=example_plugins()
    )
    try:
        offer = Offer(
            title="Mittagstisch mit Fahrdienst",
            kind="service",
            carrier="awo",
            categories=["care.meals"],
            location=Location(51.4847, 7.4996),
            contact=Contact(phone="0231 1"),
            extra={"awo": {"transport_service": True, "meals_on_wheels_zone": "nord"}},
        )
        directory.save([offer])
        server = serve(create_app(directory, sync_interval=None))
        page = httpx.get(f"{server.url}/offer/{offer.id}").text
        assert "<dt>Fahrdienst</dt><dd>ja</dd>" in page
        assert "<dt>Essen-auf-Rädern-Zone</dt><dd>nord</dd>" in page
        english = httpx.get(f"{server.url}/offer/{offer.id}?lang=en").text
        assert "<dt>Fahrdienst</dt><dd>yes</dd>" in english  # the carrier's own label
    finally:
        directory.close()


def test_the_handout_language_is_not_remembered_for_the_counsellor(web):
    handout = httpx.get(f"{web.url}/handout", params={"offer": KNOWN_CAFE, "lang": "tr"})
    assert handout.status_code == 200 and 'lang="tr"' in handout.text
    assert "set-cookie" not in handout.headers
    switched = httpx.get(f"{web.url}/", params={"lang": "tr"})
    assert "lang=tr" in switched.headers["set-cookie"]
    empty = httpx.get(f"{web.url}/handout", params={"offer": "not-an-id"})
    assert empty.status_code == 400


def test_results_beyond_the_count_bound_say_at_least(web_directory, web, monkeypatch):
    params = {"where": "44263", "radius": "5"}
    exact = httpx.get(f"{web.url}/search", params=params).text
    assert " Angebote gefunden" in exact and "Mindestens" not in exact
    # the embedded backend counts a nearby search exactly up to its bound only
    monkeypatch.setattr(web_directory.search_backend, "count_bound", 2)
    bounded = httpx.get(f"{web.url}/search", params=params).text
    assert "Mindestens 2 Angebote gefunden" in bounded
    english = httpx.get(f"{web.url}/search", params={**params, "lang": "en"}).text
    assert "At least 2 offers found" in english


def test_search_down_is_a_clear_page(directory, serve):
    server = serve(create_app(directory, sync_interval=None))
    directory.search_backend.close()
    response = httpx.get(f"{server.url}/search", params={"where": "44263", "radius": "5"})
    assert response.status_code == 503
    assert "Die Suche ist gerade nicht verfügbar" in response.text
