"""Batches of the index sync (``directory_core/sync.py``): a large write whose offers are
known goes to the index in few large batches; unknown changes in the default ones."""

from __future__ import annotations

from pathlib import Path

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
