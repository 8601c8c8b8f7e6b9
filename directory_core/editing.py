"""Changing offers on behalf of a principal: the rules every front door shares.

GraphQL mutations and the carrier area of the web pages both call these functions, so
the order of checks and their meaning is one implementation: the right to write the
offer's carrier (``NotAllowed``), the version the caller saw (``VersionConflict``), the
validator (``OfferValidationError``), then one ``Directory.save`` with the version check
in SQL and the history row (how = ``api``: both doors are clients of the directory).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .auth import Principal
from .directory import Directory
from .history import Actor, VersionConflict
from .model import Offer, OfferStatus
from .store import utcnow


class NotAllowed(Exception):
    """The principal may not write offers of ``carrier``; the message says why."""

    def __init__(self, message: str, carrier: str | None):
        super().__init__(message)
        self.carrier = carrier


class NoSuchOffer(LookupError):
    """No offer has this id."""


class WrongState(ValueError):
    """The change does not fit the offer's status (e.g. restoring an active offer)."""


def check_write(principal: Principal, carrier: str | None) -> None:
    """``NotAllowed`` unless ``principal`` may write offers of ``carrier``."""
    if not principal.writes:
        raise NotAllowed(
            f"The role {principal.role} cannot change offers (editors and admins can)", carrier
        )
    if not principal.may_write(carrier):
        what = f"of carrier {carrier!r}" if carrier else "without a carrier"
        raise NotAllowed(
            f"{principal.name} may not change offers {what}; allowed carriers: "
            f"{', '.join(sorted(principal.carriers)) or 'none'}",
            carrier,
        )


def actor(principal: Principal, note: str = "") -> Actor:
    return Actor(principal.name, "api", note=note)


def create(directory: Directory, principal: Principal, offer: Offer) -> Offer:
    """Validate and save a new offer of a carrier the principal may write."""
    check_write(principal, offer.carrier)
    directory.save([offer], where="input", actor=actor(principal))
    return offer


def change(
    directory: Directory,
    principal: Principal,
    offer_id: str,
    version: int,
    apply: Callable[[Offer], None],
) -> Offer:
    """Load the offer, check the right and the version, ``apply`` the change, check the
    right again (the carrier may have changed), validate and save with the version
    check."""
    offer = _writable(directory, principal, offer_id, version)
    previous = copy.deepcopy(offer)
    apply(offer)
    check_write(principal, offer.carrier)
    directory.save(
        [offer],
        where="input",
        actor=actor(principal),
        expect={offer.id: version},
        previous={offer.id: previous},
    )
    return offer


def _writable(directory: Directory, principal: Principal, offer_id: str, version: int) -> Offer:
    """The offer, once the principal's right to write it and its version are checked."""
    offer = directory.get(offer_id)
    if offer is None:
        raise NoSuchOffer(offer_id)
    check_write(principal, offer.carrier)
    if offer.version != version:
        raise VersionConflict(offer_id, version, offer.version)
    return offer


def verify(directory: Directory, principal: Principal, offer_id: str, version: int) -> Offer:
    """Confirm the offer is current: ``verified_at`` now, ``verified_by`` the principal."""

    def apply(offer: Offer) -> None:
        offer.verified_at = utcnow()
        offer.verified_by = principal.name

    return change(directory, principal, offer_id, version, apply)


def restore(directory: Directory, principal: Principal, offer_id: str, version: int) -> Offer:
    """Make an archived offer active again."""

    def apply(offer: Offer) -> None:
        if offer.status != OfferStatus.ARCHIVED:
            raise WrongState("the offer is not archived")
        offer.status = OfferStatus.ACTIVE.value

    return change(directory, principal, offer_id, version, apply)


def archive(
    directory: Directory, principal: Principal, offer_id: str, version: int, reason: str = ""
) -> Offer:
    """Archive an offer (never deleted); ``reason`` goes into its history."""
    offer = _writable(directory, principal, offer_id, version)
    if offer.status == OfferStatus.ARCHIVED:
        raise WrongState("the offer is archived already")
    [archived] = directory.archive(
        [offer_id], actor=actor(principal, note=reason.strip()), expect={offer_id: version}
    )
    return archived


def offers_for(directory: Directory, principal: Principal, limit: int = 1000) -> list[Offer]:
    """The offers a principal may write (an editor's carriers; an admin: all), active
    before archived, then by title."""
    import sqlalchemy as sa

    from . import tables as t

    offers = t.offers.c
    query = sa.select(offers.id).order_by(offers.status, offers.title, offers.id).limit(limit)
    if principal.role != "admin":
        query = query.where(offers.carrier.in_(sorted(principal.carriers)))
    with directory.store.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    found = directory.get_many(ids)
    return [found[i] for i in ids if i in found]
