"""The sync lock between processes on a SQLite store (``store_locks.py``, an ``flock``
of ``file_lock.py``): waits, times out, enters again in the holding thread, and is
released when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from directory_core.file_lock import file_lock
from directory_core.store import Store


@pytest.fixture
def stores(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    first, second = Store.open(url), Store.open(url)  # each its own lock descriptor
    yield first, second
    first.close()
    second.close()


def test_one_holder_at_a_time_between_stores_of_one_file(stores):
    first, second = stores
    with first.sync_lock("search:embedded:x"):
        with pytest.raises(TimeoutError, match="held by another process"):
            with second.sync_lock("search:embedded:x", timeout=0.1):
                pass
        with second.sync_lock("search:elasticsearch:x", timeout=0.1):  # another index
            pass
    with second.sync_lock("search:embedded:x", timeout=0.1):  # released
        pass


def test_the_holding_thread_enters_again_others_wait(stores):
    first, _ = stores
    entered = threading.Event()

    def other_thread() -> None:
        with first.sync_lock("search:embedded:x"):
            entered.set()

    with first.sync_lock("search:embedded:x", timeout=0.1):
        with first.sync_lock("search:embedded:x", timeout=0.1):  # no wait for itself
            pass
        thread = threading.Thread(target=other_thread)
        thread.start()
        time.sleep(0.2)
        assert not entered.is_set()
    thread.join(5)
    assert entered.is_set()


def test_a_store_in_memory_needs_no_lock_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store.open("sqlite://")
    try:
        with store.sync_lock("search:embedded:x", timeout=0):
            pass
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []


def test_the_lock_of_a_process_that_died_is_free(tmp_path):
    path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from directory_core.file_lock import file_lock\n"
            f"with file_lock({str(path)!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError):
            with file_lock(path, timeout=0.1):
                pass
        holder.kill()
        holder.wait(10)
        with file_lock(path, timeout=5):
            pass
    finally:
        holder.kill()
        holder.wait(10)
