"""The measurements: timing loops and their summaries.

Every loop is bounded twice, by a number of repetitions and by a time budget, and is
preceded by warm-up requests that are not counted. Latencies are wall-clock times
(``time.perf_counter``) of one call as the caller sees it:

* over HTTP: from sending the request to having the whole response body, through one
  keep-alive ``httpx`` client (the response is checked after the clock stops: HTTP 200,
  no GraphQL errors, the expected shape);
* in-process: one ``Directory.search`` call with the ``SearchQuery`` the GraphQL
  resolver builds for the same arguments (no HTTP, no GraphQL, no loading of offers);
* brute force: one full scan of every offer in Python (``BruteForceScan``).

``load_test`` sends a fixed number of requests from concurrent clients and counts
everything that is not a clean answer.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from directory_search.base import GeoPoint, SearchQuery
from directory_search.semantics import haversine_km

from .dataset import NearbyQuery
from .errors import BenchError

RADIUS_KM = 5.0
PAGE_SIZE = 20
FLOOR_QUERY = "{ __typename }"
#: The counsellor's search: a point, 5 km, one category (and a text term), nearest
#: first, the first 20 offers with 15 of their fields.
NEARBY_QUERY = """
query Nearby($lat: Float!, $lon: Float!, $category: String!, $text: String) {
  offers(near: {lat: $lat, lon: $lon}, radiusKm: 5, text: $text,
         filter: {categories: [$category]}, sort: DISTANCE, first: 20) {
    edges {
      distanceKm
      node {
        id
        title
        kind
        description
        carrier { name }
        district { name }
        address { street postcode city }
        contact { phone email }
        languages
        accessibility { wheelchair }
        cost { freeOfCharge }
        schedule { description }
      }
    }
  }
}
"""


# -- other work on the machine ------------------------------------------------------------


def _machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (``/proc/stat``; iowait is idle)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float:
    """CPU seconds used by process ``pid`` (all its threads); 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """How busy the machine was during a measurement, and how much of that was the
    benchmark itself (this process and the server processes ``pids``): a figure taken
    while other work ran is worth less, and says so."""

    def __init__(self, pids: Sequence[int] = ()):
        self.pids = list(pids)
        self.started = time.perf_counter()
        self.machine = _machine_busy_seconds()
        self.own = self._own()

    def _own(self) -> float:
        times = os.times()
        return times.user + times.system + sum(_process_seconds(p) for p in self.pids)

    def stop(self) -> dict[str, Any]:
        """Average cores busy over the watch: all, the benchmark's, everyone else's."""
        elapsed = time.perf_counter() - self.started
        machine = _machine_busy_seconds()
        if machine is None or self.machine is None or elapsed <= 0:
            return {"seconds": round(elapsed, 3)}
        busy = (machine - self.machine) / elapsed
        own = (self._own() - self.own) / elapsed
        return {
            "seconds": round(elapsed, 3),
            "busy_cores": round(busy, 2),
            "benchmark_cores": round(own, 2),
            "other_cores": round(max(busy - own, 0.0), 2),
        }


# -- summaries --------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, interpolated linearly between ranks."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(seconds: Sequence[float]) -> dict[str, Any]:
    """``n`` and min/median/p95/max/mean in milliseconds of latencies in seconds."""
    if not seconds:
        return {"n": 0, "min_ms": None, "median_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(s * 1000.0 for s in seconds)
    return {
        "n": len(ordered),
        "min_ms": round(ordered[0], 4),
        "median_ms": round(percentile(ordered, 0.5), 4),
        "p95_ms": round(percentile(ordered, 0.95), 4),
        "max_ms": round(ordered[-1], 4),
        "mean_ms": round(sum(ordered) / len(ordered), 4),
    }


@dataclass
class Budget:
    """How many repetitions, and how long at most (the loop ends at whichever comes
    first, but not before ``minimum`` repetitions)."""

    count: int
    seconds: float
    warmup: int = 0
    minimum: int = 3


def timed(
    call: Callable[[Any], Any],
    items: Sequence[Any],
    budget: Budget,
    warmup_items: Sequence[Any] = (),
) -> tuple[list[float], list[Any]]:
    """Call ``call(item)`` ``budget.warmup`` times uncounted (with ``warmup_items`` in
    turn, else ``items``), then for ``items`` in turn up to ``budget.count`` times;
    return the latencies and the results."""
    if not items:
        raise ValueError("no items to time")
    warm = warmup_items or items
    for i in range(budget.warmup):
        call(warm[i % len(warm)])
    latencies: list[float] = []
    results: list[Any] = []
    deadline = time.monotonic() + budget.seconds
    for i in range(budget.count):
        if i >= budget.minimum and time.monotonic() > deadline:
            break
        item = items[i % len(items)]
        started = time.perf_counter()
        result = call(item)
        latencies.append(time.perf_counter() - started)
        results.append(result)
    return latencies, results


# -- over HTTP --------------------------------------------------------------------------


def nearby_body(query: NearbyQuery) -> dict[str, Any]:
    """The GraphQL request of a ``NearbyQuery``."""
    variables: dict[str, Any] = {"lat": query.lat, "lon": query.lon, "category": query.category}
    if query.text is not None:
        variables["text"] = query.text
    return {"query": NEARBY_QUERY, "variables": variables}


FLOOR_BODY = {"query": FLOOR_QUERY}


def check_response(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a clean answer; ``BenchError`` for anything else."""
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    payload = response.json()
    if payload.get("errors"):
        raise BenchError(f"GraphQL errors: {payload['errors'][:3]}")
    return payload


def edge_count(payload: dict[str, Any]) -> int:
    return len(payload["data"]["offers"]["edges"])


class HttpClient:
    """One keep-alive connection to the server, posting GraphQL requests."""

    def __init__(self, url: str):
        self.client = httpx.Client(base_url=url, timeout=120.0)

    def post(self, body: dict[str, Any]) -> httpx.Response:
        response = self.client.post("/graphql", json=body)
        response.read()
        return response

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def http_latency(
    client: HttpClient,
    bodies: Sequence[dict[str, Any]],
    budget: Budget,
    warmup: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Latency of posting ``bodies`` in turn (after ``warmup``); every answer must be
    clean. With offers in the answers, also how many came back (hits per request)."""
    latencies, responses = timed(client.post, bodies, budget, warmup)
    payloads = [check_response(r) for r in responses]
    summary = summarize(latencies)
    if payloads and "offers" in (payloads[0].get("data") or {}):
        counts = [edge_count(p) for p in payloads]
        summary["hits"] = hit_summary(counts)
        summary["by_outcome"] = by_outcome(latencies, counts)
    return summary


def by_outcome(latencies: Sequence[float], counts: Sequence[int]) -> dict[str, Any]:
    """The latencies of the answers with offers and of the empty ones, apart: an empty
    answer has looked at every candidate inside the radius."""
    pairs = list(zip(latencies, counts, strict=True))
    return {
        "with_hits": summarize([t for t, c in pairs if c > 0]),
        "empty": summarize([t for t, c in pairs if c == 0]),
    }


def hit_summary(counts: Sequence[int]) -> dict[str, Any]:
    """How many offers the answers held: median, and the share of empty and full pages."""
    ordered = sorted(counts)
    return {
        "median": percentile(ordered, 0.5),
        "empty_share": round(sum(1 for c in ordered if c == 0) / len(ordered), 3),
        "full_page_share": round(sum(1 for c in ordered if c >= PAGE_SIZE) / len(ordered), 3),
    }


# -- in-process -------------------------------------------------------------------------


def search_query(query: NearbyQuery) -> SearchQuery:
    """The ``SearchQuery`` the ``offers`` resolver builds for ``nearby_body(query)``."""
    return SearchQuery(
        near=GeoPoint(query.lat, query.lon),
        radius_km=RADIUS_KM,
        text=query.text,
        categories=(query.category,),
        sort="distance",
        limit=PAGE_SIZE + 1,  # the resolver asks for one more to know about a next page
        want_total=False,
        want_facets=False,
    )


def in_process_latency(
    directory: Any,
    queries: Sequence[NearbyQuery],
    budget: Budget,
    warmup: Sequence[NearbyQuery] = (),
) -> tuple[dict[str, Any], list[list[str]]]:
    """Latency of ``Directory.search``; also the ids of each answer's first page."""
    prepared = [search_query(q) for q in queries]
    latencies, results = timed(
        directory.search, prepared, budget, [search_query(q) for q in warmup]
    )
    summary = summarize(latencies)
    counts = [min(len(r.hits), PAGE_SIZE) for r in results]
    summary["hits"] = hit_summary(counts)
    summary["by_outcome"] = by_outcome(latencies, counts)
    return summary, [[h.id for h in r.hits[:PAGE_SIZE]] for r in results]


# -- brute force ------------------------------------------------------------------------


class BruteForceScan:
    """Every active offer's point and categories (with their ancestors) in memory; a
    query scans all of them in Python with great-circle distances.

    The scan tests the category first and computes the distance only for offers in the
    category, the way the project's ground-truth backend (``directory_search.brute``)
    orders its tests; a scan computing every distance first would be slower still.
    """

    def __init__(self, ids: list[str], lats: list[float], lons: list[float], cats: list[Any]):
        self.ids, self.lats, self.lons, self.cats = ids, lats, lons, cats

    @classmethod
    def from_store(cls, directory: Any) -> BruteForceScan:
        """Load the active offers with a location from the store of record (through
        ``Store``, like every reader of the store)."""
        store = directory.store
        taxonomy = directory.taxonomy
        expanded: dict[tuple[str, ...], frozenset[str]] = {}
        ids: list[str] = []
        lats: list[float] = []
        lons: list[float] = []
        cats: list[frozenset[str]] = []
        for batch in store.iter_offer_ids():
            for offer_id, offer in store.get_offers(batch).items():
                if offer.status != "active" or offer.location is None:
                    continue
                key = tuple(offer.categories)
                found = expanded.get(key)
                if found is None:
                    found = expanded[key] = frozenset(
                        taxonomy.with_ancestors(k for k in key if k in taxonomy)
                    )
                ids.append(offer_id)
                lats.append(offer.location.lat)
                lons.append(offer.location.lon)
                cats.append(found)
        return cls(ids, lats, lons, cats)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: NearbyQuery) -> list[str]:
        """The ids of the first page: within ``RADIUS_KM``, in the category, nearest
        first, ties by id (the search contract)."""
        lat, lon, category = query.lat, query.lon, query.category
        hits = []
        for offer_id, olat, olon, cats in zip(
            self.ids, self.lats, self.lons, self.cats, strict=True
        ):
            if category in cats:
                distance = haversine_km(lat, lon, olat, olon)
                if distance <= RADIUS_KM:
                    hits.append((distance, offer_id))
        hits.sort()
        return [offer_id for _, offer_id in hits[:PAGE_SIZE]]


def brute_latency(
    scan: BruteForceScan, queries: Sequence[NearbyQuery], budget: Budget
) -> tuple[dict[str, Any], list[list[str]]]:
    latencies, results = timed(scan.search, queries, budget)
    return summarize(latencies), results


# -- under load -------------------------------------------------------------------------


async def _load(
    url: str, bodies: Sequence[dict[str, Any]], total: int, clients: int, seconds: float
) -> dict[str, Any]:
    counter = itertools.count()
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures = {"non_200": 0, "graphql_errors": 0, "transport_errors": 0}
    examples: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            i = next(counter)
            if i >= total or time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", json=bodies[i % len(bodies)])
            except httpx.HTTPError as exc:
                failures["transport_errors"] += 1
                examples.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures["non_200"] += 1
                examples.append(f"HTTP {response.status_code}: {response.text[:200]}")
                continue
            try:
                errors = response.json().get("errors")
            except ValueError:
                errors = ["response is not JSON"]
            if errors:
                failures["graphql_errors"] += 1
                examples.append(f"GraphQL errors: {str(errors)[:200]}")

    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    sent = len(latencies) + failures["transport_errors"]
    return {
        "clients": clients,
        "requests": sent,
        "planned_requests": total,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(sent / elapsed, 1) if elapsed else None,
        **failures,
        "errors": sum(failures.values()),
        "error_examples": examples[:5],
        "latency": summarize(latencies),
    }


def load_test(
    url: str,
    bodies: Sequence[dict[str, Any]],
    *,
    total: int,
    clients: int,
    seconds: float,
    warmup: int = 0,
    measuring: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """``total`` requests (``bodies`` in turn) from ``clients`` concurrent clients
    (asyncio, one ``httpx.AsyncClient`` with a connection each), at most ``seconds``
    long; ``warmup`` requests first, not counted. Counts non-200 answers, answers with
    GraphQL errors and failed requests. ``measuring()`` is called after the warm-up,
    just before the counted requests (to start what watches the server meanwhile)."""
    if warmup:
        asyncio.run(_load(url, bodies, warmup, clients, seconds))
    if measuring is not None:
        measuring()
    return asyncio.run(_load(url, bodies, total, clients, seconds))
