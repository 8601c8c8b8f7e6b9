"""A store that cannot be reached, as clients and the log see it.

While the store's database is down, every request that needs it fails the same way. A
client gets a GraphQL error with the code ``STORE_UNAVAILABLE`` and a message that says
to try again (instead of a masked "Internal server error."), and the log gets one line
per interval saying how many requests failed meanwhile (``directory_core.outage_log``),
instead of a traceback per request. Nothing needs restarting: the connection pool pings its
connections before use, so the first request after the server is back succeeds.
"""

from __future__ import annotations

from graphql import GraphQLError

from directory_core.store import is_outage

from .errors import PublicError

STORE_UNAVAILABLE_MESSAGE = "The directory's database is unavailable; try again in a moment."


class StoreUnavailable(PublicError):
    """The store of record cannot be reached right now."""

    code = "STORE_UNAVAILABLE"


def outage_of(error: GraphQLError) -> BaseException | None:
    """The store outage behind ``error``, if that is what it is."""
    original = error.original_error
    return original if original is not None and is_outage(original) else None
