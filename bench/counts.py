"""The total and the facets, as the counsellor's results page asks for them: their
latency in-process, and how many answers were bounded estimates rather than exact
counts (a backend may stop counting at a bound and say so on its ``SearchResult``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from directory_search.base import SearchQuery

from .dataset import NearbyQuery
from .errors import BenchError
from .measure import PAGE_SIZE, Budget, by_outcome, hit_summary, search_query, summarize, timed

#: Attributes a ``SearchResult`` may carry to say that its total and facets are bounded
#: estimates rather than exact counts (a backend may stop counting at a bound:
#: ``total_exact`` / ``facets_exact`` false). Read with ``getattr``: a result without
#: any of them is exact, so the bench runs against search code with or without them.
ESTIMATE_FLAGS = ("estimated", "is_estimate", "total_is_estimate", "approximate", "bounded")
EXACT_FLAGS = ("total_exact", "facets_exact", "exact", "counts_exact")
#: Attributes of a result, or of the search backend (``count_bound``), naming the bound
#: beyond which the counts are estimates.
BOUND_ATTRIBUTES = ("count_bound", "bound", "total_bound", "exact_up_to")


def is_bounded(result: Any) -> bool:
    """Whether ``result``'s total and facets are bounded estimates (not exact)."""
    for name in ESTIMATE_FLAGS:
        if getattr(result, name, False) is True:
            return True
    for name in EXACT_FLAGS:
        if getattr(result, name, True) is False:
            return True
    return False


def result_bound(result: Any) -> int | None:
    """The bound beyond which ``result``'s counts are estimates, if it (a result or a
    search backend) names one."""
    for name in BOUND_ATTRIBUTES:
        value = getattr(result, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def counts_query(query: NearbyQuery) -> SearchQuery:
    """The ``SearchQuery`` of the counsellor's results page for ``query``: the page of
    20 with the total and the facets (``directory_web.forms``)."""
    return replace(search_query(query), limit=PAGE_SIZE, want_total=True, want_facets=True)


def bounded_summary(results: Sequence[Any], backend: Any = None) -> dict[str, Any]:
    """How many answers had bounded (estimated) counts, their share, and the bound: as
    the results name it, else as the search ``backend`` does, else the smallest total
    among the bounded answers."""
    bounded = [r for r in results if is_bounded(r)]
    bounds = [b for b in (result_bound(r) for r in bounded) if b is not None]
    totals = [r.total for r in bounded if isinstance(getattr(r, "total", None), int)]
    of_backend = result_bound(backend) if bounded and backend is not None else None
    if bounds:
        bound, source = min(bounds), "result"
    elif of_backend is not None:
        bound, source = of_backend, "backend"
    elif totals:
        bound, source = min(totals), "smallest bounded total"
    else:
        bound, source = None, None
    return {
        "answers": len(results),
        "bounded": len(bounded),
        "share": round(len(bounded) / len(results), 3) if results else None,
        "bound": bound,
        "bound_source": source,
    }


def counts_latency(
    directory: Any,
    queries: Sequence[NearbyQuery],
    budget: Budget,
    warmup: Sequence[NearbyQuery] = (),
) -> dict[str, Any]:
    """Latency of ``Directory.search`` asked for the total and the facets as the
    results page asks; also the share of answers whose counts are bounded estimates."""
    prepared = [counts_query(q) for q in queries]
    latencies, results = timed(
        directory.search, prepared, budget, [counts_query(q) for q in warmup]
    )
    for result in results:
        if result.total is None or result.facets is None:
            raise BenchError("a search asked for the total and facets answered without them")
    summary = summarize(latencies)
    counts = [min(len(r.hits), PAGE_SIZE) for r in results]
    summary["hits"] = hit_summary(counts)
    summary["by_outcome"] = by_outcome(latencies, counts)
    summary["bounded"] = bounded_summary(results, getattr(directory, "search_backend", None))
    return summary
