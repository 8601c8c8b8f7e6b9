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
* ``report``: the machine, the ratios and targets, the markdown table and the JSON file;
* ``runner``: one run over backends and sizes, with cleanup on errors and Ctrl-C.
"""

from __future__ import annotations

from .runner import BenchConfig, run_bench

__all__ = ["BenchConfig", "run_bench"]
