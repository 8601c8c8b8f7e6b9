"""The API's offer cache: served from memory until the store's outbox says otherwise."""

from __future__ import annotations

import gc

import pytest
from directory_schema import cache as cache_module
from directory_schema.cache import OfferCache

from .conftest import build_known_offers


def test_hits_after_the_first_read(directory):
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    ids = [known["cafe"].id, known["treff"].id, "00000000-0000-4000-8000-999999999999"]
    first = cache.get_many(ids)
    assert list(first) == ids[:2]  # unknown ids are left out, order kept
    assert (cache.hits, cache.misses) == (0, 3)
    second = cache.get_many(ids)
    assert second == first
    assert (cache.hits, cache.misses) == (2, 4)


@pytest.mark.parametrize("size", [100, 0])
def test_records_are_the_stores_with_or_without_a_cache(directory, size):
    """``get_records`` (what the API's pages read) gives the store's records, from
    memory or, with the cache off, from the store each time; unknown ids left out."""
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory, size=size)
    ids = [known["cafe"].id, "00000000-0000-4000-8000-999999999999", known["treff"].id]
    stored = directory.store.get_offer_records(ids)
    for _ in range(2):
        assert cache.get_records(ids) == stored
        assert list(cache.get_records(ids)) == [ids[0], ids[2]]
    assert (cache.hits, len(cache)) == ((6, 2) if size else (0, 0))
    cafe = known["cafe"]
    cafe.title = "Neuer Titel"
    directory.save([cafe])
    assert cache.get_records([cafe.id])[cafe.id][2] == "Neuer Titel"


def test_a_write_from_anywhere_drops_the_offer(directory):
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cafe = known["cafe"]
    assert cache.get_many([cafe.id])[cafe.id].title == "Demenzcafé am Phoenix-See"
    cafe.title = "Neuer Titel"
    with directory.store.transaction() as conn:  # as another process would, store only
        directory.store.write_offers(conn, [cafe])
    assert cache.get_many([cafe.id])[cafe.id].title == "Neuer Titel"
    directory.archive([cafe.id])
    assert cache.get_many([cafe.id])[cafe.id].status == "archived"


def test_least_recently_used_offers_go_first(directory):
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory, size=2, replace_share=1.0)
    a, b, c = known["cafe"].id, known["treff"].id, known["circle"].id
    cache.get_many([a, b])
    cache.get_many([a])  # a is now the most recent
    cache.get_many([c])
    assert len(cache) == 2
    hits = cache.hits
    cache.get_many([a, c])
    assert cache.hits == hits + 2


def test_a_full_cache_replaces_only_a_share_of_what_it_loads(directory):
    known = build_known_offers()
    directory.save(list(known.values()))
    a, b, c = known["cafe"].id, known["treff"].id, known["circle"].id
    never = OfferCache(directory, size=2, replace_share=0.0)
    never.get_many([a, b])  # room for both: kept the first time
    assert never.get_many([c]) == {c: directory.get(c)}  # served all the same
    assert len(never) == 2 and never.get_many([c]) and never.misses == 4
    never.get_many([a, b])
    assert never.hits == 2  # nothing pushed out

    # an offer asked for again and again gets in after a few misses
    share = OfferCache(directory, size=2, replace_share=0.125, seed=1)
    share.get_many([a, b])
    asked = 0
    while share.get_many([c]) and share.hits == 0:
        asked += 1
        assert asked < 200
    assert len(share) == 2 and asked > 1  # not on its first miss (with this seed)

    # once full, about that share of the loads replace one
    many = OfferCache(directory, size=1, replace_share=0.25, seed=7)
    many.get_many([a])
    replaced = 0
    for _ in range(400):
        held = next(iter(many._offers))
        many.get_many([b if held == a else a])  # always the one not held: a miss
        replaced += next(iter(many._offers)) != held
    assert many.hits == 0
    assert 60 <= replaced <= 140  # 100 expected of 400 loads


def test_an_offer_loaded_again_takes_its_own_place(directory):
    """Two requests may load the same offer: the second load replaces the record in
    place and pushes nothing out of a full cache."""
    known = build_known_offers()
    directory.save(list(known.values()))
    a, b = known["cafe"].id, known["treff"].id
    cache = OfferCache(directory, size=2, replace_share=1.0)
    cache.get_many([a, b])
    record = directory.store.get_offer_records([a])[a]
    with cache._lock:
        cache._keep({a: record})
    assert list(cache._offers) == [a, b] and cache._offers[a] is record


def test_the_share_must_be_a_probability_and_the_size_not_negative(directory):
    with pytest.raises(ValueError, match="between 0 and 1"):
        OfferCache(directory, replace_share=1.5)
    with pytest.raises(ValueError, match="size must be 0"):
        OfferCache(directory, size=-1)


def test_size_zero_reads_the_store_every_time(directory):
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory, size=0)
    cache.get_many([known["cafe"].id])
    cache.get_many([known["cafe"].id])
    assert len(cache) == 0


def test_a_big_import_clears_everything(directory, monkeypatch):
    monkeypatch.setattr(cache_module, "_OUTBOX_BATCH", 3)
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cache.get_many([o.id for o in known.values()])
    assert len(cache) == len(known)
    directory.save([known["cafe"], known["treff"], known["circle"], known["office"]])
    cache.get_many([known["phone"].id])
    assert len(cache) == 1  # everything was dropped, then the one offer read again


def test_a_write_during_a_load_is_not_hidden_by_it(directory, monkeypatch):
    """The store is read outside the lock: a load that began before a write, finishing
    after another request caught up with that write, must not cache the old offer."""
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cafe = known["cafe"]
    read = directory.store.get_offer_records
    stale = read([cafe.id])  # what the slow load sees: the offer before the write

    def slow_load(ids, conn=None):
        monkeypatch.setattr(directory.store, "get_offer_records", read)
        cafe.title = "Neuer Titel"
        with directory.store.transaction() as conn:
            directory.store.write_offers(conn, [cafe])
        assert cache.get_many([cafe.id])[cafe.id].title == "Neuer Titel"  # catches up
        return stale

    monkeypatch.setattr(directory.store, "get_offer_records", slow_load)
    assert cache.get_many([cafe.id])[cafe.id].title == "Demenzcafé am Phoenix-See"
    assert cache.get_many([cafe.id])[cafe.id].title == "Neuer Titel"


def test_a_stale_outbox_head_does_not_clear_the_cache(directory):
    """A request that read the outbox head before another one caught up brings an older
    head than the cache's position: that is not an emptied outbox."""
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cache.get_many([known["cafe"].id])
    old_head = directory.store.outbox_head()
    directory.save([known["treff"]])
    cache.get_many([known["cafe"].id])  # catches up past old_head
    with cache._lock:
        cache._catch_up(old_head)
    assert len(cache) == 1


def test_cached_offers_are_records_the_garbage_collector_leaves_alone(directory):
    """The cache keeps tuples of plain values: after one collection the collector no
    longer follows them (cached ``Offer`` objects were walked again and again)."""
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cache.get_many([o.id for o in known.values()])
    # a record is untracked once its categories tuple is; which of the two the
    # collector looks at first depends on the generations they were in
    gc.collect()
    gc.collect()
    records = list(cache._offers.values())
    assert len(records) == len(known)
    assert not any(gc.is_tracked(record) for record in records)


def test_every_look_up_gets_offers_of_its_own(directory):
    """A request may change the offers it got (a write path does) without changing
    what the cache gives the next one."""
    known = build_known_offers()
    directory.save(list(known.values()))
    cache = OfferCache(directory)
    cafe = known["cafe"]
    first = cache.get_many([cafe.id])[cafe.id]
    first.title = "geändert"
    first.categories.append("x")
    first.schedule.rules.clear()
    again = cache.get_many([cafe.id])[cafe.id]
    assert again == directory.get_many([cafe.id])[cafe.id]
    assert again.title == cafe.title and again.schedule.rules
    assert cache.hits == 1
