"""Where the embedded index lives (a file of its own beside the store's) and the move of
an index that earlier versions kept in the store's own file."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from pathlib import Path

from directory_search.backends import embedded_path
from directory_search.base import SearchQuery

from directory_core.directory import open_directory

from .conftest import dortmund_instance_at, load_known_offers

EVERY_OFFER = SearchQuery(near=None, limit=500, include_archived=True)


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_the_index_gets_a_file_of_its_own_beside_the_store(tmp_path):
    instance = dortmund_instance_at(tmp_path / "dortmund.sqlite")
    directory = open_directory(instance)
    try:
        assert embedded_path(instance, directory.store) == tmp_path / "dortmund.search.sqlite"
        assert directory.search_backend.created
        assert directory.search(EVERY_OFFER).hits == []  # new and empty, but searchable
        load_known_offers(directory, samples=5)
        assert not any(name.startswith("search_") for name in tables(tmp_path / "dortmund.sqlite"))
        assert "search_doc" in tables(tmp_path / "dortmund.search.sqlite")
    finally:
        directory.close()
    named = dataclasses.replace(
        instance, search=dataclasses.replace(instance.search, path=str(tmp_path / "x.sqlite"))
    )
    assert embedded_path(named, directory.store) == tmp_path / "x.sqlite"


def test_an_index_in_the_store_file_moves_to_its_own_and_is_filled_from_the_store(tmp_path, caplog):
    store_file = tmp_path / "dortmund.sqlite"
    instance = dortmund_instance_at(store_file)
    old_layout = dataclasses.replace(
        instance, search=dataclasses.replace(instance.search, path=str(store_file))
    )
    directory = open_directory(old_layout)  # as earlier versions kept it
    try:
        load_known_offers(directory, samples=25)
        before = [hit.id for hit in directory.search(EVERY_OFFER).hits]
        near = SearchQuery(near=None, text="Demenz", limit=50)
        before_text = [hit.id for hit in directory.search(near).hits]
    finally:
        directory.close()
    assert "search_doc" in tables(store_file) and len(before) > 25 and before_text

    with caplog.at_level(logging.WARNING):
        directory = open_directory(instance)
    try:
        assert directory.search_backend.created
        assert sorted(hit.id for hit in directory.search(EVERY_OFFER).hits) == sorted(before)
        assert [hit.id for hit in directory.search(near).hits] == before_text
        assert directory.sync() == 0  # its position is where the store's outbox ends
    finally:
        directory.close()
    assert not any(name.startswith("search_") for name in tables(store_file))
    assert "offers" in tables(store_file)
    assert "the search index moved" in caplog.text

    directory = open_directory(instance)  # opened again: nothing new, nothing moved
    try:
        assert not directory.search_backend.created
        assert len(directory.search(EVERY_OFFER).hits) == len(before)
    finally:
        directory.close()


def test_a_lost_index_file_is_rebuilt_from_the_store(tmp_path):
    instance = dortmund_instance_at(tmp_path / "dortmund.sqlite")
    directory = open_directory(instance)
    try:
        load_known_offers(directory, samples=5)
        count = directory.search_backend.count()
        near = SearchQuery(near=None, text="Demenz", limit=50)
        found = [hit.id for hit in directory.search(near).hits]
    finally:
        directory.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'dortmund.search.sqlite'}{suffix}").unlink(missing_ok=True)
    directory = open_directory(instance)
    try:
        assert directory.search_backend.count() == count > 5
        assert [hit.id for hit in directory.search(near).hits] == found
    finally:
        directory.close()
