"""The one error of the benchmark harness."""

from __future__ import annotations


class BenchError(RuntimeError):
    """The benchmark cannot go on (bad option, server did not start, data did not load);
    the message says what happened and what to check."""
