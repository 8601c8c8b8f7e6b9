"""The targets of a run (issue 13): each a check of one backend's figures giving met /
not met / not measured, the deciding value and the figures behind it.

The checks of the first targets live in ``report``, next to the ratios they use; this
module holds the later ones and ``TARGETS``, the rows of the table in their order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .report import (
    MET,
    NOT_MEASURED,
    NOT_MET,
    Target,
    _at,
    _brute,
    _errors,
    _growth,
    _memory,
    _ms,
    _nearby_vs_floor,
    dig,
)


def _per_size(results: dict[str, Any], *path: str) -> dict[int, Any]:
    """size -> the figure at ``path`` for every size that ran and has it."""
    return {
        int(size): dig(figures, *path)
        for size, figures in results.items()
        if "error" not in figures and dig(figures, *path) is not None
    }


def _at_sizes(
    values: dict[int, Any], sizes: tuple[int, ...], ok: Callable[[Any], bool]
) -> str:
    """Met when every one of ``sizes`` has a value and each is ``ok``; not met as soon
    as one measured value is not; else not measured."""
    if any(size in values and not ok(values[size]) for size in sizes):
        return NOT_MET
    return MET if all(size in values for size in sizes) else NOT_MEASURED


IMPORT_SIZES = (100_000, 1_000_000)


def _import(results: dict[str, Any]) -> tuple[str, Any, str]:
    rates = _per_size(results, "import", "offers_per_second")
    if not rates:
        return NOT_MEASURED, None, "no import measured"
    status = _at_sizes(rates, IMPORT_SIZES, lambda rate: rate >= 5000)
    wanted = [rates[size] for size in IMPORT_SIZES if size in rates]
    each = ", ".join(f"{rate:,.0f}/s at {size:,}" for size, rate in sorted(rates.items()))
    missing = [f"{size:,}" for size in IMPORT_SIZES if size not in rates]
    note = f"; not run: {', '.join(missing)}" if missing else ""
    return (
        status,
        min(wanted) if wanted else None,
        f"{each} (needed >= 5,000/s at 100,000 and 1,000,000{note})",
    )


def _p95_at_million(*path: str, limit: float) -> Callable[[dict[str, Any]], tuple]:
    def check(results: dict[str, Any]) -> tuple[str, Any, str]:
        figures = _at(results, 1_000_000)
        if figures is None:
            return NOT_MEASURED, None, "needs 1,000,000 offers"
        stats = dig(figures, *path)
        if not stats or not stats.get("n"):
            return NOT_MEASURED, None, "no such answers in this run"
        p95 = stats["p95_ms"]
        return (
            MET if p95 <= limit else NOT_MET,
            p95,
            f"p95 {p95:.1f} ms of {stats['n']} searches (median {stats['median_ms']:.1f} ms; "
            f"needed <= {limit:.0f} ms)",
        )

    return check


def _counts(results: dict[str, Any]) -> tuple[str, Any, str]:
    figures = _at(results, 1_000_000)
    if figures is None:
        return NOT_MEASURED, None, "needs 1,000,000 offers"
    parts = [dig(figures, "in_process", k) for k in ("counts_facets", "counts_facets_text")]
    if not all(p and p.get("n") for p in parts):
        return NOT_MEASURED, None, "no searches with total and facets in this run"
    p95 = max(p["p95_ms"] for p in parts)
    answers = sum(dig(p, "bounded", "answers") or 0 for p in parts)
    bounded = sum(dig(p, "bounded", "bounded") or 0 for p in parts)
    bounds = [dig(p, "bounded", "bound") for p in parts if dig(p, "bounded", "bound")]
    detail = (
        f"p95 {parts[0]['p95_ms']:.1f} ms nearby, {parts[1]['p95_ms']:.1f} ms + text; "
        f"{bounded} of {answers} answers bounded estimates (needed <= 20 ms)"
    )
    if p95 > 20:
        return NOT_MET, p95, detail
    if bounded:
        beyond = f" beyond {min(bounds):,}" if bounds else ""
        return f"{MET} (bounded{beyond})", p95, detail
    return MET, p95, detail + "; all exact"


def _load_at(size: int, rate: float, p95: float | None) -> Callable[[dict[str, Any]], tuple]:
    def check(results: dict[str, Any]) -> tuple[str, Any, str]:
        figures = _at(results, size)
        load = dig(figures, "load") if figures else None
        if not load or load.get("requests_per_second") is None:
            return NOT_MEASURED, None, f"needs {size:,} offers"
        got = load["requests_per_second"]
        latency = dig(load, "latency", "p95_ms")
        checks = [got >= rate]
        text = f"{got:,.0f} req/s (needed >= {rate:,.0f})"
        if p95 is not None:
            checks += [latency is not None and latency <= p95, load["errors"] == 0]
            text += f", p95 {_ms(latency)} ms (<= {p95:.0f}), {load['errors']} errors (0)"
        return MET if all(checks) else NOT_MET, got, text

    return check


def _healthz(results: dict[str, Any]) -> tuple[str, Any, str]:
    medians = _per_size(results, "load", "healthz", "median_ms")
    if not medians:
        return NOT_MEASURED, None, "no /healthz checks during a load test"
    errors = sum(_per_size(results, "load", "healthz", "errors").values())
    worst = max(medians.values())
    each = ", ".join(f"{_ms(m)} ms at {size:,}" for size, m in sorted(medians.items()))
    ok = worst <= 5 and errors == 0
    return MET if ok else NOT_MET, worst, f"median {each}; {errors} failed (needed <= 5 ms)"



TARGETS = (
    Target("nearby_vs_floor", "nearby HTTP at 100,000: median <= 3x floor", _nearby_vs_floor),
    Target(
        "text_p95",
        "nearby + text in-process at 1,000,000: p95 <= 50 ms",
        _p95_at_million("in_process", "nearby_text", limit=50),
    ),
    Target(
        "text_rare_p95",
        "… for a term rare near the point (empty answers): p95 <= 50 ms",
        _p95_at_million("in_process", "nearby_text", "by_outcome", "empty", limit=50),
    ),
    Target(
        "counts_facets",
        "total and facets in-process at 1,000,000: p95 <= 20 ms (or bounded estimates)",
        _counts,
    ),
    Target(
        "load_100k",
        "load at 100,000 (16 clients, 2 workers): >= 300 req/s, p95 <= 100 ms, 0 errors",
        _load_at(100_000, 300, 100),
    ),
    Target("load_1m", "load at 1,000,000: >= 150 req/s", _load_at(1_000_000, 150, None)),
    Target("healthz", "/healthz during the load: median <= 5 ms", _healthz),
    Target("growth", "growth: nearby HTTP median at 1,000,000 <= 1.5x at 100,000", _growth),
    Target("in_process_vs_brute", "in-process search at 1,000,000 >= 100x brute force", _brute),
    Target("import", "import >= 5,000 offers/s at 100,000 and 1,000,000", _import),
    Target("memory", "server peak memory at 1,000,000 <= 1 GiB", _memory),
    Target("errors", "zero errors under load", _errors),
)
