"""Opaque page cursors: base64 of ``offset:N``, the position of a hit in the result.

``after: cursor`` continues with the hit after that position. Search backends sort with
a tie-break on id, so offsets neither repeat nor skip hits while the data is unchanged.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from .errors import InputError, quote

_PREFIX = "offset:"
MAX_OFFSET = 1_000_000


@lru_cache(maxsize=4096)  # a page of 20 hits asks for 21 cursors; the first pages repeat
def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode("ascii")


def decode_cursor(cursor: str | None, argument: str = "after") -> int:
    """The offset to start at: one past the cursor's position (0 without a cursor)."""
    if cursor is None:
        return 0
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise InputError(
            argument, f"is not a cursor from this API (not base64), got {quote(cursor)}"
        ) from None
    number = text[len(_PREFIX) :] if text.startswith(_PREFIX) else ""
    if not number.lstrip("-").isdigit() or len(number) > 12:
        raise InputError(argument, f"is not a cursor from this API, got {quote(cursor)}")
    position = int(number)
    if not 0 <= position < MAX_OFFSET:
        raise InputError(argument, f"points to position {position}; allowed: 0 to {MAX_OFFSET - 1}")
    return position + 1
