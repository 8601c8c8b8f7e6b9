"""One log line per interval for a failure that repeats while a server is down.

While the store or a search cluster does not answer, every request fails (or falls back)
the same way; a line per request would flood the log. ``OutageLog`` writes the first
failure and then one line per ``OUTAGE_LOG_SECONDS`` with the number of failures since.
Used by the GraphQL view (``STORE_UNAVAILABLE``), the app's sync task and
``Directory.search`` while it answers from the fallback.
"""

from __future__ import annotations

import logging
import threading
import time

OUTAGE_LOG_SECONDS = 30.0


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
