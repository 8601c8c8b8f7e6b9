"""The embedded backend against Elasticsearch in the same run, and the server's hot
frames under load (``--profile``): the parts of the report that read across backends
and sizes.

``compare_backends`` takes the figures of both backends at 100,000 offers (nearby and
nearby + text over HTTP, the load test, the import), ``comparison_target`` turns them
into the target row "Elasticsearch in the same run", and ``render_comparison`` into a
table saying which is faster by how much.
"""

from __future__ import annotations

from typing import Any

from .report import MET, NOT_MEASURED, _ms, _number, dig

COMPARED_SIZE = 100_000
#: figure -> (path in a size's figures, unit, whether more is better)
COMPARED: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "nearby query, HTTP median": (("http", "nearby", "median_ms"), "ms", False),
    "nearby + text, HTTP median": (("http", "nearby_text", "median_ms"), "ms", False),
    "load: requests/s": (("load", "requests_per_second"), "req/s", True),
    "load: p95": (("load", "latency", "p95_ms"), "ms", False),
    "import": (("import", "offers_per_second"), "offers/s", True),
}


def _figures(results: dict[str, Any], backend: str) -> dict[str, Any] | None:
    figures = dig(results, backend, str(COMPARED_SIZE))
    return None if not figures or "error" in figures else figures


def compare_backends(results: dict[str, Any]) -> dict[str, Any] | None:
    """The compared figures of both backends at 100,000 offers, with how many times the
    embedded backend is better (above 1) or worse (below 1); ``None`` without both."""
    embedded, elastic = _figures(results, "embedded"), _figures(results, "elasticsearch")
    if embedded is None or elastic is None:
        return None
    rows = {}
    for name, (path, unit, more_is_better) in COMPARED.items():
        a, b = dig(embedded, *path), dig(elastic, *path)
        advantage = None
        if a and b:
            advantage = round(a / b if more_is_better else b / a, 3)
        rows[name] = {
            "unit": unit,
            "embedded": a,
            "elasticsearch": b,
            "embedded_advantage": advantage,
        }
    return {"offers": COMPARED_SIZE, "figures": rows}


def _verdict(advantage: float | None) -> str:
    if advantage is None:
        return "–"
    if advantage >= 1:
        return f"embedded {advantage:,.1f}x better"
    return f"Elasticsearch {1 / advantage:,.1f}x better"


def _value(value: float | None, unit: str) -> str:
    return _ms(value) if unit == "ms" else _number(value)


def comparison_target(results: dict[str, Any]) -> dict[str, Any]:
    """The target row "Elasticsearch in the same run at 100,000": met when both backends
    ran at that size; the figures say who is faster at what."""
    row = {
        "backend": "embedded vs elasticsearch",
        "key": "elasticsearch_compared",
        "target": "Elasticsearch 7.10.2 in the same run at 100,000: nearby HTTP, load, import",
    }
    compared = compare_backends(results)
    if compared is None:
        detail = "needs both backends at 100,000 offers (--start-es or --es-url)"
        return {**row, "status": NOT_MEASURED, "value": None, "detail": detail}
    parts = [
        f"{name}: {_verdict(figure['embedded_advantage'])}"
        for name, figure in compared["figures"].items()
    ]
    return {**row, "status": MET, "value": None, "detail": "; ".join(parts)}


def render_comparison(compared: dict[str, Any] | None) -> list[str]:
    """The markdown table of ``compare_backends`` (nothing without it)."""
    if not compared:
        return []
    lines = [
        "",
        f"**Embedded against Elasticsearch at {compared['offers']:,} offers**",
        "",
        "| figure | embedded | Elasticsearch | comparison |",
        "|---|---:|---:|---|",
    ]
    for name, figure in compared["figures"].items():
        unit = figure["unit"]
        a, b = (_value(figure[k], unit) for k in ("embedded", "elasticsearch"))
        lines.append(
            f"| {name} ({unit}) | {a} | {b} | {_verdict(figure['embedded_advantage'])} |"
        )
    return lines


def render_profiles(results: dict[str, Any], count: int = 10) -> list[str]:
    """For each size profiled with py-spy under load, the frames with the largest
    shares of the server workers' busy samples."""
    lines: list[str] = []
    for backend, per_size in results.items():
        for size in sorted(per_size, key=int):
            top = dig(per_size[size], "profiles", "load_top")
            if top and top.get("error"):
                lines += ["", f"py-spy under load, {backend} at {int(size):,}: {top['error']}"]
                continue
            if not top or not top.get("samples"):
                continue
            lines += [
                "",
                f"**Server under load, {backend} at {int(size):,} offers** (py-spy, "
                f"{top['samples']:,} samples of the workers, "
                f"{_number(top.get('requests_per_second'))} req/s while recorded; "
                f"profile: `{dig(per_size[size], 'profiles', 'load')}`)",
                "",
                "| frame (running) | share | frame (on the stack, roots left out) | share |",
                "|---|---:|---|---:|",
            ]
            own, total = top["self"][:count], top["total"][:count]
            for i in range(max(len(own), len(total))):
                a = own[i] if i < len(own) else ["", None]
                b = total[i] if i < len(total) else ["", None]
                cells = [
                    f"`{a[0]}`" if a[0] else "",
                    f"{a[1]:.1%}" if a[1] is not None else "",
                    f"`{b[0]}`" if b[0] else "",
                    f"{b[1]:.1%}" if b[1] is not None else "",
                ]
                lines.append("| " + " | ".join(cells) + " |")
    return lines
