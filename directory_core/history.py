"""The history of offers: who changed what, when and how.

Every write of offers (``Store.write_offers``: the API, imports, the CLI, the demo loader)
records one row per offer in ``offer_history`` inside the same transaction as the change,
so a change without its audit row cannot exist. A row holds when, who (a token's or a
principal's name, or the login name for the CLI), how (``api``, ``import``, ``cli``),
the offer's version after the change, an optional note (an archiving reason) and the
changed fields with their old and new values.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import tables as t
from .store_connection import insert_rows

HOW = ("api", "import", "cli")
# bookkeeping columns, not content: never listed as changes
_NOT_CHANGES = frozenset({"id", "created_at", "updated_at", "version"})


def login_name() -> str:
    """The operating-system user running the CLI (``unknown`` in some containers)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Actor:
    """Who writes and through which door: ``how`` is ``api``, ``import`` or ``cli``."""

    who: str
    how: str = "cli"
    note: str = ""

    def __post_init__(self) -> None:
        if self.how not in HOW:
            raise ValueError(f"how must be one of {', '.join(HOW)}, got {self.how!r}")

    @classmethod
    def cli(cls) -> Actor:
        return cls(login_name(), "cli")


class VersionConflict(Exception):
    """A write expected another version of the offer; nothing was written."""

    def __init__(self, offer_id: str, expected: int, current: int | None):
        self.offer_id = offer_id
        self.expected = expected
        self.current = current
        super().__init__(
            f"offer {offer_id} is at version {current}, not {expected}: it was changed "
            "meanwhile; load it again and repeat the change"
            if current is not None
            else f"offer {offer_id} does not exist"
        )


_DATES = (datetime, date)  # a tuple: isinstance with it is faster than with a union


def _plain(value: Any) -> Any:
    """A JSON-storable form of a column value."""
    if isinstance(value, _DATES):
        return value.isoformat()
    return value


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The changed fields between two stored rows (with ``categories`` as a list):
    ``{field: {"old": ..., "new": ...}}``; for a new offer (``old`` is ``None``) the
    fields that have a value."""
    found: dict[str, dict[str, Any]] = {}
    if old is None:  # every offer of an import's first run: the loop kept lean
        for name, value in new.items():
            # empty values are left out: a row's false ones (None, "", [], {}, False, 0)
            if value and name not in _NOT_CHANGES:
                if isinstance(value, _DATES):
                    value = value.isoformat()
                found[name] = {"old": None, "new": value}
        return found
    for name, value in new.items():
        if name in _NOT_CHANGES:
            continue
        before = _plain(old.get(name))
        after = _plain(value)
        if before != after:
            found[name] = {"old": before, "new": after}
    return found


def record(conn: Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Insert history rows (``offer_id``, ``version``, ``at``, ``who``, ``how``,
    ``note``, ``changes``) inside the caller's transaction."""
    insert_rows(conn, t.offer_history, list(entries))


def offer_history(engine: Engine, offer_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The history rows of one offer, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.offer_history)
            .where(t.offer_history.c.offer_id == offer_id)
            .order_by(t.offer_history.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in rows]
