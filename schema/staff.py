"""Queries for signed-in staff: who am I, and which offers need checking.

``StaffQuery`` extends the public ``Query``; ``app.build_schema`` serves it.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from directory_core.staleness import DEFAULT_DAYS, stale_offers

from . import types as t
from .access import require_principal
from .errors import Forbidden, InputError
from .query import Query, directory_of

MAX_STALE = 1000


@strawberry.type(description="The signed-in caller.")
class Viewer:
    name: str
    role: str = strawberry.field(description="admin, editor or counsellor")
    carriers: list[str] = strawberry.field(description="Carriers an editor may write.")


@strawberry.type(name="Query")
class StaffQuery(Query):
    @strawberry.field(description="Who the credentials of this request belong to.")
    def me(self, info: Info) -> Viewer:
        principal = require_principal(info)
        return Viewer(name=principal.name, role=principal.role, carriers=sorted(principal.carriers))

    @strawberry.field(
        description=(
            "Editors and admins: active offers not verified within olderThanDays days "
            "(never verified first, then the oldest); an editor's own carriers only."
        )
    )
    def stale_offers(
        self,
        info: Info,
        older_than_days: int = DEFAULT_DAYS,
        carrier: str | None = None,
        first: int = 100,
    ) -> list[t.Offer]:
        principal = require_principal(info)
        directory = directory_of(info)
        if not principal.writes:
            raise Forbidden(
                f"The role {principal.role} cannot list stale offers (editors and admins can)",
                carrier=carrier,
            )
        if older_than_days < 0:
            raise InputError("olderThanDays", f"must be 0 or more, got {older_than_days}")
        if not 1 <= first <= MAX_STALE:
            raise InputError("first", f"must be between 1 and {MAX_STALE}, got {first}")
        if carrier is not None and carrier not in directory.carrier_by_key:
            known = ", ".join(sorted(directory.carrier_by_key))
            raise InputError("carrier", f"unknown carrier {carrier!r}; allowed: {known}")
        if carrier is not None and not principal.may_write(carrier):
            raise Forbidden(
                f"{principal.name} may not see offers of carrier {carrier!r}", carrier=carrier
            )
        carriers = [carrier] if carrier else None
        if carriers is None and principal.role != "admin":
            carriers = sorted(principal.carriers)
        offers = stale_offers(directory.store, older_than_days, carriers, limit=first)
        extra = info.context.extra
        return [t.offer_node(offer, directory, extra) for offer in offers]
