"""The benchmark harness works: ``directory bench --quick`` at 10,000 offers writes a
report with every figure and renders the table. No timing is asserted here; the figures
of a real run are in docs/benchmarks.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from directory_bench.measure import percentile, summarize
from directory_bench.report import build_report, render_markdown
from directory_bench.server import group_members
from directory_bench.targets import TARGETS
from directory_cli.main import cli

LATENCY = ("n", "min_ms", "median_ms", "p95_ms", "max_ms", "mean_ms")
FIGURES = {
    ("http", "floor"): LATENCY,
    ("http", "nearby"): LATENCY,
    ("http", "nearby_text"): LATENCY,
    ("http", "results_page"): LATENCY,
    ("http", "results_page_graphql"): LATENCY,
    ("in_process", "nearby"): LATENCY,
    ("in_process", "nearby_text"): LATENCY,
    ("in_process", "counts_facets"): LATENCY,
    ("in_process", "counts_facets_text"): LATENCY,
    ("in_process", "counts_facets", "bounded"): ("answers", "bounded", "share"),
    ("in_process", "counts_facets_text", "bounded"): ("answers", "bounded", "share"),
    ("brute_force", "nearby"): LATENCY,
    ("brute_force",): ("offers_scanned", "load_seconds"),
    ("import",): ("seconds", "offers_per_second", "store_offers", "index_documents"),
    ("server_memory",): ("peak_rss_bytes", "rss_bytes", "rss_anon_bytes", "rss_file_bytes"),
    ("load",): ("requests", "seconds", "requests_per_second", "errors", "non_200"),
    ("load", "latency"): LATENCY,
    ("load", "memory"): ("peak_rss_bytes",),
    ("load", "healthz"): (*LATENCY, "checks", "errors", "interval_ms"),
    ("ratios",): (
        "nearby_http_over_floor",
        "brute_force_over_in_process",
        "results_page_over_graphql",
    ),
    ("http", "nearby_text", "hits"): ("median", "empty_share", "full_page_share"),
    ("http", "nearby_text", "by_outcome", "with_hits"): LATENCY,
    ("http", "cpu"): ("busy_cores", "benchmark_cores", "other_cores"),
    ("in_process", "cpu"): ("busy_cores", "benchmark_cores", "other_cores"),
    ("load", "cpu"): ("busy_cores", "benchmark_cores", "other_cores"),
}


@dataclass
class QuickRun:
    report: dict
    output: str
    root: Path  # the run's working directory


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    out = tmp_path_factory.mktemp("bench-results")
    result = CliRunner().invoke(
        cli,
        ["bench", "--quick", "--repeat", "10", "--out", str(out)],
        env={"DIRECTORY_BENCH_ES_URL": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    root = re.search(r"working in (\S+)", result.output)
    assert root, result.output
    return QuickRun(report, result.output, Path(root.group(1)))


@pytest.mark.slow
def test_quick_run_reports_every_figure(quick_run):
    report = quick_run.report
    figures = report["results"]["embedded"]["10000"]
    assert "error" not in figures, figures.get("error")
    for path, names in FIGURES.items():
        part = figures
        for key in path:
            part = part[key]
        for name in names:
            assert isinstance(part[name], int | float), (path, name, part.get(name))
    assert figures["import"]["store_offers"] == figures["import"]["index_documents"] == 10_000
    assert figures["dataset"]["postcode_only"] > 0  # some rows are geocoded by postcode
    assert set(figures["dataset"]["cities"]) == {"Dortmund", "Bochum"}
    assert len(figures["dataset"]["kinds"]) == 6
    assert (
        figures["brute_force"]["agreement"]["same"]
        == figures["brute_force"]["agreement"]["queries"]
    )
    assert figures["load"]["errors"] == 0, figures["load"]["error_examples"]
    healthz = figures["load"]["healthz"]
    assert healthz["checks"] >= 5 and healthz["errors"] == 0, healthz["error_examples"]
    counted = figures["in_process"]["counts_facets"]["bounded"]["answers"]
    assert counted == figures["in_process"]["counts_facets"]["n"]


@pytest.mark.slow
def test_quick_run_records_the_machine_and_every_target(quick_run):
    report = quick_run.report
    machine = report["machine"]
    for name in ("cores", "cpu_model", "python", "os", "date", "sqlite"):
        assert machine[name]
    keys = [t.key for t in TARGETS] + ["elasticsearch_compared"]
    assert [t["key"] for t in report["targets"]] == keys
    statuses = {t["key"]: t["status"] for t in report["targets"]}
    assert statuses["growth"] == "not measured"  # needs 100,000 and 1,000,000
    assert statuses["import"] == "not measured"  # at 100,000 and 1,000,000
    assert statuses["healthz"] in ("met", "not met")  # at every size
    assert statuses["errors"] == "met"
    assert statuses["elasticsearch_compared"] == "not measured"


@pytest.mark.slow
def test_quick_run_prints_the_table_and_cleans_up(quick_run):
    assert render_markdown(quick_run.report) in quick_run.output
    assert "| figure | 10,000 offers |" in quick_run.output
    assert "| nearby query, HTTP (ms) |" in quick_run.output
    assert "**Judged queries**" in quick_run.output
    judged = quick_run.report["judged"]["after"]["groups"]
    assert judged["all"]["queries"] >= 150 and judged["all"]["hit_at_10"] >= 0.95
    for target in TARGETS:
        assert target.text in quick_run.output
    assert not quick_run.root.exists()  # the run's store and CSV files are gone
    assert not _processes_mentioning(str(quick_run.root))  # and its servers stopped


def test_summaries():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.95) == 5.0
    stats = summarize([0.001, 0.002, 0.003])
    assert stats["n"] == 3 and stats["median_ms"] == 2.0 and stats["min_ms"] == 1.0


def test_targets_need_their_sizes():
    report = build_report({"date": "x"}, {}, {"embedded": {"10000": {"offers": 10000}}})
    assert {t["status"] for t in report["targets"]} == {"not measured"}


def test_a_failed_size_is_shown_as_failed():
    report = build_report(
        {"date": "2026-01-01T00:00:00+00:00", "cores": 2, "cpu_model": "x", "python": "3",
         "sqlite": "3", "os": "linux"},
        {},
        {"embedded": {"10000": {"offers": 10000, "error": "BenchError: boom"}}},
    )  # fmt: skip
    text = render_markdown(report)
    assert "| failed |" in text and "boom" in text


def test_no_process_group_is_left_by_a_stopped_server():
    assert group_members(-12345) == []
