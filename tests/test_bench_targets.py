"""The targets of issue 13 as rows of the bench report, checked on made-up figures: met,
not met, not measured, and counts that are bounded estimates. (The figures of a real
run come from ``directory bench``; tests/test_bench.py runs it.)"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from directory_bench.comparison import compare_backends, comparison_target
from directory_bench.counts import bounded_summary, is_bounded
from directory_bench.report import build_report, render_markdown
from directory_bench.targets import TARGETS

MACHINE = {"date": "2026-11-27T00:00:00+00:00", "cores": 2, "cpu_model": "x", "python": "3",
           "sqlite": "3", "os": "linux"}  # fmt: skip


def latency(median: float, p95: float, n: int = 300) -> dict[str, Any]:
    return {"n": n, "min_ms": median / 2, "median_ms": median, "p95_ms": p95,
            "max_ms": p95 * 2, "mean_ms": median}  # fmt: skip


def counts(p95: float, bounded: int = 0, bound: int | None = None) -> dict[str, Any]:
    share = round(bounded / 300, 3)
    summary = {"answers": 300, "bounded": bounded, "share": share, "bound": bound}
    return {**latency(p95 / 2, p95), "bounded": summary}


def figures(offers: int, **changes: Any) -> dict[str, Any]:
    """Figures of one size that meet every target."""
    data: dict[str, Any] = {
        "offers": offers,
        "http": {"floor": latency(1.0, 1.2), "nearby": latency(2.5, 4.0),
                 "nearby_text": latency(3.0, 5.0)},
        "in_process": {
            "nearby": latency(0.5, 1.0),
            "nearby_text": {**latency(2.0, 30.0),
                            "by_outcome": {"with_hits": latency(1.0, 10.0),
                                           "empty": latency(5.0, 40.0)}},
            "counts_facets": counts(12.0),
            "counts_facets_text": counts(15.0),
        },
        "brute_force": {"nearby": latency(100.0, 150.0)},
        "import": {"offers_per_second": 6000.0, "seconds": offers / 6000},
        "server_memory": {"peak_rss_bytes": 600 * 1024**2},
        "load": {"requests": 2000, "requests_per_second": 400.0, "errors": 0,
                 "latency": latency(30.0, 80.0),
                 "healthz": {**latency(2.0, 6.0), "checks": 400, "errors": 0}},
    }  # fmt: skip
    for path, value in changes.items():
        keys = path.split("__")
        part = data
        for key in keys[:-1]:
            part = part[key]
        part[keys[-1]] = value
    return data


def statuses(results: dict[str, Any]) -> dict[str, str]:
    report = build_report(MACHINE, {}, {"embedded": copy.deepcopy(results)})
    return {row["key"]: row["status"] for row in report["targets"]}


def both(**million: Any) -> dict[str, Any]:
    return {"100000": figures(100_000), "1000000": figures(1_000_000, **million)}


def test_every_target_met_on_figures_that_meet_them():
    found = statuses(both())
    assert found.pop("elasticsearch_compared") == "not measured"  # no Elasticsearch here
    assert set(found) == {t.key for t in TARGETS}
    assert set(found.values()) == {"met"}, found


def test_the_new_targets_need_their_sizes():
    found = statuses({"10000": figures(10_000)})
    for key in ("text_p95", "text_rare_p95", "counts_facets", "load_100k", "load_1m", "import"):
        assert found[key] == "not measured", key
    assert found["healthz"] == "met"  # checked at every size that ran a load test


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"in_process__nearby_text__p95_ms": 51.0}, "text_p95"),
        ({"in_process__nearby_text__by_outcome__empty__p95_ms": 70.0}, "text_rare_p95"),
        ({"in_process__counts_facets_text": counts(21.0)}, "counts_facets"),
        ({"in_process__counts_facets": counts(200.0, bounded=30, bound=10_000)},
         "counts_facets"),
        ({"load__requests_per_second": 149.0}, "load_1m"),
        ({"load__healthz__median_ms": 5.5}, "healthz"),
        ({"load__healthz__errors": 1}, "healthz"),
        ({"import__offers_per_second": 4999.0}, "import"),
    ],
)  # fmt: skip
def test_a_missed_figure_at_one_million_is_not_met(change, key):
    found = statuses(both(**change))
    assert found[key] == "not met"
    assert [k for k, v in found.items() if v == "not met"] == [key]


@pytest.mark.parametrize(
    "change",
    [{"load__requests_per_second": 299.0}, {"load__latency": latency(30.0, 101.0)},
     {"load__errors": 1}],
)  # fmt: skip
def test_the_load_target_at_100k_wants_rate_p95_and_no_errors(change):
    results = both()
    results["100000"] = figures(100_000, **change)
    found = statuses(results)
    assert found["load_100k"] == "not met"
    assert found["load_1m"] == "met"


def test_bounded_counts_within_the_time_are_met_and_say_the_bound():
    results = both(in_process__counts_facets=counts(8.0, bounded=120, bound=10_000))
    report = build_report(MACHINE, {}, {"embedded": results})
    row = next(r for r in report["targets"] if r["key"] == "counts_facets")
    assert row["status"] == "met (bounded beyond 10,000)"
    assert "120 of 600 answers bounded estimates" in row["detail"]
    text = render_markdown(report)
    assert "| met (bounded beyond 10,000) |" in text
    assert "| … answers with bounded (estimated) counts (nearby / + text) |" in text
    assert "40% (beyond 10,000) / 0%" in text


def test_empty_text_answers_missing_are_not_measured():
    results = both()
    del results["1000000"]["in_process"]["nearby_text"]["by_outcome"]
    assert statuses(results)["text_rare_p95"] == "not measured"


def test_import_names_its_sizes_and_waits_for_both():
    results = {"10000": figures(10_000, import__offers_per_second=100.0),
               "100000": figures(100_000)}  # fmt: skip
    report = build_report(MACHINE, {}, {"embedded": results})
    row = next(r for r in report["targets"] if r["key"] == "import")
    assert row["status"] == "not measured"  # 1,000,000 not run; 10,000 does not count
    assert row["target"] == "import >= 5,000 offers/s at 100,000 and 1,000,000"
    assert "not run: 1,000,000" in row["detail"] and "100/s at 10,000" in row["detail"]


def test_the_report_prints_every_new_row():
    text = render_markdown(build_report(MACHINE, {}, {"embedded": both()}))
    for label in (
        "| … of which empty answers: term rare near the point (ms) | 2.50 / 5.00 / 40.0 |",
        "| nearby with total + facets, in-process (ms) |",
        "| `/healthz` during the load (ms min / median / p95) | 1.00 / 2.00 / 6.00 |",
        "| `/healthz` during the load: failed (of checks) | 0 of 400 |",
    ):
        assert label in text
    for target in TARGETS:
        assert f"| {target.text} | embedded |" in text


def test_embedded_is_compared_with_elasticsearch_at_100k():
    embedded = both()
    elastic = {"100000": figures(100_000, http__nearby=latency(10.0, 20.0),
                                 load__requests_per_second=100.0,
                                 import__offers_per_second=12_000.0)}  # fmt: skip
    results = {"embedded": embedded, "elasticsearch": elastic}
    compared = compare_backends(results)
    assert compared["figures"]["nearby query, HTTP median"]["embedded_advantage"] == 4.0
    assert compared["figures"]["load: requests/s"]["embedded_advantage"] == 4.0
    assert compared["figures"]["import"]["embedded_advantage"] == 0.5
    row = comparison_target(results)
    assert row["status"] == "met"
    assert "nearby query, HTTP median: embedded 4.0x better" in row["detail"]
    text = render_markdown(build_report(MACHINE, {}, results))
    assert "**Embedded against Elasticsearch at 100,000 offers**" in text
    assert "| import (offers/s) | 6,000 | 12,000 | Elasticsearch 2.0x better |" in text
    failed = {**results, "elasticsearch": {"100000": {"offers": 100_000, "error": "boom"}}}
    assert comparison_target(failed)["status"] == "not measured"


@dataclass
class Answer:
    total: int
    facets: dict = field(default_factory=dict)


@dataclass
class Estimated(Answer):
    estimated: bool = False
    bound: int | None = None


@dataclass
class Exactness(Answer):
    total_exact: bool = True
    facets_exact: bool = True


@dataclass
class Backend:
    count_bound: int = 1000


def test_bounded_answers_are_read_from_the_result_flag_with_exact_as_default():
    assert not is_bounded(Answer(5))  # a result without a flag is exact
    assert not is_bounded(Estimated(5)) and is_bounded(Estimated(50_000, estimated=True))
    assert not is_bounded(Exactness(5)) and is_bounded(Exactness(50_000, total_exact=False))
    assert is_bounded(Exactness(50_000, facets_exact=False))
    summary = bounded_summary(
        [Answer(3), Estimated(20_000, estimated=True, bound=10_000), Estimated(7)]
    )
    assert summary == {"answers": 3, "bounded": 1, "share": 0.333, "bound": 10_000,
                       "bound_source": "result"}  # fmt: skip
    lower_bounds = [Exactness(1_200, total_exact=False), Exactness(1_100, facets_exact=False)]
    summary = bounded_summary(lower_bounds)
    assert summary["bound"] == 1_100 and summary["bound_source"] == "smallest bounded total"
    summary = bounded_summary(lower_bounds, Backend())  # the embedded backend's count_bound
    assert summary["bound"] == 1000 and summary["bound_source"] == "backend"
    summary = bounded_summary([Answer(1)], Backend())
    assert summary["bounded"] == 0 and summary["bound"] is None
