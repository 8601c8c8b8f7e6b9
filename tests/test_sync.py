"""Batches of the index sync (``directory_core/sync.py``): a large write whose offers are
known goes to the index in few large batches; unknown changes in the default ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory_core.categories import default_categories
from directory_core.model import Carrier, District, Offer
from directory_core.store import Store
from directory_core.sync import KNOWN_BATCH_MAX, sync_index


class CountingIndex:
    """Stands in for a search backend: counts the batches it is given."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.ids: set[str] = set()

    def index(self, documents: list[str]) -> None:
        self.batches.append(len(documents))
        self.ids.update(documents)

    def delete(self, ids: list[str]) -> None:
        self.ids.difference_update(ids)

    def verify(self) -> None:
        """Never lost."""


def _offers(n: int) -> list[Offer]:
    return [
        Offer(
            id=f"00000000-0000-4000-8000-{i:012d}",
            title=f"Angebot {i}",
            kind="service",
            carrier="awo",
            categories=["dementia.advice"],
            district="hoerde",
            external_id=f"awo-{i}",
        )
        for i in range(n)
    ]


def _store(tmp_path: Path, offers: list[Offer]) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.replace_reference_data(
        [District("hoerde", "Hörde", 51.4833, 7.5)], [Carrier("awo", "AWO")], default_categories()
    )
    with store.transaction() as conn:
        store.write_offers(conn, offers)
    return store


def test_a_known_large_write_goes_to_the_index_in_one_batch(tmp_path):
    offers = _offers(4500)
    store = _store(tmp_path, offers)
    index = CountingIndex()
    known = {o.id: o for o in offers}
    assert sync_index(store, index, "search:t", lambda o: o.id, known=known) == 4500
    assert index.batches == [4500]
    assert index.ids == set(known)
    store.close()


def test_unknown_changes_go_in_the_default_batches(tmp_path):
    store = _store(tmp_path, _offers(4500))
    index = CountingIndex()
    assert sync_index(store, index, "search:t", lambda o: o.id) == 4500
    assert index.batches == [2000, 2000, 500]
    store.close()


def test_known_batches_are_bounded():
    assert 2000 < KNOWN_BATCH_MAX <= 50_000  # documents held in memory at once


def test_offers_indexed_ahead_are_skipped_only_while_they_are_the_stored_version(tmp_path):
    offers = _offers(10)
    store = _store(tmp_path, offers)
    known = {o.id: o for o in offers}
    # another writer changes two of them after the import's commit
    changed = [store.get_offer(offers[0].id), store.get_offer(offers[1].id)]
    for offer in changed:
        offer.title = "geändert"
    with store.transaction() as conn:
        store.write_offers(conn, changed)
    index = CountingIndex()
    applied = sync_index(store, index, "search:t", lambda o: o.title, known=known, indexed=known)
    assert applied == 12  # ten rows of the import, two of the change
    # the eight still stored as written are not indexed again; the two changed ones are
    # indexed from the store, in their new version
    assert index.ids == {"geändert"} and sum(index.batches) == 2
    assert sync_index(store, index, "search:t", lambda o: o.title) == 0  # position moved
    store.close()


def test_a_sync_gives_up_while_another_process_holds_the_index(tmp_path, monkeypatch):
    from directory_search.base import SearchUnavailable

    from directory_core import sync

    store = _store(tmp_path, _offers(3))
    other = Store.open(store.url)  # its own lock file descriptor: another process's
    monkeypatch.setattr(sync, "SYNC_LOCK_SECONDS", 0.2)
    index = CountingIndex()
    try:
        with other.sync_lock("search:t"):
            with pytest.raises(SearchUnavailable, match="another process is syncing"):
                sync_index(store, index, "search:t", lambda o: o.id)
        assert index.batches == []
        assert sync_index(store, index, "search:t", lambda o: o.id) == 3
    finally:
        other.close()
        store.close()
