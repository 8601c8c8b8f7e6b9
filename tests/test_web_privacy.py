"""The client's address and the search words stay out of URLs, logs and the store.

The form is POSTed; a street address or search words are answered in the POST response,
paging included, so the browser's URL (and history) and uvicorn's access log never show
them. Postcode and district searches are redirected to bookmarkable GET URLs (the
positive control: they do show up in the access log)."""

from __future__ import annotations

import httpx
from directory_web.forms import Places

from . import web_fixtures as wf

web_directory, web, browser, page = wf.web_directory, wf.web, wf.browser, wf.page

ADDRESS = "Zeisigweg 7, 44263 Dortmund"
WORDS = "Gesprächskreis"


def test_address_and_search_words_reach_no_url_log_or_store(page, web, web_directory):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.fill("#field-where", ADDRESS)
    tab.select_option("#field-radius", "10")
    tab.fill("#field-q", WORDS)
    tab.click("button[type=submit][name=page]")
    tab.wait_for_selector("#results-heading")
    assert "Gesprächskreis Demenz Hörde" in tab.locator(".result h3").all_inner_texts()
    assert "eingegebene Adresse" in tab.inner_text(".result-summary")
    assert tab.url == f"{web.url}/search"
    # the counsellor still sees what was typed, in the form (not in the URL)
    assert tab.input_value("#field-where") == ADDRESS
    # an address search without search words, with paging
    tab.fill("#field-q", "")
    tab.click("button[type=submit][name=page]")
    tab.wait_for_selector(".pager")
    tab.click(".pager button[value='2']")
    tab.wait_for_selector(".result[value='11']")
    assert tab.url == f"{web.url}/search"
    history = tab.evaluate("history.length")
    assert history >= 2

    for url in page.requests:
        assert "Zeisig" not in url and WORDS not in url and "44263" not in url, url
    lines = web.log_lines()
    assert any('"POST /search HTTP/1.1" 200' in line for line in web.access_lines())
    for line in lines:
        assert "Zeisig" not in line and "Gespr" not in line, line
    store_file = web_directory.instance.store_url.removeprefix("sqlite:///")
    assert b"Zeisig" not in open(store_file, "rb").read()
    assert page.foreign_requests() == []


def test_postcode_searches_are_bookmarkable_and_logged_without_query(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.fill("#field-where", "44263")
    tab.click("button[type=submit][name=page]")
    tab.wait_for_selector("#results-heading")
    assert "where=44263" in tab.url
    # the access log has the request, without its query string (cut for every path)
    assert any("GET /search " in line for line in web.access_lines())
    assert not any("44263" in line for line in web.access_lines())


def test_suggestions_are_posted(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.type("#field-where", "Zeisigw")
    tab.wait_for_selector("#field-where[data-suggested]")
    assert not any("Zeisig" in url for url in page.requests)
    assert not any("Zeisig" in line for line in web.log_lines())


def test_an_address_in_a_get_url_is_not_geocoded(web):
    # only a hand-made URL can carry one; it is refused, not looked up
    response = httpx.get(f"{web.url}/search", params={"where": ADDRESS})
    assert response.status_code == 400
    assert "nicht gefunden" in response.text


def test_private_pages_are_not_cached(web):
    response = httpx.post(f"{web.url}/search", data={"where": ADDRESS, "radius": "5"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    public = httpx.post(f"{web.url}/search", data={"where": "Hörde", "radius": "5"})
    assert public.status_code == 303
    assert public.headers["location"].startswith("/search?where=H%C3%B6rde")


def test_addresses_are_geocoded_without_the_persistent_cache(web_directory):
    assert web_directory.geocoder.cache is not None  # the instance's own geocoder caches
    assert web_directory.search_geocoder.cache is None  # what Places asks (Directory.geocode)
    places = Places(web_directory)
    place = places.resolve(ADDRESS)
    assert place is not None and place.kind == "address" and place.label == ""
    assert (place.lat, place.lon) == (round(place.lat, 3), round(place.lon, 3))
