"""The real server under test: ``directory serve`` in a subprocess on 127.0.0.1.

``ServerProcess`` runs ``directory --instance FILE serve --host 127.0.0.1 --port P
--workers W``, the command an operator runs, with its output (uvicorn's access log
included) going to a log file. It waits until the server answers ``{ __typename }``,
reads the peak resident memory of the server's processes from ``/proc`` and stops the
server (SIGINT, then SIGTERM, then SIGKILL of its process group; the group is the
server's own session, so Ctrl-C in the terminal reaches only the benchmark, which then
stops the server in order).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .errors import BenchError

HOST = "127.0.0.1"
# the settings an operator's environment could hold that would point the server at
# another store, index or instance than the run's own
_OVERRIDES = ("DIRECTORY_STORE_URL", "DIRECTORY_ELASTICSEARCH_URL", "DIRECTORY_INSTANCE")
_PING = {"query": "{ __typename }"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def directory_command() -> list[str]:
    """The ``directory`` command of this Python environment."""
    script = Path(sys.executable).with_name("directory")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "from directory_cli.main import main; main()"]


def read_status(pid: int) -> dict[str, int]:
    """The memory lines of ``/proc/PID/status`` in bytes (``VmHWM``, ``VmRSS``,
    ``RssAnon``, ``RssFile``, ``RssShmem``); empty if the process is gone."""
    wanted = ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem")
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in wanted:
            values[name] = int(rest.split()[0]) * 1024  # kB
    return values


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process (from ``/proc/*/stat``)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2:
            found[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return found


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    return sorted(p for p, (parent, _) in _processes().items() if parent == pid)


def group_members(group: int) -> list[int]:
    """The processes in process group ``group``."""
    return sorted(p for p, (_, pgrp) in _processes().items() if pgrp == group)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class ServerProcess:
    """``directory serve`` for ``instance_file`` with ``workers`` worker processes."""

    def __init__(self, instance_file: Path, log_file: Path, workers: int = 1):
        self.instance_file = instance_file
        self.log_file = log_file
        self.workers = workers
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    def command(self) -> list[str]:
        """The program to run (the arguments of ``directory`` follow)."""
        return directory_command()

    def start(self, timeout: float = 600.0) -> ServerProcess:
        """Start the server and wait until it answers (raise ``BenchError`` if it exits
        or does not answer within ``timeout`` seconds)."""
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _OVERRIDES}
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            *self.command(),
            "--instance",
            str(self.instance_file),
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        started = time.perf_counter()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise BenchError(
                        f"the server exited during startup; see {self.log_file}:\n{self.log_tail()}"
                    )
                try:
                    response = client.post("/graphql", json=_PING)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(f"the server did not answer within {timeout:.0f} s")
                time.sleep(0.1)
        if self.workers > 1:  # the first answer came from one worker; wait for all
            while len(self.worker_pids()) < self.workers:
                if time.monotonic() > deadline:
                    raise BenchError(f"not all {self.workers} workers started")
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself with one worker, else
        its worker children (not multiprocessing's helper processes)."""
        if self.process is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        return [
            pid
            for pid in children(self.process.pid)
            if "resource_tracker" not in _cmdline(pid) and "semaphore_tracker" not in _cmdline(pid)
        ]

    def memory(self) -> dict[str, Any]:
        """Peak (``VmHWM``) and current resident memory of the serving processes,
        summed over the workers, in bytes, with the figures of each process."""
        per_process = {pid: read_status(pid) for pid in self.worker_pids()}
        total: dict[str, int] = {}
        for values in per_process.values():
            for name, value in values.items():
                total[name] = total.get(name, 0) + value
        return {
            "workers": self.workers,
            "peak_rss_bytes": total.get("VmHWM"),
            "rss_bytes": total.get("VmRSS"),
            "rss_anon_bytes": total.get("RssAnon"),
            "rss_file_bytes": total.get("RssFile"),
            "per_process": {str(pid): values for pid, values in per_process.items()},
        }

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server and its workers: SIGINT (uvicorn's graceful shutdown), then
        SIGTERM, then SIGKILL to the server's process group."""
        process = self.process
        if process is None:
            return
        self.process = None
        steps = ((None, signal.SIGINT, timeout), (signal.SIGTERM, None, 10.0))
        for group_signal, own_signal, wait in steps:
            if process.poll() is not None:
                break
            try:
                if own_signal is not None:
                    process.send_signal(own_signal)
                if group_signal is not None:
                    os.killpg(process.pid, group_signal)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if process.poll() is None:
            process.kill()
            process.wait(10.0)
        # workers left behind by a supervisor that did not exit cleanly: the members of
        # the server's own process group, by pid
        for pid in group_members(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
