"""The lock of a sync position: one syncer per index at a time (``sync.py`` says why).
A mixin of ``store.Store``, split from ``store.py``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from .file_lock import file_lock
from .store_connection import advisory_key


class StoreSyncLock:
    """``sync_lock`` of ``Store`` (uses its engine and URL)."""

    engine: Engine
    url: str
    _sync_locks: dict[str, threading.RLock]
    _sync_depth: dict[str, int]
    _sync_locks_guard: threading.Lock
    is_postgresql: bool

    @contextmanager
    def sync_lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock of the sync position ``name`` (one index): among the threads of
        this process, and among all processes sharing the store: on PostgreSQL a session
        advisory lock on a connection kept for the duration, on a SQLite file an
        ``flock`` on a lock file beside it (``<store>.sync-<hash>.lock``). A thread that
        holds it already enters again (an import holds it around its write and its
        sync). ``timeout``: seconds to wait for another thread, and then for another
        process on SQLite, before ``TimeoutError``; ``None``: as long as it takes (the
        advisory lock of PostgreSQL always waits)."""
        with self._sync_locks_guard:
            local = self._sync_locks.setdefault(name, threading.RLock())
        if not local.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"another thread holds the sync lock {name!r} ({timeout:g} s)")
        try:
            depth = self._sync_depth.get(name, 0)
            self._sync_depth[name] = depth + 1
            try:
                if depth:
                    yield
                else:
                    with self._between_processes(name, timeout):
                        yield
            finally:
                self._sync_depth[name] = depth
        finally:
            local.release()

    @contextmanager
    def _between_processes(self, name: str, timeout: float | None) -> Iterator[None]:
        if self.is_postgresql:
            with self._advisory_lock(name):
                yield
            return
        database = make_url(self.url).database
        if not database or database == ":memory:" or database.startswith("file:"):
            yield  # no other process sees this store
            return
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        with file_lock(Path(f"{os.path.realpath(database)}.sync-{digest}.lock"), timeout):
            yield

    @contextmanager
    def _advisory_lock(self, name: str) -> Iterator[None]:
        key = advisory_key(f"directory_core.sync:{name}")
        with self.engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
            conn.commit()  # the session lock outlives the transaction
            try:
                yield
            finally:
                try:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    conn.commit()
                except sa.exc.DBAPIError:  # connection lost: its session lock is gone
                    conn.invalidate()
