"""Profiles of the measured steps (``directory bench --profile``), to see what dominates
when a target is missed. Needs ``pyinstrument`` (a test dependency).

After the measurements of a size, against the same data:

* ``search``: the in-process searches (nearby, nearby + text) under the profiler;
* ``server``: a second ``directory serve`` (1 worker) run under ``pyinstrument``,
  sent the nearby and text queries over HTTP, then stopped (the profile covers the whole
  server process: startup, requests, the background sync, idle time in the event loop);
* ``import``: the CSV files imported again into a fresh store and index in the same
  directory (``profile-import/``) under the profiler.

The profiles are text files in ``--out/profiles/``. Profiling slows everything down:
the figures of the report come from the unprofiled passes only.
"""

from __future__ import annotations

import sys
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
