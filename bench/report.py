"""The report of a run: the machine, the ratios, the targets, a markdown table, JSON.

``build_report`` turns the raw results (backend -> size -> figures) into the report
written to ``--out``; ``render_markdown`` prints it. The ratios and the met/not met of
every target are computed here, from the figures of the same run.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

MET, NOT_MET, NOT_MEASURED = "met", "not met", "not measured"
GIB = 1024**3
MIB = 1024**2


# -- the machine ------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _git_state() -> dict[str, Any]:
    """The commit of the code under test and the files changed since (the numbers
    belong to that working tree, not to the commit alone)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "uncommitted": []}
    if commit.returncode != 0:
        return {"commit": None, "uncommitted": []}
    changed = [line.strip() for line in status.stdout.splitlines() if line.strip()]
    return {"commit": commit.stdout.strip(), "uncommitted": changed[:100]}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, Python, OS, SQLite, library versions, date, commit."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": _memory_total(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _version(name)
            for name in ("strawberry-graphql", "starlette", "uvicorn", "httpx", "sqlalchemy")
        },
        **_git_state(),
    }


# -- figures, ratios, targets -------------------------------------------------------------


def dig(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...`` or ``None`` where a step is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


#: latency figures compared across sizes: name -> path in a size's results
LATENCIES: dict[str, tuple[str, ...]] = {
    "floor_http": ("http", "floor"),
    "nearby_http": ("http", "nearby"),
    "nearby_text_http": ("http", "nearby_text"),
    "results_page_http": ("http", "results_page"),
    "nearby_in_process": ("in_process", "nearby"),
    "nearby_text_in_process": ("in_process", "nearby_text"),
    "counts_facets_in_process": ("in_process", "counts_facets"),
    "counts_facets_text_in_process": ("in_process", "counts_facets_text"),
    "brute_force": ("brute_force", "nearby"),
    "healthz_under_load": ("load", "healthz"),
}


def size_ratios(figures: dict[str, Any]) -> dict[str, float | None]:
    """The ratios within one size (medians)."""
    floor = dig(figures, "http", "floor", "median_ms")
    return {
        "nearby_http_over_floor": _ratio(dig(figures, "http", "nearby", "median_ms"), floor),
        "nearby_text_http_over_floor": _ratio(
            dig(figures, "http", "nearby_text", "median_ms"), floor
        ),
        "results_page_over_graphql": _ratio(
            dig(figures, "http", "results_page", "median_ms"),
            dig(figures, "http", "results_page_graphql", "median_ms"),
        ),
        "brute_force_over_in_process": _ratio(
            dig(figures, "brute_force", "nearby", "median_ms"),
            dig(figures, "in_process", "nearby", "median_ms"),
        ),
    }


def growth(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """For each latency figure, median at the larger size over median at the smaller,
    for neighbouring sizes (``"100000->1000000"``)."""
    sizes = sorted(int(s) for s in results)
    out: dict[str, dict[str, float | None]] = {}
    for name, path in LATENCIES.items():
        out[name] = {
            f"{small}->{large}": _ratio(
                dig(results, str(large), *path, "median_ms"),
                dig(results, str(small), *path, "median_ms"),
            )
            for small, large in zip(sizes, sizes[1:], strict=False)
        }
    return out


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    check: Callable[[dict[str, Any]], tuple[str, Any, str]]


def _at(results: dict[str, Any], size: int) -> dict[str, Any] | None:
    figures = results.get(str(size))
    return None if figures is None or "error" in figures else figures


def _nearby_vs_floor(results: dict[str, Any]) -> tuple[str, Any, str]:
    figures = _at(results, 100_000)
    if figures is None:
        return NOT_MEASURED, None, "needs 100,000 offers"
    ratio = size_ratios(figures)["nearby_http_over_floor"]
    if ratio is None:
        return NOT_MEASURED, None, "a median is missing"
    floor = dig(figures, "http", "floor", "median_ms")
    nearby = dig(figures, "http", "nearby", "median_ms")
    return (
        MET if ratio <= 3 else NOT_MET,
        ratio,
        f"{nearby:.2f} ms / {floor:.2f} ms = {ratio:.2f}x (needed <= 3x)",
    )


def _growth(results: dict[str, Any]) -> tuple[str, Any, str]:
    small, large = _at(results, 100_000), _at(results, 1_000_000)
    if small is None or large is None:
        return NOT_MEASURED, None, "needs 100,000 and 1,000,000 offers"
    a = dig(large, "http", "nearby", "median_ms")
    b = dig(small, "http", "nearby", "median_ms")
    ratio = _ratio(a, b)
    if ratio is None:
        return NOT_MEASURED, None, "a median is missing"
    return (
        MET if ratio <= 1.5 else NOT_MET,
        ratio,
        f"{a:.2f} ms / {b:.2f} ms = {ratio:.2f}x (needed <= 1.5x)",
    )


def _brute(results: dict[str, Any]) -> tuple[str, Any, str]:
    figures = _at(results, 1_000_000)
    if figures is None:
        return NOT_MEASURED, None, "needs 1,000,000 offers"
    ratio = size_ratios(figures)["brute_force_over_in_process"]
    if ratio is None:
        return NOT_MEASURED, None, "a median is missing"
    brute = dig(figures, "brute_force", "nearby", "median_ms")
    search = dig(figures, "in_process", "nearby", "median_ms")
    return (
        MET if ratio >= 100 else NOT_MET,
        ratio,
        f"{brute:.1f} ms / {search:.3f} ms = {ratio:.0f}x (needed >= 100x)",
    )


def _memory(results: dict[str, Any]) -> tuple[str, Any, str]:
    figures = _at(results, 1_000_000)
    peak = dig(figures, "server_memory", "peak_rss_bytes") if figures else None
    if peak is None:
        return NOT_MEASURED, None, "needs 1,000,000 offers"
    return (
        MET if peak <= GIB else NOT_MET,
        peak,
        f"{peak / MIB:,.0f} MiB peak (VmHWM, 1 worker; needed <= 1,024 MiB)",
    )


def _errors(results: dict[str, Any]) -> tuple[str, Any, str]:
    counts = {
        int(size): dig(figures, "load", "errors")
        for size, figures in results.items()
        if "error" not in figures and dig(figures, "load", "errors") is not None
    }
    if not counts:
        return NOT_MEASURED, None, "no load test ran"
    total = sum(counts.values())
    each = ", ".join(f"{n} at {size:,}" for size, n in sorted(counts.items()))
    return MET if total == 0 else NOT_MET, total, f"{each} (needed 0)"




def evaluate_targets(backend: str, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of ``targets.TARGETS`` for one backend's results (size -> figures)."""
    from .targets import TARGETS

    rows = []
    for target in TARGETS:
        status, value, detail = target.check(results)
        rows.append(
            {
                "backend": backend,
                "key": target.key,
                "target": target.text,
                "status": status,
                "value": value,
                "detail": detail,
            }
        )
    return rows


def build_report(
    machine: dict[str, Any], config: dict[str, Any], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The whole report: ``results`` is backend -> size (as text) -> figures."""
    for per_size in results.values():
        for figures in per_size.values():
            if "error" not in figures:
                figures["ratios"] = size_ratios(figures)
    from .comparison import compare_backends, comparison_target

    return {
        "machine": machine,
        "config": config,
        "results": results,
        "growth": {backend: growth(per_size) for backend, per_size in results.items()},
        "targets": [
            row
            for backend, per_size in results.items()
            for row in evaluate_targets(backend, per_size)
        ]
        + [comparison_target(results)],
        "comparison": compare_backends(results),
    }


def write_json(report: dict[str, Any], out: Path) -> Path:
    """Write ``report`` to ``out/bench-<date>.json`` and ``out/latest.json``."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = report["machine"]["date"].replace(":", "").replace("-", "")[:15]
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path = out / f"bench-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(text, encoding="utf-8")
    return path


# -- markdown ---------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _latency(stats: dict[str, Any] | None) -> str:
    if not stats or not stats.get("n"):
        return "–"
    return f"{_ms(stats['min_ms'])} / {_ms(stats['median_ms'])} / {_ms(stats['p95_ms'])}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"


def _number(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.0f}{unit}"


ROWS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("floor `{ __typename }`, HTTP (ms min / median / p95)",
     lambda f: _latency(dig(f, "http", "floor"))),
    ("nearby query, HTTP (ms)", lambda f: _latency(dig(f, "http", "nearby"))),
    ("nearby + text, HTTP (ms)", lambda f: _latency(dig(f, "http", "nearby_text"))),
    ("… of which answers with offers (ms)",
     lambda f: _latency(dig(f, "http", "nearby_text", "by_outcome", "with_hits"))),
    ("… of which empty answers (ms)",
     lambda f: _latency(dig(f, "http", "nearby_text", "by_outcome", "empty"))),
    ("results page, HTTP (ms)", lambda f: _latency(dig(f, "http", "results_page"))),
    ("… the same search, GraphQL over HTTP (ms)",
     lambda f: _latency(dig(f, "http", "results_page_graphql"))),
    ("results page / GraphQL (medians; target ≤ 3x)",
     lambda f: _times(dig(f, "ratios", "results_page_over_graphql"))),
    ("nearby search, in-process (ms)", lambda f: _latency(dig(f, "in_process", "nearby"))),
    ("nearby + text, in-process (ms)", lambda f: _latency(dig(f, "in_process", "nearby_text"))),
    ("… of which answers with offers (ms)",
     lambda f: _latency(dig(f, "in_process", "nearby_text", "by_outcome", "with_hits"))),
    ("… of which empty answers: term rare near the point (ms)",
     lambda f: _latency(dig(f, "in_process", "nearby_text", "by_outcome", "empty"))),
    ("nearby with total + facets, in-process (ms)",
     lambda f: _latency(dig(f, "in_process", "counts_facets"))),
    ("nearby + text with total + facets, in-process (ms)",
     lambda f: _latency(dig(f, "in_process", "counts_facets_text"))),
    ("… answers with bounded (estimated) counts (nearby / + text)",
     lambda f: " / ".join(
         _bounded(dig(f, "in_process", k, "bounded"))
         for k in ("counts_facets", "counts_facets_text")
     )),
    ("brute-force scan (ms)", lambda f: _latency(dig(f, "brute_force", "nearby"))),
    ("nearby HTTP / floor (medians)", lambda f: _times(dig(f, "ratios", "nearby_http_over_floor"))),
    ("brute force / in-process (medians)",
     lambda f: _times(dig(f, "ratios", "brute_force_over_in_process"))),
    ("pages with 20 offers / empty (nearby, HTTP)",
     lambda f: _shares(dig(f, "http", "nearby", "hits"))),
    ("pages with 20 offers / empty (+ text, HTTP)",
     lambda f: _shares(dig(f, "http", "nearby_text", "hits"))),
    ("brute force and search agree (first pages)", lambda f: _agree(dig(f, "brute_force"))),
    ("import through CSV importer (offers/s)",
     lambda f: _number(dig(f, "import", "offers_per_second"))),
    ("import time (s)", lambda f: _number(dig(f, "import", "seconds"), " s")),
    ("server peak memory, 1 worker (MiB, VmHWM)",
     lambda f: _mib(dig(f, "server_memory", "peak_rss_bytes"))),
    ("load: 16 clients, 2 workers (requests/s)",
     lambda f: _number(dig(f, "load", "requests_per_second"))),
    ("load: latency (ms min / median / p95)", lambda f: _latency(dig(f, "load", "latency"))),
    ("load: errors (of requests)", lambda f: _errors_cell(dig(f, "load"))),
    ("`/healthz` during the load (ms min / median / p95)",
     lambda f: _latency(dig(f, "load", "healthz"))),
    ("`/healthz` during the load: failed (of checks)",
     lambda f: _checks_cell(dig(f, "load", "healthz"))),
    ("load: peak memory, 2 workers (MiB, sum)",
     lambda f: _mib(dig(f, "load", "memory", "peak_rss_bytes"))),
    ("server startup, 1 worker (s)", lambda f: _seconds(dig(f, "server_startup_seconds"))),
    ("other processes' CPU during HTTP / in-process / load (cores)", lambda f: _other_cpu(f)),
)  # fmt: skip


def _other_cpu(figures: dict[str, Any]) -> str:
    values = [dig(figures, part, "cpu", "other_cores") for part in ("http", "in_process", "load")]
    return " / ".join("–" if v is None else f"{v:.2f}" for v in values)


def _shares(hits: dict[str, Any] | None) -> str:
    if not hits:
        return "–"
    return f"{hits['full_page_share']:.0%} / {hits['empty_share']:.0%}"


def _agree(brute: dict[str, Any] | None) -> str:
    if not brute or "agreement" not in brute:
        return "–"
    same, total = brute["agreement"]["same"], brute["agreement"]["queries"]
    return f"{same} of {total}"


def _errors_cell(load: dict[str, Any] | None) -> str:
    if not load:
        return "–"
    return f"{load['errors']} of {load['requests']:,}"


def _bounded(bounded: dict[str, Any] | None) -> str:
    if not bounded or not bounded.get("answers"):
        return "–"
    beyond = f" (beyond {bounded['bound']:,})" if bounded.get("bound") else ""
    return f"{bounded['share']:.0%}{beyond}"


def _checks_cell(healthz: dict[str, Any] | None) -> str:
    if not healthz:
        return "–"
    return f"{healthz['errors']} of {healthz['checks']:,}"


def _mib(value: int | None) -> str:
    return "–" if value is None else f"{value / MIB:,.0f}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    """The tables of ``report``: one per backend (figures by size), then the targets."""
    machine = report["machine"]
    memory = machine.get("memory_bytes")
    lines = [
        f"Benchmark of {machine['date']} on {machine['cores']} cores ({machine['cpu_model']}"
        + (f", {memory / GIB:.0f} GiB" if memory else "")
        + f"), {machine['python']}, SQLite {machine['sqlite']}, {machine['os']}",
        "",
    ]
    for backend, per_size in report["results"].items():
        sizes = sorted(per_size, key=int)
        lines += [
            f"**{backend}**",
            "",
            "| figure | " + " | ".join(f"{int(s):,} offers" for s in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
        ]
        failed = {s: per_size[s]["error"] for s in sizes if "error" in per_size[s]}
        for label, cell in ROWS:
            cells = ["failed" if s in failed else cell(per_size[s]) for s in sizes]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        for size, error in failed.items():
            lines.append(f"\n{backend} at {int(size):,} failed: {error}")
        lines.append("")
    lines += ["**Targets**", "", "| target | backend | result | figures |", "|---|---|---|---|"]
    for row in report["targets"]:
        lines.append(f"| {row['target']} | {row['backend']} | {row['status']} | {row['detail']} |")
    from .comparison import render_comparison, render_profiles

    lines += render_comparison(report.get("comparison"))
    lines += render_profiles(report["results"])
    if report.get("judged"):
        from .judged import render_judged

        lines += ["", *render_judged(report["judged"])]
    return "\n".join(lines) + "\n"
