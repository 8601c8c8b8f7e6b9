"""The results page against the same search through GraphQL, both over HTTP.

A counsellor's results page (``GET /search?where=<district>&radius=5&category=<key>``)
searches around a district point for one category, nearest first, with the total and the
facet counts, and renders 10 offers with every field it shows. ``RESULTS_QUERY`` asks the
API for the same: the same search, total, facets and the same fields of the first 10
offers. The figure is the ratio of the two medians (the target: at most 3x).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from directory_core.model import District

from .errors import BenchError
from .measure import Budget, summarize, timed

RESULTS_QUERY = """
query Results($district: String!, $category: String!) {
  offers(near: {district: $district}, radiusKm: 5, filter: {categories: [$category]},
         sort: DISTANCE, first: 10) {
    totalCount
    facets { kinds { value count } categories { value count } districts { value count } }
    edges {
      distanceKm
      node {
        id title kind description
        carrier { name } district { name }
        address { street postcode city }
        contact { phone email website }
        schedule { description note }
        channels languages
        accessibility { wheelchair hearingLoop easyLanguage note }
        cost { freeOfCharge note }
        categories { label }
        targetGroups verifiedAt
      }
    }
  }
}
"""


@dataclass(frozen=True)
class PageQuery:
    """One results page: a district (key and name) and a category."""

    district_key: str
    district_name: str
    category: str

    def url(self) -> str:
        params = {"where": self.district_name, "radius": "5", "category": self.category}
        return f"/search?{urlencode(params)}"

    def graphql_body(self) -> dict[str, Any]:
        variables = {"district": self.district_key, "category": self.category}
        return {"query": RESULTS_QUERY, "variables": variables}


def page_queries(
    districts: Sequence[District], categories: Iterable[str], count: int, seed: int
) -> list[PageQuery]:
    """``count`` pages at random districts with random categories (same seed, same list)."""
    rng = random.Random(seed)
    keys = sorted(categories)
    return [
        PageQuery(d.key, d.name, rng.choice(keys))
        for d in (rng.choice(list(districts)) for _ in range(count))
    ]


def page_latency(
    url: str, pages: Sequence[PageQuery], budget: Budget, warmup: Sequence[PageQuery] = ()
) -> dict[str, Any]:
    """Latency of fetching the results pages in turn over one keep-alive connection;
    every answer must be a results page (HTTP 200 with the results heading)."""
    with httpx.Client(base_url=url, timeout=120.0) as client:

        def fetch(page: PageQuery) -> httpx.Response:
            response = client.get(page.url())
            response.read()
            return response

        latencies, responses = timed(fetch, pages, budget, warmup)
    for response in responses:
        if response.status_code != 200 or 'id="results-heading"' not in response.text:
            raise BenchError(f"results page: HTTP {response.status_code}: {response.text[:300]}")
    return summarize(latencies)
