"""Running the app under uvicorn, with one process or a supervisor and N workers.

A server that cannot start must exit with a non-zero status, so that a service manager
sees the failure instead of a supervisor that respawns dying workers forever. Two
things make that so: ``app_from_environment`` ends a worker that cannot open its
instance with uvicorn's ``STARTUP_FAILURE`` status (uvicorn's supervisor then stops
instead of respawning it), and ``run_server`` turns a supervisor stopped that way into
a non-zero exit status (``uvicorn.run`` returns normally then).
"""

from __future__ import annotations

import gc
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "directory_app.assembly:app_from_environment"
# young objects are collected every this many allocations (Python's default: 700), the
# older generations after 10 collections of the one below
GC_THRESHOLDS = (10_000, 10, 10)
# how long a thread runs before one that waits for the GIL may take it (default 5 ms)
SWITCH_INTERVAL_SECONDS = 0.001


class StartupFailure(SystemExit):
    """Exit with uvicorn's ``STARTUP_FAILURE`` status after printing a one-line reason
    to stderr (``str()`` is the reason)."""

    def __init__(self, message: str):
        super().__init__(STARTUP_FAILURE)
        self.message = message
        print(message, file=sys.stderr, flush=True)

    def __str__(self) -> str:
        return self.message


def tune_worker() -> None:
    """Set up the interpreter of a worker process for serving, once the app is built.

    * The cyclic garbage collector's full passes walked every object of the search index
      and the schema, 100-200 ms at 100,000 offers during which the worker answered
      nothing: what startup built is frozen (left out of every pass), and young objects
      are collected less often (a page of offers allocates thousands).
    * Searches run in worker threads and hold the GIL while they compute; a thread
      that waited for a socket or the store (the event loop, ``/healthz``, the health
      checks) then waited up to the switch interval for each of them in turn. With
      8 busy threads, five such steps took 140-180 ms at 5 ms and 12-14 ms at 1 ms, for
      the same CPU throughput (``docs/decisions.md``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def run_server(*, host: str, port: int, workers: int = 1, log_level: str = "info") -> int:
    """Serve ``APP`` (the instance named by ``DIRECTORY_INSTANCE``) until stopped; return
    the exit status: 0 after a signal, ``STARTUP_FAILURE`` when a worker could not
    start."""
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        server_header=False,  # do not tell every client which server software runs
    )
    if workers <= 1:
        config.load()  # a StartupFailure leaves here, before the socket is bound
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    sock = config.bind_socket()
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        sock.close()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0
