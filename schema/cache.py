"""Offers kept in memory between requests, dropped as soon as the store says they changed.

Loading a page of offers from the store costs more than answering the whole GraphQL
request (SQL, JSON columns, dataclasses), and counsellors ask for the same
neighbourhoods all day. Every write of an offer, from any process, adds a row to the
store's outbox in the same transaction (``Store.write_offers``); before each look-up the
cache reads the outbox rows it has not seen yet (one indexed query, usually empty) and
forgets those offers. So a cached offer is never older than the outbox position read at
the start of the request: the same guarantee the search index has.

The cache keeps each offer's *record* (``Store.get_offer_records``: a tuple of plain
values) and builds a fresh ``Offer`` from it for every request. Cached ``Offer`` objects,
a dozen containers each, were walked by the garbage collector's young collections as the
cache changed: with offers spread over a city of 100,000 most pages are misses, and that
cost more (0.3 ms per page) than the hits saved. A record is looked at once and then left
alone, and no request can change an offer another one is serving.

When the cache is full, a loaded record takes the place of the least recently used one
only for a share of loads (``REPLACE_SHARE``, drawn at random), the rest are served and
let go. Replacing costs more than the look-up it may save later: the record pushed out
has not been touched for thousands of requests, and freeing its three dozen values
reads memory the processor no longer holds. With queries spread over more offers than
the cache holds (100,000 offers, pages anywhere in the city), replacing on every miss
made each page 0.05-0.14 ms slower than no cache at all; at an eighth, as fast as no
cache, with as many hits, since a full cache hits as often whichever offers it holds
when every offer is as likely to be asked for. Offers asked for again and again (a
counsellor's own district) still get in, after about eight misses; what a full cache
gives up is the second look at an offer just loaded (a page, then that offer's details),
which misses seven times in eight: one indexed read. A directory smaller than the cache
never fills it, and every offer is kept the first time.

Like the index sync (``directory_core.sync``), this relies on outbox ids becoming
visible in increasing order: SQLite has one writer at a time, and on PostgreSQL offer
writes take an advisory lock first (``Store.lock_outbox``), so one transaction's outbox
ids are committed before the next one draws any. Without that a sequence id could
become visible after a higher one, and moving the position past it would keep a stale
offer here for good.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from directory_core.directory import Directory
from directory_core.model import Offer
from directory_core.record_layout import offer_from_record
from directory_core.store_rows import OfferRecord

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection

DEFAULT_SIZE = 10_000
#: the share of loaded records that replace the least recently used one in a full cache
REPLACE_SHARE = 0.125
_OUTBOX_BATCH = 2_000


class OfferCache:
    """``get_many`` like ``Directory.get_many``, from memory where it can.

    ``size`` bounds the number of offers kept (least recently used go first); 0 turns
    the cache off, so every call reads the store. ``replace_share``: the share of the
    offers loaded into a full cache that replace one (see the module docstring); 1.0
    replaces on every miss. ``seed`` makes its draws repeatable (tests).
    """

    def __init__(
        self,
        directory: Directory,
        size: int = DEFAULT_SIZE,
        replace_share: float = REPLACE_SHARE,
        seed: int | None = None,
    ):
        if size < 0:
            raise ValueError(f"size must be 0 (no cache) or more, not {size!r}")
        if not 0.0 <= replace_share <= 1.0:
            raise ValueError(f"replace_share must be between 0 and 1, not {replace_share!r}")
        self.directory = directory
        self.size = size
        self.replace_share = replace_share
        self._random = random.Random(seed)
        self._offers: OrderedDict[str, OfferRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._position = directory.store.outbox_head() if size else 0
        self._generation = 0  # counts the catch-ups that forgot offers
        self.hits = 0
        self.misses = 0

    def get_many(self, ids: Iterable[str]) -> dict[str, Offer]:
        """The offers with these ids (unknown ids are left out)."""
        ids = list(ids)
        if not self.size:
            return self.directory.get_many(ids)
        records = self._records(ids)
        return {key: offer_from_record(records[key]) for key in ids if key in records}

    def get_records(self, ids: Iterable[str]) -> dict[str, OfferRecord]:
        """The records of the offers with these ids (``store_rows.OfferRecord``; unknown
        ids are left out), for answers built straight from them (``types.record_node``)."""
        ids = list(ids)
        if not self.size:
            return self.directory.store.get_offer_records(ids)
        return self._records(ids)

    def _records(self, ids: list[str]) -> dict[str, OfferRecord]:
        # one connection for the outbox head and the missing records (a checkout from
        # the pool costs as much as reading the head)
        with self.directory.store.reading() as conn:
            return self._records_on(conn, ids)

    def _records_on(self, conn: Connection, ids: list[str]) -> dict[str, OfferRecord]:
        # The store is read without the lock: worker threads would otherwise queue
        # behind one another's SQL (the lock is held for dict work only).
        head = self.directory.store.outbox_head(conn)
        with self._lock:
            self._catch_up(head)
            generation = self._generation
            found: dict[str, OfferRecord] = {}
            missing: list[str] = []
            for offer_id in ids:
                record = self._offers.get(offer_id)
                if record is None:
                    missing.append(offer_id)
                else:
                    self._offers.move_to_end(offer_id)
                    found[offer_id] = record
            self.hits += len(found)
            self.misses += len(missing)
        if missing:
            # read after the head: what is loaded is at least as new as the position
            loaded = self.directory.store.get_offer_records(missing, conn)
            found.update(loaded)
            with self._lock:
                # kept only if no write was forgotten meanwhile: one that another
                # thread caught up with may be newer than what was loaded here
                if self._generation == generation:
                    self._keep(loaded)
        return found

    def _keep(self, loaded: dict[str, OfferRecord]) -> None:
        """Add loaded records while there is room; once full, let each replace the least
        recently used record with the chance ``replace_share``. Called with the lock held."""
        offers = self._offers
        room = self.size - len(offers)
        draw = self._random.random
        for offer_id, record in loaded.items():
            if offer_id in offers:  # another request loaded it meanwhile
                offers[offer_id] = record
            elif room > 0:
                offers[offer_id] = record
                room -= 1
            elif draw() < self.replace_share:
                offers.popitem(last=False)
                offers[offer_id] = record

    def clear(self) -> None:
        with self._lock:
            self._offers.clear()

    def _catch_up(self, head: int) -> None:
        """Forget the offers written up to outbox position ``head`` (read before the lock
        was taken) since the last look-up; called with the lock held."""
        if head == self._position:  # the usual case
            return
        store = self.directory.store
        if head < self._position:  # another thread may have caught up since: read again
            head = store.outbox_head()
            if head == self._position:
                return
        self._generation += 1
        if head < self._position:  # the outbox was emptied or the store replaced
            self._offers.clear()
            self._position = head
            return
        while True:
            rows = store.outbox_after(self._position, _OUTBOX_BATCH)
            if not rows:
                return
            if len(rows) == _OUTBOX_BATCH:  # a big import: cheaper to start afresh
                self._offers.clear()
                self._position = store.outbox_head()
                return
            for _, offer_id, _ in rows:
                self._offers.pop(offer_id, None)
            self._position = rows[-1][0]

    def __len__(self) -> int:
        return len(self._offers)
