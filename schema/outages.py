"""A store that cannot be reached, as clients and the log see it.

While the store's database is down, every request that needs it fails the same way. A
client gets a GraphQL error with the code ``STORE_UNAVAILABLE`` and a message that says
to try again (instead of a masked "Internal server error."), and the log gets one line
per ``OUTAGE_LOG_SECONDS`` saying how many requests failed meanwhile (instead of a
traceback per request). Nothing needs restarting: the connection pool pings its
connections before use, so the first request after the server is back succeeds.
"""

from __future__ import annotations

import logging
import threading
import time

from graphql import GraphQLError

from directory_core.store import is_outage

from .errors import PublicError

OUTAGE_LOG_SECONDS = 30.0
STORE_UNAVAILABLE_MESSAGE = "The directory's database is unavailable; try again in a moment."


class StoreUnavailable(PublicError):
    """The store of record cannot be reached right now."""

    code = "STORE_UNAVAILABLE"


class OutageLog:
    """Logs an outage of ``subject`` as one warning line at most every ``interval``
    seconds, with the number of failures since the last line."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = OUTAGE_LOG_SECONDS,
        subject: str = "store",
    ):
        self.logger = logger
        self.interval = interval
        self.subject = subject
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._suppressed = 0

    def report(self, what: str, exc: BaseException) -> None:
        """Count one failure of ``what``; log it if the last line is old enough."""
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        more = f" ({suppressed} more failures since the last report)" if suppressed else ""
        self.logger.warning("%s unavailable: %s failed: %s%s", self.subject, what, first, more)


def outage_of(error: GraphQLError) -> BaseException | None:
    """The store outage behind ``error``, if that is what it is."""
    original = error.original_error
    return original if original is not None and is_outage(original) else None
