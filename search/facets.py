"""Facet counts, the same for every backend that counts in Python (the embedded backend
and the brute-force oracle of the conformance suite).

Kept out of ``brute.py`` so that a production backend does not import the test oracle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .base import FACET_FIELDS


def facet_counts(
    rows: Iterable[tuple[str, Iterable[str], str | None]],
) -> dict[str, dict[str, int]]:
    """Facet dict from ``(kind, categories, district)`` triples; ``None`` districts are
    not counted. Keys of each facet are sorted for stable output."""
    kinds: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    districts: Counter[str] = Counter()
    for kind, categories, district in rows:
        kinds[kind] += 1
        cats.update(set(categories))
        if district is not None:
            districts[district] += 1
    counters = dict(zip(FACET_FIELDS, (kinds, cats, districts), strict=True))
    return {name: dict(sorted(c.items())) for name, c in counters.items()}
