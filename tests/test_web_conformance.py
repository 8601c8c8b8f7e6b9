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
