"""A server that cannot start exits, with a non-zero status, within seconds: under
`directory serve --workers N`, under uvicorn's own supervisor, and when the workers fail
after the parent's check passed (``run_server``). Real processes, a store URL that
points at a closed port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from uvicorn.config import STARTUP_FAILURE

from .stores import write_instance_file

EXIT_WITHIN = 20.0  # seconds; a respawning supervisor would run until the timeout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _broken_instance(tmp_path: Path) -> Path:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/nothing"
    return write_instance_file(tmp_path / "broken.toml", url, {"backend": "embedded"})


def _environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DIRECTORY_STORE_URL", "DIRECTORY_ELASTICSEARCH_URL", "DIRECTORY_INSTANCE")
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _run(command: list[str], cwd: Path, **env: str) -> tuple[int, str, float]:
    """Run until it exits (killed after EXIT_WITHIN): (status, output, seconds)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        output, _ = process.communicate()
        text = output.decode(errors="replace")
        raise AssertionError(f"still running after {EXIT_WITHIN} s:\n{text[-3000:]}") from None
    return process.returncode, output.decode(errors="replace"), time.monotonic() - started


def _bin(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


def test_directory_serve_with_workers_exits_on_a_broken_store(tmp_path):
    instance = _broken_instance(tmp_path)
    status, output, _ = _run(
        [_bin("directory"), "--instance", str(instance), "serve", "--workers", "2",
         "--port", str(_closed_port())],
        tmp_path,
    )  # fmt: skip
    assert status != 0
    assert "cannot reach the PostgreSQL server of the store" in output
    assert "Traceback" not in output


def test_uvicorn_workers_stop_instead_of_respawning(tmp_path):
    """The deployment without `directory serve`: uvicorn's own supervisor stops when its
    workers fail to start (before, it respawned them forever)."""
    instance = _broken_instance(tmp_path)
    status, output, _ = _run(
        [_bin("uvicorn"), "--factory", "directory_app.assembly:app_from_environment",
         "--workers", "2", "--port", str(_closed_port())],
        tmp_path,
        DIRECTORY_INSTANCE=str(instance),
    )  # fmt: skip
    assert "directory server cannot start" in output
    assert output.count("directory server cannot start") <= 2  # one per worker, no respawns
    assert "Traceback" not in output


def test_run_server_exits_non_zero_when_workers_cannot_start(tmp_path):
    """The workers fail although the parent's check passed (the store went away in
    between): the supervisor stops and the status says so."""
    instance = _broken_instance(tmp_path)
    code = (
        "import sys; from directory_app.serving import run_server; "
        f"sys.exit(run_server(host='127.0.0.1', port={_closed_port()}, workers=2))"
    )
    status, output, _ = _run(
        [sys.executable, "-c", code], tmp_path, DIRECTORY_INSTANCE=str(instance)
    )
    assert status == STARTUP_FAILURE, output
    assert "directory server cannot start" in output
