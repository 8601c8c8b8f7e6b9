"""Search quality on judged queries: hit@10 and MRR per group, false positives.

The queries (``judged_queries.csv``, next to this module) are written the way counsellors
and older people ask, against the demo data of the Dortmund instance (``directory demo``:
400 samples, seed 7). Each names the offers that must appear in the first ten, as title
prefixes (``prefix@district`` also requires the district). The group ``nothing`` holds
queries that should find nothing within ``NOTHING_RADIUS_KM`` of a district's point:
every hit there is a false positive.
"""

from __future__ import annotations

import csv
import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directory_search.base import GeoPoint, SearchQuery, SearchResult

JUDGED_QUERIES = Path(__file__).with_name("judged_queries.csv")
# written after the rules were tuned on JUDGED_QUERIES, and not used to tune them
HELD_OUT_QUERIES = Path(__file__).with_name("judged_queries_holdout.csv")
GROUPS = ("exact", "typo", "variant", "synonym", "compound")
TOP = 10
NOTHING_RADIUS_KM = 3.0
DEMO_SAMPLES = 400


@dataclass(frozen=True)
class JudgedQuery:
    group: str
    text: str
    wanted: tuple[str, ...]  # title prefixes ("prefix@district"); for "nothing": a district


def load_judged(path: Path = JUDGED_QUERIES) -> list[JudgedQuery]:
    rows = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    out = []
    for number, row in enumerate(csv.DictReader(rows), start=2):
        group, text, wanted = row["group"], row["query"], row["wanted"]
        if group not in (*GROUPS, "nothing") or not text or not wanted:
            raise ValueError(f"{path.name}, row {number}: bad group, query or wanted: {row}")
        out.append(JudgedQuery(group, text, tuple(w.strip() for w in wanted.split("|"))))
    return out


def is_wanted(offer: Any, wanted: tuple[str, ...]) -> bool:
    for spec in wanted:
        prefix, _, district = spec.partition("@")
        if offer.title.startswith(prefix) and (not district or offer.district == district):
            return True
    return False


def evaluate(
    directory: Any,
    queries: list[JudgedQuery] | None = None,
    search: Callable[[SearchQuery], SearchResult] | None = None,
) -> dict[str, Any]:
    """hit@10, MRR and count per group (and ``all`` over the five groups), false
    positives of the ``nothing`` group, and the queries that missed. ``search`` defaults
    to ``directory.search`` (the forgiving search); pass ``directory.search_backend.search``
    for the search as it was before the expansion."""
    search = search or directory.search
    queries = queries if queries is not None else load_judged()
    points = {d.key: GeoPoint(d.lat, d.lon) for d in directory.districts}
    per_group: dict[str, list[float]] = {g: [] for g in GROUPS}
    misses: list[str] = []
    false_positives: dict[str, int] = {}
    started = time.perf_counter()
    for q in queries:
        if q.group == "nothing":
            point = points[q.wanted[0]]
            result = search(
                SearchQuery(text=q.text, near=point, radius_km=NOTHING_RADIUS_KM, limit=TOP)
            )
            if result.hits:
                false_positives[q.text] = len(result.hits)
            continue
        result = search(SearchQuery(text=q.text, limit=TOP))
        offers = directory.get_many([h.id for h in result.hits])
        rank = next(
            (
                i
                for i, h in enumerate(result.hits, start=1)
                if h.id in offers and is_wanted(offers[h.id], q.wanted)
            ),
            None,
        )
        per_group[q.group].append(1.0 / rank if rank else 0.0)
        if rank is None:
            misses.append(f"{q.group}: {q.text}")
    seconds = time.perf_counter() - started

    def figures(ranks: list[float]) -> dict[str, Any]:
        n = len(ranks)
        return {
            "queries": n,
            "hit_at_10": round(sum(1 for r in ranks if r > 0) / n, 4) if n else None,
            "mrr": round(sum(ranks) / n, 4) if n else None,
        }

    groups = {g: figures(r) for g, r in per_group.items()}
    groups["all"] = figures([r for ranks in per_group.values() for r in ranks])
    nothing = sum(1 for q in queries if q.group == "nothing")
    return {
        "groups": groups,
        "nothing_queries": nothing,
        "false_positive_queries": len(false_positives),
        "false_positive_hits": sum(false_positives.values()),
        "false_positives": false_positives,
        "misses": misses,
        "seconds": round(seconds, 3),
    }


def demo_directory(instance: Any, root: Path) -> Any:
    """The instance's demo directory in a fresh SQLite store under ``root``."""
    from directory_core.demo import load_demo
    from directory_core.directory import open_directory

    instance = dataclasses.replace(instance, store_url=f"sqlite:///{root / 'judged.sqlite'}")
    directory = open_directory(instance)
    load_demo(directory, samples=DEMO_SAMPLES)
    return directory


def judged_figures(instance: Any) -> dict[str, Any]:
    """``evaluate`` on a fresh demo directory, before (plain backend search) and after
    (the forgiving search), for the judged and the held-out queries; the
    ``directory bench`` section."""
    with tempfile.TemporaryDirectory(prefix="directory-judged-") as folder:
        directory = demo_directory(instance, Path(folder))
        try:
            before = evaluate(directory, search=directory.search_backend.search)
            after = evaluate(directory)
            held_out = load_judged(HELD_OUT_QUERIES)
            held_before = evaluate(directory, held_out, search=directory.search_backend.search)
            held_after = evaluate(directory, held_out)
        finally:
            directory.close()
    return {
        "before": before,
        "after": after,
        "held_out": {"before": held_before, "after": held_after},
    }


def render_judged(figures: dict[str, Any]) -> list[str]:
    """Markdown lines of the judged-query table."""
    before, after = figures["before"], figures["after"]
    lines = [
        "**Judged queries** (demo data; hit@10 / MRR, before the forgiving search -> after)",
        "",
        "| group | queries | hit@10 | MRR |",
        "|---|---:|---:|---:|",
    ]
    for group in (*GROUPS, "all"):
        b, a = before["groups"][group], after["groups"][group]
        lines.append(
            f"| {group} | {a['queries']} | {_pct(b['hit_at_10'])} -> {_pct(a['hit_at_10'])} "
            f"| {b['mrr']:.2f} -> {a['mrr']:.2f} |"
        )
    held = figures.get("held_out")
    if held:
        b, a = held["before"]["groups"]["all"], held["after"]["groups"]["all"]
        lines.append(
            f"| held out (not tuned on) | {a['queries']} | {_pct(b['hit_at_10'])} -> "
            f"{_pct(a['hit_at_10'])} | {b['mrr']:.2f} -> {a['mrr']:.2f} |"
        )
    lines += [
        "",
        f"False positives (queries that should find nothing within {NOTHING_RADIUS_KM:g} km): "
        f"{before['false_positive_queries']} -> {after['false_positive_queries']} of "
        f"{after['nothing_queries']} queries ({after['false_positive_hits']} hits after).",
        "",
    ]
    return lines


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"
