"""The benchmark harness behind ``directory bench``.

A counsellor searches during a conversation, so a search must feel instant at the size
of one city and of many. For each backend and size the harness generates realistic
offers over the districts of Dortmund and Bochum, loads them through the normal CSV
import, starts the real server in a subprocess and measures it over HTTP, next to the
same search in-process and a brute-force scan, all in one run (see docs/benchmarks.md).

Modules, in the order a run uses them:

* ``dataset``: the combined instance file, the generated CSV files and their import;
* ``server``: ``directory serve`` in a subprocess (start, wait, peak memory, stop);
* ``measure``: the timing loops (HTTP, in-process, brute force, load) and their summaries;
* ``counts``: the total and facets as the results page asks, and bounded answers;
* ``healthz``: ``/healthz`` polled from a separate process during the load;
* ``es_server``: a one-node Elasticsearch of the run's own (``--start-es``);
* ``report``: the machine, the ratios and targets, the markdown table and the JSON file;
* ``targets``: the target rows; ``comparison``: embedded against Elasticsearch and the
  hot frames under load; ``profiling``: ``--profile`` (pyinstrument, py-spy);
* ``runner``: one run over backends and sizes, with cleanup on errors and Ctrl-C.
"""

from __future__ import annotations

from .runner import BenchConfig, run_bench

__all__ = ["BenchConfig", "run_bench"]
