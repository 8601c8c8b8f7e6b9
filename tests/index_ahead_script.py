"""Imports in a process of their own for ``test_index_ahead.py``: the import forks its
indexing process only from a process with a single thread, which pytest's (with its
servers) is not. ``python -m tests.index_ahead_script SCENARIO DIR [sequential]`` prints one
JSON line of what it saw; ``DIR`` holds the store, the index and the CSV files;
``sequential``: the import indexes after the commit, in its own process.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from directory_search.base import SearchQuery
from directory_search.embedded import EmbeddedBackend

from directory_core import index_ahead
from directory_core.directory import Directory, open_directory
from directory_core.importing import run_import
from directory_core.instance import load_instance
from directory_core.store import Store

from .import_fixtures import CSV_SETTINGS, DORTMUND, csv_row, write_csv

ROWS = 60


def open_at(folder: Path) -> Directory:
    os.environ["DIRECTORY_STORE_URL"] = f"sqlite:///{folder / 'store.sqlite'}"
    instance = load_instance(DORTMUND)
    instance.importers = {"csv": CSV_SETTINGS}
    return open_directory(instance)


def indexed_here(directory: Directory) -> list[int]:
    """Counts the documents this process (not the forked one) gives the index."""
    backend = directory.search_backend
    given: list[int] = []
    real_index = backend.index

    def counting(documents: list[Any]) -> None:
        given.append(len(documents))
        real_index(documents)

    backend.index = counting  # type: ignore[method-assign]
    return given


def titles(directory: Directory, text: str) -> list[str]:
    found = directory.search(SearchQuery(text=text, limit=500, include_archived=True))
    stored = directory.get_many([hit.id for hit in found.hits])
    return sorted(f"{stored[h.id].title}|{stored[h.id].status}" for h in found.hits)


def child_is_writing(folder: Path) -> bool:
    """Whether another connection holds the index file's write lock (the child inside
    its transaction), waited for up to 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        probe = sqlite3.connect(folder / "store.search.sqlite", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
        time.sleep(0.01)
    return False


def while_writing(directory: Directory, folder: Path, seen: dict[str, Any]) -> None:
    """Called inside the store's transaction, after the offers are written: what the
    rest of the world sees meanwhile."""
    seen["child_writing"] = child_is_writing(folder)
    time.sleep(0.3)  # the child has written its documents by now (60 of them)
    reader = EmbeddedBackend(folder / "store.search.sqlite", timeout=1)
    other = Store.open(directory.store.url)
    try:
        seen["documents_before_commit"] = reader.count()
        try:
            with other.sync_lock(directory.sync_name, timeout=0.2):
                seen["sync_lock_free"] = True
        except TimeoutError:
            seen["sync_lock_free"] = False
    finally:
        reader.close()
        other.close()


def slow_documents(directory: Directory, seconds: float) -> None:
    """Documents take ``seconds`` each to build (only the child builds them ahead)."""
    index_ahead.BATCH = 10
    real_builder = directory.document_builder

    def slow_builder() -> Any:
        build = real_builder()

        def slowly(offer: Any) -> Any:
            time.sleep(seconds)
            return build(offer)

        return slowly

    directory.document_builder = slow_builder  # type: ignore[method-assign]


def main(scenario: str, folder: Path, ahead: bool = True) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    index_ahead.MIN_OFFERS = 10 if ahead else 10**9
    directory = open_at(folder)
    given = indexed_here(directory)
    seen: dict[str, Any] = {"threads": threading.active_count()}
    first = write_csv(folder / "a.csv", [csv_row(n) for n in range(1, ROWS + 1)])
    real_write = directory.store.write_offers
    if scenario == "import":

        def write_and_look(conn: Any, offers: Any, **options: Any) -> Any:
            written = real_write(conn, offers, **options)
            if "child_writing" not in seen:
                while_writing(directory, folder, seen)
            return written

        directory.store.write_offers = write_and_look  # type: ignore[method-assign]
        report = run_import(directory, "awo", "csv", first)
        seen["created"] = len(report.created)
        seen["given_here"] = sum(given)
        # a second run: 20 changed, 10 gone (archived), 30 unchanged
        rows = [csv_row(n, Angebot=f"Erzählcafé {n}") for n in range(1, 21)]
        rows += [csv_row(n) for n in range(21, ROWS - 9)]
        report = run_import(directory, "awo", "csv", write_csv(folder / "b.csv", rows), full=True)
        seen["second"] = report.counts()
        seen["given_here_second"] = sum(given) - seen["given_here"]
    elif scenario == "store fails":

        def write_then_fail(conn: Any, offers: Any, **options: Any) -> Any:
            real_write(conn, offers, **options)
            seen["child_writing"] = child_is_writing(folder)
            time.sleep(0.3)  # the indexing process has written its documents by now
            raise RuntimeError("disk full")

        directory.store.write_offers = write_then_fail  # type: ignore[method-assign]
        try:
            run_import(directory, "awo", "csv", first)
        except RuntimeError as exc:
            seen["error"] = str(exc)
    elif scenario == "slow child":  # the store commits while the child still writes
        slow_documents(directory, 0.02)
        started = time.monotonic()
        report = run_import(directory, "awo", "csv", first)
        seen["seconds"] = time.monotonic() - started
        seen["created"] = len(report.created)
        seen["given_here"] = sum(given)
    elif scenario == "parent dies early":  # killed while the child has much left to do
        slow_documents(directory, 0.2)

        def write_then_die_at_once(conn: Any, offers: Any, **options: Any) -> Any:
            real_write(conn, offers, **options)
            print(json.dumps({"dying": os.getpid(), "at": time.time()}), flush=True)
            os.kill(os.getpid(), 9)

        directory.store.write_offers = write_then_die_at_once  # type: ignore[method-assign]
        run_import(directory, "awo", "csv", first)
    elif scenario == "lock held":  # another process syncs the index all along
        from directory_core import sync

        index_ahead.SYNC_LOCK_SECONDS = sync.SYNC_LOCK_SECONDS = 0.2
        other = Store.open(directory.store.url)
        with other.sync_lock(directory.sync_name):
            report = run_import(directory, "awo", "csv", first)
            seen["created"] = len(report.created)
            seen["documents_while_held"] = directory.search_backend.count()
        other.close()
        seen["given_here"] = sum(given)
    elif scenario == "child fails":

        def broken(self: EmbeddedBackend) -> EmbeddedBackend:
            raise OSError("no file handles left")

        EmbeddedBackend.reopen = broken  # type: ignore[method-assign]  # copied by fork
        report = run_import(directory, "awo", "csv", first)
        seen["created"] = len(report.created)
        seen["given_here"] = sum(given)
    elif scenario == "parent dies":

        def write_then_die(conn: Any, offers: Any, **options: Any) -> Any:
            real_write(conn, offers, **options)
            writing = child_is_writing(folder)
            time.sleep(0.3)
            print(json.dumps({"dying": os.getpid(), "child_writing": writing}), flush=True)
            os._exit(7)  # killed before the store's commit

        directory.store.write_offers = write_then_die  # type: ignore[method-assign]
        run_import(directory, "awo", "csv", first)
    seen["offers"] = directory.store.count_offers()
    seen["documents"] = directory.search_backend.count()
    seen["treff"] = titles(directory, "Seniorentreff")
    seen["cafe"] = titles(directory, "Erzählcafé")
    seen["applied_by_next_sync"] = directory.sync()
    seen["children_left"] = len(__import__("multiprocessing").active_children())
    directory.close()
    return seen


if __name__ == "__main__":
    ahead = sys.argv[3:] != ["sequential"]
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), ahead)), flush=True)
