"""A one-node Elasticsearch 7.10.2 of the run's own (``directory bench --start-es``).

The project's script ``.ci/elasticsearch.sh`` starts it (the one the tests use: a real
7.10.2 node from Maven Central's cluster runner, no Docker) with a private state
directory, cluster name and port, so that it never touches a cluster someone else
started; ``started_elasticsearch`` yields its URL and stops it (and removes its data)
on the way out, also on errors and Ctrl-C.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BenchError

#: the first node's HTTP port is BASE + 1 (the script's convention); the runner moves up
#: past ports already taken (the tests' clusters use 9200 and 9250-9252)
DEFAULT_BASE_PORT = 9269
DEFAULT_HEAP = "1g"  # the script's default, as in the tests
_TIMEOUT = 600.0  # a first start resolves the jars from Maven Central


def script_path() -> Path:
    """``.ci/elasticsearch.sh`` of the repository this package runs from."""
    script = Path(__file__).resolve().parents[1] / ".ci" / "elasticsearch.sh"
    if not script.is_file():
        raise BenchError(
            f"--start-es needs the repository's .ci/elasticsearch.sh (not found at {script}); "
            "run from a checkout, or start Elasticsearch yourself and pass --es-url"
        )
    return script


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["bash", str(script_path()), command],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"elasticsearch.sh {command} took more than {_TIMEOUT:.0f} s") from exc


@contextmanager
def started_elasticsearch(
    state_dir: Path,
    *,
    base_port: int = DEFAULT_BASE_PORT,
    heap: str = DEFAULT_HEAP,
    log: Callable[[str], None] = print,
) -> Iterator[str]:
    """Start a one-node Elasticsearch 7.10.2 with its state in ``state_dir``; yield its
    URL; stop it when the block ends. ``BenchError`` (with the script's last lines) if
    it does not start."""
    env = {
        "ES_NODES": "1",
        "ES_BASE_PORT": str(base_port),
        "ES_STATE_DIR": str(state_dir),
        "ES_CLUSTER_NAME": f"directory-bench-{os.getpid()}",
        "ES_HEAP": heap,
    }
    log(f"starting Elasticsearch 7.10.2 (one node, .ci/elasticsearch.sh, state in {state_dir})")
    try:
        done = _run("start", env)
        lines = [line for line in done.stdout.splitlines() if line.startswith("ES_URL=")]
        if done.returncode != 0 or not lines:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise BenchError(
                f"could not start Elasticsearch with .ci/elasticsearch.sh "
                f"(exit {done.returncode}):\n{tail}"
            )
        url = lines[-1].removeprefix("ES_URL=")
        log(f"Elasticsearch is up at {url}")
        yield url
    finally:
        stopped = _run("stop", env)
        if stopped.returncode != 0:
            log(f"elasticsearch.sh stop failed (exit {stopped.returncode}): {stopped.stderr}")
        else:
            log("Elasticsearch stopped")
