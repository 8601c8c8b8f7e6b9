"""index_ahead: a large import indexed by a forked process while the store writes it.

The imports run in a process of their own (``index_ahead_script.py``): the indexing
process is forked only from a process with one thread.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from directory_search.embedded import EmbeddedBackend

from directory_core import index_ahead
from directory_core.directory import open_directory

from .import_fixtures import ROOT

SCRIPT = "tests.index_ahead_script"


def run(scenario: str, folder: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(
        [sys.executable, "-m", SCRIPT, scenario, str(folder), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, lines, done.stderr


def test_a_large_import_is_indexed_by_the_second_process_with_the_same_result(tmp_path):
    (tmp_path / "ahead").mkdir()
    (tmp_path / "sequential").mkdir()
    code, [ahead], errors = run("import", tmp_path / "ahead")
    assert code == 0, errors
    code, [sequential], errors = run("import", tmp_path / "sequential", "sequential")
    assert code == 0, errors
    assert ahead["threads"] == 1
    # while the store wrote, the child held the index's write transaction: nothing of
    # it was searchable, and no other process could sync the index
    assert ahead["child_writing"] and not sequential["child_writing"]
    assert ahead["documents_before_commit"] == 0
    assert ahead["sync_lock_free"] is False and sequential["sync_lock_free"] is True
    # every document came from the forked process, in both runs (new, changed, archived)
    assert ahead["given_here"] == 0 and ahead["given_here_second"] == 0
    assert sequential["given_here"] == 60 and sequential["given_here_second"] == 30
    assert ahead["second"] == {
        "created": 0,
        "updated": 20,
        "unchanged": 30,
        "archived": 10,
        "rejected": 0,
    }
    # the index ends as after the sequential path, and its position is past the import
    for key in ("offers", "documents", "treff", "cafe", "second"):
        assert ahead[key] == sequential[key], key
    assert ahead["documents"] == 60 and len(ahead["cafe"]) == 20
    assert sum(title.endswith("|archived") for title in ahead["treff"]) == 10
    assert ahead["applied_by_next_sync"] == 0
    assert ahead["children_left"] == 0


def test_a_failed_store_write_leaves_no_document_in_the_index(tmp_path):
    code, [seen], errors = run("store fails", tmp_path)
    assert code == 0, errors
    assert seen["error"] == "disk full"
    assert seen["child_writing"]  # the child had begun when the store failed
    assert seen["offers"] == 0 and seen["documents"] == 0
    assert seen["children_left"] == 0


def test_when_the_second_process_fails_the_import_indexes_in_its_own(tmp_path):
    code, [seen], errors = run("child fails", tmp_path)
    assert code == 0, errors
    assert "indexing ahead of the store's commit failed (OSError: no file handles left)" in errors
    assert seen["given_here"] == 60
    assert seen["offers"] == 60 and seen["documents"] == 60
    assert seen["applied_by_next_sync"] == 0


def test_while_another_process_holds_the_sync_lock_the_import_leaves_it_to_the_outbox(
    tmp_path,
):
    code, [seen], errors = run("lock held", tmp_path)
    assert code == 0, errors
    assert seen["created"] == 60 and seen["offers"] == 60
    # no second process (it needs the lock), and the import's own sync gave up in time
    assert seen["given_here"] == 0 and seen["documents_while_held"] == 0
    assert "another process is syncing the search index" in errors
    assert seen["documents"] == 0 and seen["applied_by_next_sync"] == 60


def test_a_commit_that_comes_while_the_child_still_writes_is_kept(tmp_path):
    code, [seen], errors = run("slow child", tmp_path)
    assert code == 0, errors
    assert seen["seconds"] >= 60 * 0.02  # the child's writing outlasted the store's
    assert seen["given_here"] == 0  # and it still committed what it wrote
    assert seen["offers"] == seen["documents"] == 60
    assert seen["applied_by_next_sync"] == 0


def test_a_child_with_much_left_ends_with_its_killed_parent(tmp_path):
    code, lines, errors = run("parent dies early", tmp_path)
    assert code == -9, errors
    died_at = lines[0]["at"]
    # 60 documents at 0.2 s each would keep the child 12 s; it ends with its parent
    deadline = died_at + 5
    while True:
        backend = EmbeddedBackend(tmp_path / "store.search.sqlite", timeout=0.2)
        try:
            if _writable(backend):
                assert backend.count() == 0
                break
        finally:
            backend.close()
        assert time.time() < deadline, "the child kept the index locked"
        time.sleep(0.1)


def test_when_the_importing_process_dies_the_second_one_rolls_back(tmp_path):
    code, lines, errors = run("parent dies", tmp_path)
    assert code == 7, errors
    assert lines[0]["child_writing"]
    # the forked process sees its parent's end close, rolls back and ends: the index is
    # writable again and holds nothing, as the store holds nothing
    deadline = time.monotonic() + 30
    while True:
        backend = EmbeddedBackend(tmp_path / "store.search.sqlite", timeout=0.5)
        try:
            backend.index([])  # nothing to write: only the file must open
            if backend.count() == 0 and _writable(backend):
                break
        finally:
            backend.close()
        assert time.monotonic() < deadline, "the index stayed locked"
        time.sleep(0.2)


def _writable(backend: EmbeddedBackend) -> bool:
    try:
        backend.set_meta("test.probe", "1")
    except Exception:
        return False
    return True


def test_used_only_for_large_imports_on_sqlite_with_one_thread(directory, monkeypatch):
    monkeypatch.setattr(index_ahead, "MIN_OFFERS", 10)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert index_ahead.usable(directory, 10)
    assert not index_ahead.usable(directory, 9)
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not index_ahead.usable(directory, 10_000)


def test_not_used_with_the_index_in_the_stores_own_file(dortmund_instance, monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    store_file = dortmund_instance.store_url.removeprefix("sqlite:///")
    settings = dataclasses.replace(dortmund_instance.search, path=store_file)
    shared = open_directory(dataclasses.replace(dortmund_instance, search=settings))
    beside = open_directory(dortmund_instance)
    try:
        assert not index_ahead.usable(shared, 10**6)
        assert index_ahead.usable(beside, 10**6)
    finally:
        shared.close()
        beside.close()


def test_not_used_with_an_index_no_other_process_can_open(dortmund_instance, monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    memory = open_directory(dortmund_instance)
    try:
        memory.search_backend.close()
        memory.search_backend = EmbeddedBackend(":memory:")
        assert not memory.search_backend.can_reopen()
        assert not index_ahead.usable(memory, 10**6)
    finally:
        memory.close()
