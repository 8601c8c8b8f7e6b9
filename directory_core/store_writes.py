"""Writing offers to the store: the versioned upsert with its outbox rows and history, and
deletes. A mixin of ``store.Store``, split from ``store.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import history
from . import tables as t
from .history import Actor, VersionConflict
from .model import (
    Offer,
)
from .store_connection import (
    _utc,
    insert_rows,
    utcnow,
)
from .store_rows import _offer_to_row

_CHUNK = 500  # ids per "IN (...)" look-up

# A large write on SQLite gets a larger page cache for its transaction (negative: KiB).
# The offers' ids are random, so every index keyed by them (offers, offer_categories,
# offer_history, outbox) is written all over; with SQLite's default 2 MiB cache the
# dirty pages of a 100,000-offer import spill to the WAL mid-transaction and are read
# back again and again (the import of the millionth offer was slower than the first).
BULK_CACHE_OFFERS = 1000
BULK_CACHE_KIB = -262144


@contextmanager
def _bulk_cache(conn: Connection, count: int) -> Iterator[None]:
    """``BULK_CACHE_KIB`` of page cache on ``conn`` while a write of ``count`` offers
    runs (SQLite, ``count >= BULK_CACHE_OFFERS``); the connection's own size after."""
    if conn.dialect.name != "sqlite" or count < BULK_CACHE_OFFERS:
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size={BULK_CACHE_KIB}")
    restore = f"PRAGMA cache_size={int(before)}"
    try:
        yield
    except BaseException:
        # the write's own error is what the caller must see (``is_outage`` and the retry
        # look at it); a connection it broke cannot take the PRAGMA and is discarded
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.exec_driver_sql(restore)
        raise
    conn.exec_driver_sql(restore)


class StoreWrites:
    """Offer writes of ``Store`` (uses its engine, outbox lock and reads)."""

    def write_offers(
        self,
        conn: Connection,
        offers: list[Offer],
        *,
        actor: Actor | None = None,
        previous: dict[str, Offer] | None = None,
        expect: dict[str, int] | None = None,
    ) -> set[str]:
        """Insert or update ``offers`` (by id), record them in the outbox and in the
        history (``history.py``); return the ids that existed before (updated rather
        than created).

        Runs inside the caller's transaction; ``created_at``/``updated_at`` and
        ``version`` are set here (1 for a new offer, one more on every update).
        ``actor`` says who writes and how (default: the CLI's login name).
        ``previous``: the stored offers before the change, if the caller has read them
        already (else they are read here) — the history's "old" values.
        ``expect``: offer id -> the version the caller saw; checked and bumped by one
        atomic ``UPDATE ... WHERE version = :v`` before anything else, so of two writers
        with the same version exactly one succeeds; the other gets ``VersionConflict``
        (and its transaction must roll back).
        """
        if not offers:
            return set()
        with _bulk_cache(conn, len(offers)):
            return self._write_offers(conn, offers, actor, previous, expect)

    def _write_offers(
        self,
        conn: Connection,
        offers: list[Offer],
        actor: Actor | None,
        previous: dict[str, Offer] | None,
        expect: dict[str, int] | None,
    ) -> set[str]:
        actor = actor or Actor.cli()
        expect = expect or {}
        self.lock_outbox(conn)
        now = utcnow()
        for offer_id, version in expect.items():
            bumped = conn.execute(
                sa.update(t.offers)
                .where(t.offers.c.id == offer_id, t.offers.c.version == version)
                .values(version=version + 1)
            ).rowcount
            if bumped != 1:
                current = conn.execute(
                    sa.select(t.offers.c.version).where(t.offers.c.id == offer_id)
                ).scalar()
                raise VersionConflict(offer_id, version, current)
        ids = [o.id for o in offers]
        existing: dict[str, datetime] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for row in conn.execute(
                sa.select(t.offers.c.id, t.offers.c.created_at).where(t.offers.c.id.in_(chunk))
            ):
                existing[row.id] = _utc(row.created_at)
        if previous is None:
            previous = self.get_offers(existing, conn)
        inserts, updates = [], []
        new_rows: list[dict[str, Any]] = []
        for offer in offers:
            offer.created_at = existing.get(offer.id) or offer.created_at or now
            offer.updated_at = now
            if offer.id not in existing:
                offer.version = 1
            row = _offer_to_row(offer)
            new_rows.append(row)
            (updates if offer.id in existing else inserts).append(row)
        if inserts:
            insert_rows(conn, t.offers, inserts)
        if updates:
            # the version is bumped by SQL (below), never written from memory
            columns = {c: sa.bindparam(f"v_{c}") for c in updates[0] if c not in ("id", "version")}
            conn.execute(
                sa.update(t.offers).where(t.offers.c.id == sa.bindparam("v_id")).values(columns),
                [{f"v_{k}": v for k, v in row.items() if k != "version"} for row in updates],
            )
            unexpected = [row["id"] for row in updates if row["id"] not in expect]
            versions: dict[str, int] = {}
            for start in range(0, len(updates), _CHUNK):
                bump = unexpected[start : start + _CHUNK]
                if bump:
                    conn.execute(
                        sa.update(t.offers)
                        .where(t.offers.c.id.in_(bump))
                        .values(version=t.offers.c.version + 1)
                    )
                chunk = [row["id"] for row in updates[start : start + _CHUNK]]
                conn.execute(
                    sa.delete(t.offer_categories).where(t.offer_categories.c.offer_id.in_(chunk))
                )
                for row in conn.execute(
                    sa.select(t.offers.c.id, t.offers.c.version).where(t.offers.c.id.in_(chunk))
                ):
                    versions[row.id] = row.version
            for offer in offers:
                if offer.id in versions:
                    offer.version = versions[offer.id]
        links = [
            {"offer_id": o.id, "category": key, "position": i}
            for o in offers
            for i, key in enumerate(o.categories)
        ]
        insert_rows(conn, t.offer_categories, links)
        insert_rows(
            conn,
            t.outbox,
            [{"offer_id": o.id, "action": "upsert", "created_at": now} for o in offers],
        )
        entries = []
        # the row written above serves the history too (only the version, which the
        # history does not compare, may have moved since)
        for offer, row in zip(offers, new_rows, strict=True):
            before = previous.get(offer.id) if offer.id in existing else None
            old_row = None
            if before is not None:
                old_row = {**_offer_to_row(before), "categories": list(before.categories)}
            new_row = {**row, "categories": list(offer.categories)}
            entries.append(
                {
                    "offer_id": offer.id,
                    "version": offer.version,
                    "at": now,
                    "who": actor.who[:200],
                    "how": actor.how,
                    "note": actor.note,
                    "changes": history.changes(old_row, new_row),
                }
            )
        history.record(conn, entries)
        return set(existing)

    def delete_offers(self, conn: Connection, ids: list[str]) -> None:
        """Remove offers for good (only for tests and data-protection requests; the
        normal way out is ``status = archived``)."""
        if not ids:
            return
        self.lock_outbox(conn)
        now = utcnow()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            conn.execute(
                sa.delete(t.offer_categories).where(t.offer_categories.c.offer_id.in_(chunk))
            )
            conn.execute(sa.delete(t.offers).where(t.offers.c.id.in_(chunk)))
        if ids:
            conn.execute(
                sa.insert(t.outbox),
                [{"offer_id": i, "action": "delete", "created_at": now} for i in ids],
            )
