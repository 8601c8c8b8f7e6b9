"""An exclusive lock between processes on one machine: ``flock`` on a lock file.

``Store.sync_lock`` holds one per sync position when the store is a SQLite file, so that
processes sharing the file sync an index one at a time, as PostgreSQL's advisory lock
makes them do there (``sync.py`` says why). ``flock`` belongs to the open file, not to
the process: a process forked while it is held shares it, and it is released when the
holder unlocks or every copy of the file's descriptor is closed (a process that dies
releases it).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

POLL_SECONDS = 0.02


@contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) while the block runs.
    ``timeout``: seconds to wait for another holder, then ``TimeoutError``; ``None``:
    as long as it takes."""
    descriptor = os.open(os.fspath(path), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if timeout is None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(
                            f"{os.fspath(path)} is held by another process (waited {timeout:g} s)"
                        ) from None
                    time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
