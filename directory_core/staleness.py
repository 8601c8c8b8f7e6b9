"""Which offers nobody has confirmed for a while (``verified_at`` too old or never set).

Used by ``directory stale`` and the GraphQL ``staleOffers`` field, so the CLI and the API
list the same offers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import tables as t
from .model import Offer
from .store import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

DEFAULT_DAYS = 365


def stale_cutoff(days: int, now: datetime | None = None) -> datetime:
    """Offers verified before this moment are stale."""
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    return (now or utcnow()) - timedelta(days=days)


def is_stale(offer: Offer, days: int = DEFAULT_DAYS, now: datetime | None = None) -> bool:
    return offer.verified_at is None or offer.verified_at < stale_cutoff(days, now)


def stale_offers(
    store: Store,
    days: int = DEFAULT_DAYS,
    carriers: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Offer]:
    """Active offers not verified within ``days`` (never-verified first, then the
    oldest), of ``carriers`` if given."""
    cutoff = stale_cutoff(days)
    offers = t.offers.c
    query = (
        sa.select(offers.id)
        .where(
            offers.status == "active",
            sa.or_(offers.verified_at.is_(None), offers.verified_at < cutoff),
        )
        .order_by(
            sa.case((offers.verified_at.is_(None), 0), else_=1),
            offers.verified_at,
            offers.title,
            offers.id,
        )
    )
    if carriers is not None:
        query = query.where(offers.carrier.in_(sorted(set(carriers))))
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    found = store.get_offers(ids)
    return [found[i] for i in ids if i in found]
