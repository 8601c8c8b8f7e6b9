"""The results page and the GraphQL API answer the same search with the same offers in
the same order (one code path: both ask ``Directory.search``), with the same totals and
facet counts; run over HTTP against the real app."""

from __future__ import annotations

import re

import httpx
import pytest

from . import web_fixtures as wf

web_directory, web = wf.web_directory, wf.web

QUERY = """
query ($near: GeoInput!, $radius: Float!, $filter: OfferFilter) {
  offers(near: $near, radiusKm: $radius, filter: $filter, sort: DISTANCE, first: 10) {
    totalCount
    facets { kinds { value count } }
    edges { distanceKm node { id } }
  }
}
"""
OFFER_ID = re.compile(r'<li class="result" id="offer-([0-9a-f-]{36})"')
TOTAL = re.compile(r'<h2 id="results-heading">(\d+) ')


def _graphql(url: str, near: dict, radius: float, filter_: dict) -> dict:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": QUERY, "variables": {"near": near, "radius": radius, "filter": filter_}},
    )
    payload = response.json()
    assert "errors" not in payload, payload
    return payload["data"]["offers"]


CASES = [
    ({"where": "44263", "radius": "5"}, {"postcode": "44263"}, 5, {}),
    (
        {"where": "Hörde", "radius": "10", "category": "dementia"},
        {"district": "hoerde"},
        10,
        {"categories": ["dementia"]},
    ),
    (
        {"where": "44137", "radius": "2", "access": "wheelchair", "free": "1", "day": "tue"},
        {"postcode": "44137"},
        2,
        {"accessibility": ["WHEELCHAIR"], "freeOfCharge": True, "openOn": "TUESDAY"},
    ),
    (
        {"where": "Eving", "radius": "10", "kind": "meeting_place", "language": "de"},
        {"district": "eving"},
        10,
        {"kinds": ["MEETING_PLACE"], "languages": ["de"]},
    ),
    (
        {"where": "Aplerbeck", "radius": "5", "channel": ["phone", "home_visit"]},
        {"district": "aplerbeck"},
        5,
        {"channels": ["PHONE", "HOME_VISIT"]},
    ),
]


@pytest.mark.parametrize("params, near, radius, filter_", CASES)
def test_results_page_matches_graphql(web, params, near, radius, filter_):
    page = httpx.get(f"{web.url}/search", params=params)
    assert page.status_code == 200, page.text[:500]
    api = _graphql(web.url, near, radius, filter_)
    assert OFFER_ID.findall(page.text) == [e["node"]["id"] for e in api["edges"]]
    assert int(TOTAL.search(page.text).group(1)) == api["totalCount"]
    for facet in api["facets"]["kinds"]:
        assert f'value="{facet["value"].lower()}"' in page.text
    assert api["totalCount"] > 0


def test_an_empty_form_searches_the_whole_city_by_title(web):
    sent = httpx.post(f"{web.url}/search", data={"where": "", "radius": "5"})
    assert sent.status_code == 303
    page = httpx.get(f"{web.url}{sent.headers['location']}")
    response = httpx.post(
        f"{web.url}/graphql",
        json={"query": "{ offers(sort: TITLE, first: 10) { totalCount edges { node { id } } } }"},
    )
    api = response.json()["data"]["offers"]
    assert OFFER_ID.findall(page.text) == [e["node"]["id"] for e in api["edges"]]
    assert int(TOTAL.search(page.text).group(1)) == api["totalCount"]


def test_a_corrected_search_says_so_like_graphql(web):
    # "Demens" is a typo: the page and the API correct it the same way and say so
    response = httpx.post(
        f"{web.url}/graphql",
        json={
            "query": '{ offers(text: "Demens", sort: TITLE, first: 10) '
            "{ corrected edges { node { id } } } }"
        },
    )
    api = response.json()["data"]["offers"]
    assert api["corrected"] == "Demenz" and api["edges"]
    # search words are private: answered in the POST response itself, never redirected
    page = httpx.post(f"{web.url}/search", data={"where": "", "radius": "5", "q": "Demens"})
    assert page.status_code == 200
    # the whole city, by title, as the page lists it
    assert OFFER_ID.findall(page.text) == [e["node"]["id"] for e in api["edges"]]
    assert re.search(r'class="result-corrected".*<bdi lang="de">Demenz</bdi>', page.text)
    exact = httpx.post(f"{web.url}/search", data={"where": "", "radius": "5", "q": "Demenz"})
    assert exact.status_code == 200 and OFFER_ID.findall(exact.text)
    assert "result-corrected" not in exact.text
