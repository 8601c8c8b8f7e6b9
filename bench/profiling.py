"""Profiles of the measured steps (``directory bench --profile``), to see what dominates
when a target is missed. Needs ``pyinstrument`` (a test dependency).

After the measurements of a size, against the same data:

* ``search``: the in-process searches (nearby, nearby + text) under the profiler;
* ``server``: a second ``directory serve`` (1 worker) run under ``pyinstrument``,
  sent the nearby and text queries over HTTP, then stopped (the profile covers the whole
  server process: startup, requests, the background sync, idle time in the event loop);
* ``load``: a second load test (the same requests, clients and workers) against a
  ``directory serve --workers 2`` recorded from outside by ``py-spy`` (``py-spy record
  --pid SERVER --subprocesses --format raw --function --nonblocking``): where the
  server's workers spend their busy time under load, without changing their code path;
  the report lists the frames with the largest shares (``top_frames``);
* ``import``: the CSV files imported again into a fresh store and index in the same
  directory (``profile-import/``) under the profiler.

The profiles are files in ``--out/profiles/``. Profiling slows everything down: the
figures of the report come from the unprofiled passes only.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import BenchError
from .server import ServerProcess, directory_command


def _profiler() -> Any:
    try:
        from pyinstrument import Profiler
    except ImportError as exc:
        raise BenchError("--profile needs pyinstrument (pip install pyinstrument)") from exc
    return Profiler(interval=0.0005)


def profile_call(call: Callable[[], Any], path: Path, title: str) -> Any:
    """Run ``call()`` under pyinstrument; write the text profile to ``path``."""
    profiler = _profiler()
    profiler.start()
    try:
        result = call()
    finally:
        profiler.stop()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        path.write_text(f"{title}\n\n{text}", encoding="utf-8")
    return result


class ProfiledServer(ServerProcess):
    """``directory serve`` run by ``python -m pyinstrument``; the text profile is
    written to ``profile_file`` when the server stops."""

    def __init__(self, instance_file: Path, log_file: Path, profile_file: Path):
        super().__init__(instance_file, log_file, workers=1)
        self.profile_file = profile_file

    def command(self) -> list[str]:
        script = directory_command()
        if len(script) != 1:
            raise BenchError("--profile needs the installed `directory` script")
        self.profile_file.parent.mkdir(parents=True, exist_ok=True)
        wrapper = [sys.executable, "-m", "pyinstrument", "--interval", "0.0005"]
        wrapper += ["--renderer", "text", "--outfile", str(self.profile_file)]
        wrapper += ["--no-color", "--unicode"]
        return wrapper + script


# -- py-spy: the server under load, from outside ------------------------------------------

SPY_RATE = 200  # samples a second per process
ROOT_SHARE = 0.99  # frames on this share of the stacks are left out of "total"
_STACK_LINE = re.compile(r"^(.*) (\d+)$")
_PROCESS_FRAME = re.compile(r'^(?:process \d+:".*?";)+')


def py_spy() -> str:
    """The ``py-spy`` program of this environment (``BenchError`` if missing)."""
    script = Path(sys.executable).with_name("py-spy")
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    found = shutil.which("py-spy")
    if found:
        return found
    raise BenchError("--profile needs py-spy for the server under load (pip install py-spy)")


class SpyRecording:
    """``py-spy record`` of process ``pid`` and its children into ``path`` (collapsed
    stacks, one ``frame;frame;... count`` line each), for at most ``seconds``;
    ``stop`` ends it early (SIGINT: py-spy then writes what it sampled)."""

    def __init__(self, pid: int, path: Path, seconds: float, rate: int = SPY_RATE):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.log = path.with_suffix(".log")
        command = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
        command += ["--function", "--nonblocking", "--rate", str(rate)]
        command += ["--duration", str(max(int(seconds), 1)), "--output", str(path)]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self, timeout: float = 60.0) -> Path:
        """Stop recording; the path of the samples (``BenchError`` if none were written)."""
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not self.path.is_file():
            log = self.log.read_text(errors="replace")[-2000:] if self.log.is_file() else ""
            raise BenchError(f"py-spy wrote no profile (exit {process.returncode}): {log}")
        return self.path


def read_stacks(text: str) -> Counter[tuple[str, ...]]:
    """The collapsed stacks of ``py-spy --format raw``: stack (root first) -> samples.
    The root frames py-spy adds for processes and threads are left out."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.splitlines():
        match = _STACK_LINE.match(line)
        if not match:
            continue  # e.g. the rest of a process frame whose command line had a newline
        # the process frames (parent, then child) quote command lines, which may hold ";"
        stack = _PROCESS_FRAME.sub("", match.group(1))
        frames = tuple(f for f in stack.split(";") if f and not f.startswith("thread ("))
        if frames:
            stacks[frames] += int(match.group(2))
    return stacks


def top_frames(text: str, count: int = 12) -> dict[str, Any]:
    """The frames with the largest shares of the samples in ``text`` (py-spy raw): by
    ``self`` (the frame was running) and by ``total`` (the frame was on the stack; not
    the roots that are on nearly every stack)."""
    stacks = read_stacks(text)
    samples = sum(stacks.values())
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for frames, n in stacks.items():
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return {"samples": 0, "self": [], "total": []}
    # a frame on (almost) every stack (the event loop, the worker's main) says nothing
    inner = [(f, n) for f, n in total.most_common() if n < ROOT_SHARE * samples]
    return {
        "samples": samples,
        "self": [[f, round(n / samples, 4)] for f, n in own.most_common(count)],
        "total": [[f, round(n / samples, 4)] for f, n in inner[:count]],
    }


def spy_on_load(
    server: ServerProcess, path: Path, seconds: float, load: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``load()`` against ``server`` while py-spy records its processes into
    ``path``; the top frames and the load's rate, or ``{"error": ...}``: a failed
    recording (no py-spy, no permission to trace) costs this profile only."""
    try:
        recording = SpyRecording(server.process.pid if server.process else 0, path, seconds)
        try:
            figures = load()
        finally:
            recording.stop()
    except BenchError as exc:
        return {"error": str(exc)}
    top = top_frames(path.read_text(encoding="utf-8", errors="replace"))
    top["requests_per_second"] = figures.get("requests_per_second")
    return top
