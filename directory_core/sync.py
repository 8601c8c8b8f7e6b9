"""Keep a search index in step with the store through the outbox.

Every offer write adds an outbox row in the same transaction (``store.write_offers``).
``sync_index`` pushes the rows after the index's recorded position in bulk and then
moves the position on: at least once, so a crash between the two only re-sends
documents (indexing is idempotent), and nothing is lost while a backend is down.

This needs two things from the store, on SQLite and PostgreSQL alike:

* outbox ids become visible in increasing order, so nothing below the position can
  still appear (``Store.lock_outbox``: offer writes commit one at a time);
* one syncer per index at a time (``Store.sync_lock``, between processes too): otherwise
  a process that read an offer before a change could index it after a process that
  read it after the change, and the older document would stay while the position moves
  past the change. A sync waits ``SYNC_LOCK_SECONDS`` for another process's (a large
  import holds it until its offers are indexed), then gives up with
  ``SearchUnavailable``: the outbox keeps the changes for the next sync.

Offers just written by this process (``known``) are reused only while they are still
the stored version (same ``updated_at``): another process may have written the same
offer since.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack

from directory_search.base import IndexMissing, SearchBackend, SearchDocument, SearchUnavailable

from .model import Offer
from .store import Store

# outbox rows per batch when the offers of a large write are known (bounds the documents
# held at once, like the rebuild's batches)
KNOWN_BATCH_MAX = 25000
# seconds a sync waits for another process's sync of the same index
SYNC_LOCK_SECONDS = 10.0


def sync_index(
    store: Store,
    backend: SearchBackend,
    position_name: str,
    build: Callable[[Offer], SearchDocument],
    batch: int = 2000,
    known: Mapping[str, Offer] | None = None,
    indexed: Collection[str] = (),
) -> int:
    """Apply pending outbox rows to ``backend``; return how many rows were applied.

    ``known``: offers just committed by this process, by id, so they need not be read
    back from the store. ``indexed``: ids among them whose documents ``backend`` already
    holds, built from these offers (an import indexed them ahead of the store's commit);
    they are not indexed again while they are still the stored version.

    Raises the backend's error (e.g. ``SearchUnavailable``) without moving the position.
    Looks at the index first (``backend.verify``): a lost index raises ``IndexMissing``
    (``repair_index`` rebuilds it), so changes are never written into an index that
    lacks the rest of the offers.
    """
    if known:
        # a large write just committed goes to the index in few large batches (each
        # batch is one index transaction; a bulk one is also numbered in spatial order)
        batch = min(max(batch, len(known)), KNOWN_BATCH_MAX)
    with ExitStack() as held:
        try:  # only the lock's own wait: a TimeoutError of the backend stays what it is
            held.enter_context(store.sync_lock(position_name, timeout=SYNC_LOCK_SECONDS))
        except TimeoutError as exc:
            raise SearchUnavailable(f"another process is syncing the search index ({exc})") from exc
        except OSError as exc:  # the lock file cannot be made or locked
            raise SearchUnavailable(f"the sync lock of the search index: {exc}") from exc
        backend.verify()
        return _sync(store, backend, position_name, build, batch, known, indexed)


def _sync(
    store: Store,
    backend: SearchBackend,
    position_name: str,
    build: Callable[[Offer], SearchDocument],
    batch: int,
    known: Mapping[str, Offer] | None,
    indexed: Collection[str] = (),
) -> int:
    indexed = indexed if isinstance(indexed, (set, frozenset)) else frozenset(indexed)
    applied = 0
    position = store.sync_position(position_name)
    while True:
        rows = store.outbox_after(position, batch)
        if not rows:
            return applied
        ids = list(dict.fromkeys(offer_id for _, offer_id, _ in rows))
        reuse: dict[str, Offer] = {}
        if known:
            candidates = [i for i in ids if i in known]
            if candidates:
                stored = store.offer_versions(candidates)
                reuse = {
                    i: known[i]
                    for i in candidates
                    if known[i].updated_at is not None and stored.get(i) == known[i].updated_at
                }
        offers = {**store.get_offers([i for i in ids if i not in reuse]), **reuse}
        documents = [
            build(offers[i]) for i in ids if i in offers and not (i in reuse and i in indexed)
        ]
        gone = [i for i in ids if i not in offers]
        if documents:
            backend.index(documents)
        if gone:
            backend.delete(gone)
        position = rows[-1][0]
        store.set_sync_position(position_name, position)
        applied += len(rows)


def rebuild_index(
    store: Store,
    backend: SearchBackend,
    position_name: str,
    build: Callable[[Offer], SearchDocument],
    batch: int = 25000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild ``backend`` from every offer of the store; return the count.

    The documents go to ``backend.rebuild`` batch by batch: the default clears the index
    first, Elasticsearch builds a new index next to the old one and swaps its alias, so
    searches keep working. Large batches let a backend use its bulk path (the embedded
    one numbers a batch of 20,000 or more in spatial order, which keeps nearby queries
    fast at 1M offers)."""
    with store.sync_lock(position_name):  # no sync of the same index meanwhile
        return _rebuild(store, backend, position_name, build, batch, progress)


def repair_index(
    store: Store,
    backend: SearchBackend,
    position_name: str,
    build: Callable[[Offer], SearchDocument],
) -> int | None:
    """Rebuild ``backend`` from the store if its index is (still) missing; return the
    number of offers indexed, ``None`` when another process repaired it first (checked
    under the sync lock, so several servers that notice the loss rebuild it once).

    An index never synced (position 0) is created empty: the outbox, which keeps every
    change from the first one, fills it on the next sync in the usual bulk requests."""
    with store.sync_lock(position_name):
        try:
            backend.verify()
        except IndexMissing:
            if store.sync_position(position_name) == 0:
                backend.rebuild([])
                return 0
            return _rebuild(store, backend, position_name, build, 25000, None)
        return None


def _rebuild(
    store: Store,
    backend: SearchBackend,
    position_name: str,
    build: Callable[[Offer], SearchDocument],
    batch: int,
    progress: Callable[[int], None] | None,
) -> int:
    head = store.outbox_head()  # rows after this are picked up by the next sync
    count = 0

    def batches() -> Iterator[list[SearchDocument]]:
        nonlocal count
        for ids in store.iter_offer_ids(batch):
            offers = store.get_offers(ids)
            yield [build(offers[i]) for i in ids if i in offers]
            count += len(ids)
            if progress:
                progress(count)

    backend.rebuild(batches())
    store.set_sync_position(position_name, head)
    return count
