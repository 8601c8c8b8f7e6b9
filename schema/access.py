"""Who is asking, and what they may do: the checks every staff field and mutation uses.

``app.py`` puts the outcome of the ``authenticate`` hook into the context
(``info.context["auth"]``); the functions here turn it into ``UNAUTHENTICATED`` and
``FORBIDDEN`` errors. Staff-only fields answer ``null`` to anonymous callers instead of an
error, so a public page of offers never fails because of them.
"""

from __future__ import annotations

from strawberry.types import Info

from directory_core.auth import Authentication, Principal

from .errors import Forbidden, Unauthenticated

SIGN_IN = "sign in: send the header Authorization: Bearer TOKEN (see docs/carriers.md)"


def authentication(info: Info) -> Authentication:
    return info.context.get("auth") or Authentication()


def staff(info: Info) -> Principal | None:
    """The signed-in caller (every role sees staff-only fields), or ``None``."""
    return authentication(info).principal


def require_principal(info: Info) -> Principal:
    """The signed-in caller; ``UNAUTHENTICATED`` with the reason if there is none."""
    outcome = authentication(info)
    if outcome.principal is None:
        if outcome.error:
            raise Unauthenticated(f"Not signed in: {outcome.error}")
        raise Unauthenticated(f"Not signed in: {SIGN_IN}")
    return outcome.principal


def require_writer(principal: Principal, carrier: str | None) -> None:
    """``FORBIDDEN`` unless ``principal`` may write offers of ``carrier``."""
    if not principal.writes:
        raise Forbidden(
            f"The role {principal.role} cannot change offers (editors and admins can)",
            carrier=carrier,
        )
    if not principal.may_write(carrier):
        what = f"of carrier {carrier!r}" if carrier else "without a carrier"
        raise Forbidden(
            f"{principal.name} may not change offers {what}; allowed carriers: "
            f"{', '.join(sorted(principal.carriers)) or 'none'}",
            carrier=carrier,
        )
