"""Who is asking, and what they may do: the checks every staff field and mutation uses.

``app.py`` puts the outcome of the ``authenticate`` hook into the context
(``info.context.auth``, ``context.py``); the functions here turn it into ``UNAUTHENTICATED`` and
``FORBIDDEN`` errors. Staff-only fields answer ``null`` to anonymous callers instead of an
error, so a public page of offers never fails because of them.
"""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from directory_core.auth import Authentication, Principal
from directory_core.editing import NotAllowed, check_write

from .context import Context
from .errors import Forbidden, Unauthenticated

SIGN_IN = "sign in: send the header Authorization: Bearer TOKEN (see docs/carriers.md)"


def authentication(info: Info[Context, Any]) -> Authentication:
    """Who sent the request (anonymous unless the ``authenticate`` hook found someone)."""
    return info.context.auth


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
    """``FORBIDDEN`` (naming the carrier) unless ``principal`` may write offers of
    ``carrier`` (the rule is ``directory_core.editing.check_write``)."""
    try:
        check_write(principal, carrier)
    except NotAllowed as exc:
        raise Forbidden(str(exc), carrier=exc.carrier) from None
