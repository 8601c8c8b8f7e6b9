"""One benchmark run: every backend at every size, side by side, then the report.

For each backend and size N, in a fresh temporary directory:

1. write the run's instance file and N offers as CSV files, and import them with
   ``run_import`` into a fresh store and index (timed: import throughput);
2. start ``directory serve`` (1 worker) and measure over HTTP the floor
   (``{ __typename }``), the nearby query and the nearby query with a text term; then
   read the server's peak memory and stop it;
3. open the directory in this process and time the same searches through
   ``Directory.search``, the same searches with the total and the facets (as the
   results page asks), and a brute-force scan of all offers;
4. start ``directory serve --workers 2`` and send the load test (16 clients), while a
   separate process polls ``/healthz``;
5. delete the directory (unless ``keep``).

With ``start_es`` the run first starts a one-node Elasticsearch 7.10.2 of its own with
the project's script (``es_server``) and stops it at the end.

A size that fails is reported as failed and the run goes on; Ctrl-C (or SIGTERM) stops
the servers, writes what was measured so far and ends the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from directory_core.categories import default_categories
from directory_core.instance import load_instance

from . import counts, dataset, measure, web
from .errors import BenchError
from .healthz import DEFAULT_INTERVAL, HealthPoller
from .judged import judged_figures
from .report import build_report, machine_info, render_markdown, write_json
from .server import ServerProcess

BACKENDS = ("embedded", "elasticsearch")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
ES_MAX_DEFAULT_SIZE = 100_000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# seeds of the query lists: measured, text, warm-up and load queries differ
_SEED_NEARBY, _SEED_TEXT, _SEED_WARMUP, _SEED_LOAD = 101, 202, 303, 404


@dataclass
class BenchConfig:
    """What to run. ``quick()`` gives the reduced smoke-test run."""

    sizes: list[int] = field(default_factory=lambda: list(DEFAULT_SIZES))
    backends: list[str] = field(default_factory=lambda: ["embedded"])
    es_url: str | None = None
    start_es: bool = False  # start a one-node Elasticsearch with .ci/elasticsearch.sh
    es_sizes: list[int] | None = None  # None: the sizes up to 100,000
    repeat: int = 300  # measured requests per latency figure
    warmup: int = 30  # uncounted requests before each latency figure
    seconds: float = 180.0  # time budget of each latency figure
    brute_seconds: float = 60.0  # time budget of the brute-force figure
    load_requests: int = 2000
    load_clients: int = 16
    load_workers: int = 2
    load_seconds: float = 600.0
    healthz_interval: float = DEFAULT_INTERVAL  # seconds between /healthz checks under load
    out: Path = Path("bench-results")
    seed: int = 1
    quick: bool = False
    keep: bool = False  # keep the run's directories (store, CSV files, server logs)
    profile: bool = False  # also write profiles of the search, the server and the import
    workdir: Path | None = None  # where the run's temporary directories go
    instances: Path | None = None  # folder with dortmund.toml and bochum.toml

    @classmethod
    def quick_config(cls, **changes: Any) -> BenchConfig:
        """10,000 offers, few repetitions: checks that the harness works, in seconds."""
        values: dict[str, Any] = {
            "sizes": [10_000],
            "es_sizes": [10_000],
            "repeat": 20,
            "warmup": 5,
            "seconds": 20.0,
            "brute_seconds": 10.0,
            "load_requests": 200,
            "load_seconds": 60.0,
            "quick": True,
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        return cls(**values)

    def sizes_for(self, backend: str) -> list[int]:
        if backend != "elasticsearch":
            return list(self.sizes)
        if self.es_sizes is not None:
            return list(self.es_sizes)
        return [n for n in self.sizes if n <= ES_MAX_DEFAULT_SIZE]

    def check(self) -> None:
        unknown = [b for b in self.backends if b not in BACKENDS]
        if unknown:
            raise BenchError(f"unknown backend(s) {', '.join(unknown)}; known: {BACKENDS}")
        if any(n < 100 for n in self.sizes + (self.es_sizes or [])):
            raise BenchError("sizes must be at least 100 offers")
        if self.repeat < 3:
            raise BenchError("--repeat must be at least 3")
        if self.start_es and self.es_url:
            raise BenchError("give --es-url or --start-es, not both")
        if "elasticsearch" in self.backends and not self.start_es:
            if not self.es_url:
                needs = "--es-url, DIRECTORY_BENCH_ES_URL or --start-es"
                raise BenchError(f"the elasticsearch backend needs {needs}")
            host = urlsplit(self.es_url).hostname
            if host not in LOOPBACK:
                raise BenchError(
                    f"--es-url must point to this machine (127.0.0.1), got host {host!r}: "
                    "the benchmark sends traffic only to 127.0.0.1"
                )

    def budgets(self) -> dict[str, measure.Budget]:
        return {
            "http": measure.Budget(self.repeat, self.seconds, self.warmup),
            "in_process": measure.Budget(self.repeat, self.seconds, self.warmup),
            "brute_force": measure.Budget(self.repeat, self.brute_seconds, 1),
        }

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for key in ("out", "workdir", "instances"):
            values[key] = str(values[key]) if values[key] is not None else None
        with_es = self.es_url or self.start_es
        values["es_sizes"] = self.sizes_for("elasticsearch") if with_es else None
        values["query"] = {
            "graphql": " ".join(measure.NEARBY_QUERY.split()),
            "radius_km": measure.RADIUS_KM,
            "page_size": measure.PAGE_SIZE,
            "text_terms": list(dataset.TEXT_TERMS),
            "point_spread_km": dataset.QUERY_SPREAD_KM,
        }
        values["data"] = {
            "cities": list(dataset.CITY_FILES),
            "coordinate_share": dataset.COORDINATE_SHARE,
            "columns": dataset.COLUMNS,
        }
        return values


Log = Callable[[str], None]


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` (like Ctrl-C), so servers are stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Run:
    """The state of one run (shared by its sizes)."""

    def __init__(self, config: BenchConfig, log: Log):
        self.config = config
        self.log = log
        self.sources = dataset.load_sources(dataset.source_instance_files(config.instances))
        self.cities = [dataset.City.from_instance(s) for s in self.sources]
        self.labels = {c.key: c.label for c in default_categories()}
        self.budgets = config.budgets()

    def size(self, backend: str, n: int, root: Path) -> dict[str, Any]:
        config, log = self.config, self.log
        started = time.perf_counter()
        folder = root / f"{backend}-{n}"
        folder.mkdir(parents=True)
        store_file = folder / "store.sqlite"
        search: dict[str, Any] = {"backend": backend}
        if backend == "elasticsearch":
            search["es_url"] = config.es_url
            search["index_prefix"] = f"directory-bench-{os.getpid()}-{n}"
        instance_file = folder / "instance.toml"
        instance = dataset.write_instance(instance_file, self.sources, store_file, **search)
        figures: dict[str, Any] = {"offers": n}

        log(f"generating {n:,} offers as CSV")
        data = dataset.write_offers_csv(folder / "csv", self.cities, self.labels, n, config.seed)
        figures["dataset"] = data.summary()

        log(f"importing {len(data.files)} CSV files with the csv importer")
        directory = _open(instance, create=True)
        try:
            figures["import"] = dataset.import_offers(directory, data)
            figures["import"]["store_offers"] = directory.store.count_offers()
            figures["import"]["index_documents"] = directory.search_backend.count()
            figures["import"]["sync_lag"] = directory.sync_lag()
            categories = sorted(c.key for c in directory.taxonomy)
            districts = list(directory.districts)
        finally:
            directory.close()
        if figures["import"]["index_documents"] != n:
            raise BenchError(
                f"the index holds {figures['import']['index_documents']} documents after the "
                f"import, expected {n}"
            )
        log(f"imported at {figures['import']['offers_per_second']:,.0f} offers/s")
        if not (config.keep or config.profile):
            shutil.rmtree(folder / "csv")

        count = config.repeat
        nearby = dataset.nearby_queries(districts, categories, count, _SEED_NEARBY)
        text = dataset.with_text(dataset.nearby_queries(districts, categories, count, _SEED_TEXT))
        warm = dataset.nearby_queries(districts, categories, max(config.warmup, 1), _SEED_WARMUP)
        warm_bodies = [measure.nearby_body(q) for q in warm + dataset.with_text(warm)]

        log("HTTP: floor, nearby query, nearby + text (1 worker)")
        http = self.budgets["http"]
        with ServerProcess(instance_file, folder / "server-1.log", workers=1) as server:
            server.start()
            figures["server_startup_seconds"] = round(server.startup_seconds or 0.0, 3)
            watch = measure.CpuWatch(server.worker_pids())
            with measure.HttpClient(server.url) as client:
                figures["http"] = {
                    "floor": measure.http_latency(client, [measure.FLOOR_BODY], http),
                    "nearby": measure.http_latency(
                        client, [measure.nearby_body(q) for q in nearby], http, warm_bodies
                    ),
                    "nearby_text": measure.http_latency(
                        client, [measure.nearby_body(q) for q in text], http, warm_bodies
                    ),
                }
                # the counsellor's results page and the same search through GraphQL
                pages = web.page_queries(districts, categories, count, _SEED_NEARBY)
                warm_pages = pages[: max(config.warmup, 1)]
                figures["http"]["results_page"] = web.page_latency(
                    server.url, pages, http, warm_pages
                )
                figures["http"]["results_page_graphql"] = measure.http_latency(
                    client,
                    [p.graphql_body() for p in pages],
                    http,
                    [p.graphql_body() for p in warm_pages],
                )
            figures["http"]["cpu"] = watch.stop()
            figures["server_memory"] = server.memory()

        log("in-process search and brute-force scan")
        directory = _open(instance, create=False)
        watch = measure.CpuWatch()
        try:
            budget = self.budgets["in_process"]
            in_process, nearby_ids = measure.in_process_latency(directory, nearby, budget, warm)
            in_process_text, _ = measure.in_process_latency(
                directory, text, budget, dataset.with_text(warm)
            )
            figures["in_process"] = {"nearby": in_process, "nearby_text": in_process_text}
            log("in-process search with total and facets, as the results page asks")
            figures["in_process"]["counts_facets"] = counts.counts_latency(
                directory, nearby, budget, warm
            )
            figures["in_process"]["counts_facets_text"] = counts.counts_latency(
                directory, text, budget, dataset.with_text(warm)
            )
            load_started = time.perf_counter()
            scan = measure.BruteForceScan.from_store(directory)
            load_seconds = time.perf_counter() - load_started
        finally:
            directory.close()
        brute, brute_ids = measure.brute_latency(scan, nearby, self.budgets["brute_force"])
        figures["in_process"]["cpu"] = watch.stop()  # with the brute force
        figures["brute_force"] = {
            "nearby": brute,
            "offers_scanned": len(scan),
            "load_seconds": round(load_seconds, 3),
            # the first pages of the brute force and of the search are the same ids
            "agreement": {
                "queries": len(brute_ids),
                "same": sum(1 for a, b in zip(brute_ids, nearby_ids, strict=False) if a == b),
            },
        }
        del scan

        log(f"load: {config.load_requests:,} requests, {config.load_clients} clients, "
            f"{config.load_workers} workers")  # fmt: skip
        load_queries = dataset.nearby_queries(
            districts, categories, max(config.load_requests // 2, 1), _SEED_LOAD
        )
        load_bodies = [
            measure.nearby_body(q)
            for pair in zip(load_queries, dataset.with_text(load_queries), strict=True)
            for q in pair
        ]
        workers = config.load_workers
        with ServerProcess(instance_file, folder / "server-load.log", workers=workers) as server:
            server.start()
            watch = measure.CpuWatch(server.worker_pids())
            # a load balancer's check during the counted requests, from another process
            with HealthPoller(server.url, config.healthz_interval) as poller:
                figures["load"] = self.load(server.url, load_bodies, poller.start)
                figures["load"]["healthz"] = poller.stop()
            figures["load"]["cpu"] = watch.stop()
            figures["load"]["workers"] = workers
            figures["load"]["memory"] = server.memory()
        if config.profile:
            log("profiles of the search, the server and the import")
            figures["profiles"] = self.profiles(
                backend, n, folder, instance, search, nearby, text, data, load_bodies
            )
        figures["seconds"] = round(time.perf_counter() - started, 1)
        return figures

    def load(
        self, url: str, bodies: list[dict[str, Any]], measuring: Callable[[], Any] | None = None
    ) -> dict[str, Any]:
        """The load test of the run's settings against the server at ``url``."""
        total, clients = self.config.load_requests, self.config.load_clients
        return measure.load_test(
            url, bodies, total=total, clients=clients, seconds=self.config.load_seconds,
            warmup=min(total, 10 * clients), measuring=measuring,
        )  # fmt: skip

    def profiles(
        self,
        backend: str,
        n: int,
        folder: Path,
        instance: Any,
        search: dict[str, Any],
        nearby: list[dataset.NearbyQuery],
        text: list[dataset.NearbyQuery],
        data: dataset.Dataset,
        load_bodies: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Profile the in-process search, the server, the server under load (py-spy)
        and the import (``profiling``)."""
        from .profiling import ProfiledServer, profile_call, spy_on_load

        out = self.config.out / "profiles"
        name = f"{backend}-{n}"
        parts = ("search", "server", "load", "import")
        paths = {part: out / f"{name}-{part}.txt" for part in parts}
        instance_file = folder / "instance.toml"
        budget = self.budgets["in_process"]
        directory = _open(instance, create=False)
        try:
            profile_call(
                lambda: [
                    measure.in_process_latency(directory, queries, budget)
                    for queries in (nearby, text)
                ],
                paths["search"],
                f"{name}: Directory.search, {len(nearby)} nearby + {len(text)} text queries",
            )
        finally:
            directory.close()
        bodies = [measure.nearby_body(q) for q in nearby + text]
        with ProfiledServer(
            instance_file, folder / "server-profile.log", paths["server"]
        ) as server:
            server.start()
            with measure.HttpClient(server.url) as client:
                for body in bodies:
                    measure.check_response(client.post(body))
        log_file = folder / "server-load-profile.log"
        workers = self.config.load_workers
        with ServerProcess(instance_file, log_file, workers=workers) as server:
            server.start()
            load_top = spy_on_load(
                server, paths["load"], self.config.load_seconds,
                lambda: self.load(server.url, load_bodies),
            )  # fmt: skip
            if "error" in load_top:
                self.log(f"py-spy profile under load failed: {load_top['error']}")
        again = folder / "profile-import"
        again.mkdir()
        if backend == "elasticsearch":
            search = {**search, "index_prefix": search["index_prefix"] + "-profile"}
        instance = dataset.write_instance(
            again / "instance.toml", self.sources, again / "store.sqlite", **search
        )
        directory = _open(instance, create=True)
        try:
            profile_call(
                lambda: dataset.import_offers(directory, data),
                paths["import"],
                f"{name}: run_import of {data.offers:,} offers in {len(data.files)} CSV files",
            )
        finally:
            directory.close()
        if not self.config.keep:
            shutil.rmtree(again)
            shutil.rmtree(folder / "csv")
        return {
            **{part: str(path) for part, path in paths.items()},
            "load_top": load_top,
        }


def _open(instance: Any, create: bool) -> Any:
    from directory_core.directory import open_directory

    return open_directory(instance, create=create)


def _save_logs(folder: Path, out: Path) -> list[str]:
    """Copy the server logs of a failed size to ``out/logs``."""
    saved = []
    if folder.is_dir():
        target = out / "logs"
        target.mkdir(parents=True, exist_ok=True)
        for log_file in folder.glob("server-*.log"):
            copy = target / f"{folder.name}-{log_file.name}"
            shutil.copyfile(log_file, copy)
            saved.append(str(copy))
    return saved


def run_bench(config: BenchConfig, log: Log = print) -> tuple[dict[str, Any], Path]:
    """Run the benchmark; return the report and the path of its JSON file (also
    ``latest.json`` and a markdown file next to it in ``config.out``)."""
    config.check()
    started = time.monotonic()
    machine = machine_info()  # at the start: the code and the date the run measured

    def say(message: str) -> None:
        log(f"[{time.monotonic() - started:7.1f} s] {message}")

    run = _Run(config, say)
    if config.start_es and "elasticsearch" not in config.backends:
        config.backends.append("elasticsearch")
    results: dict[str, dict[str, Any]] = {b: {} for b in config.backends}
    root = Path(tempfile.mkdtemp(prefix="directory-bench-", dir=config.workdir))
    say(f"working in {root}")
    interrupted = False
    try:
        with _terminate_as_interrupt(), ExitStack() as stack:
            if config.start_es:
                from .es_server import started_elasticsearch

                config.es_url = stack.enter_context(started_elasticsearch(root / "es", log=say))
            for backend in config.backends:
                for n in config.sizes_for(backend):
                    prefix = f"{backend} {n:,}"
                    run.log = lambda m, p=prefix: say(f"{p}: {m}")  # type: ignore[misc]
                    try:
                        results[backend][str(n)] = run.size(backend, n, root)
                    except Exception as exc:  # the other sizes still run
                        detail = traceback.format_exc()
                        say(f"{prefix}: FAILED: {type(exc).__name__}: {exc}\n{detail}")
                        logs = _save_logs(root / f"{backend}-{n}", config.out)
                        results[backend][str(n)] = {
                            "offers": n,
                            "error": f"{type(exc).__name__}: {exc}",
                            "server_logs": logs,
                        }
                    finally:
                        if not config.keep:
                            shutil.rmtree(root / f"{backend}-{n}", ignore_errors=True)
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: servers stopped; writing what was measured so far")
    finally:
        if config.keep:
            say(f"kept the run's files in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    report = build_report(machine, config.as_dict(), results)
    if not interrupted:
        say("judged queries on the demo data (forgiving search, before and after)")
        report["judged"] = judged_figures(
            load_instance(dataset.source_instance_files(config.instances)[0])
        )
    report["interrupted"] = interrupted
    report["seconds"] = round(time.monotonic() - started, 1)
    path = write_json(report, config.out)
    markdown = render_markdown(report)
    path.with_suffix(".md").write_text(markdown, encoding="utf-8")
    (config.out / "latest.md").write_text(markdown, encoding="utf-8")
    if interrupted:
        raise KeyboardInterrupt
    return report, path
