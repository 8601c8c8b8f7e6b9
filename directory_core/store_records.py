"""Reading offers as records (``store_rows.OfferRecord``) and the outbox head: the reads
before and of every page of offers the API loads (``schema/cache.py``).

On SQLite through Python's ``sqlite3`` driver, the SQL is fixed text with ``?`` marks run
on the driver directly, and the rows are what the driver gives (``OfferRecord`` says what
that means for booleans and times): through SQLAlchemy, setting up each statement and
handling each row was half the time of loading a page of 20 offers (0.55 -> 0.42 ms of
CPU at 100,000 offers; the outbox head 23 -> 10 µs). The driver's errors are raised as
SQLAlchemy's, like those of every other read, so ``is_outage`` and the API's error
handling see what they always saw. Other databases and drivers use SQLAlchemy's
statements, built once (building them took about a fifth of a page), with the JSON
columns cast to text so that records have the same shape everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import tables as t
from .store_rows import JSON_TEXT_COLUMNS, OFFER_COLUMNS, OfferRecord
from .store_writes import _CHUNK

_OFFERS_BY_ID = sa.select(
    *(
        sa.cast(t.offers.c[name], sa.Text) if name in JSON_TEXT_COLUMNS else t.offers.c[name]
        for name in OFFER_COLUMNS
    )
).where(t.offers.c.id.in_(sa.bindparam("ids", expanding=True)))
_OUTBOX_HEAD = sa.select(sa.func.max(t.outbox.c.id))

# the same statements for the driver ({} = the "?" marks of the ids)
_OFFERS_SQL = f"SELECT {', '.join(OFFER_COLUMNS)} FROM offers WHERE id IN ({{}})"
_OUTBOX_HEAD_SQL = "SELECT max(id) FROM outbox"


def offer_records(conn: Connection, ids: list[str]) -> dict[str, OfferRecord]:
    """The records of the offers with these (distinct) ids; unknown ids are left out."""
    driver = _uses_driver(conn)
    result: dict[str, OfferRecord] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if driver:
            rows = _rows(conn, _OFFERS_SQL.format(",".join("?" * len(chunk))), chunk)
            result.update((row[0], row) for row in rows)  # the driver's rows are tuples
        else:
            result.update(
                (row[0], tuple(row)) for row in conn.execute(_OFFERS_BY_ID, {"ids": chunk})
            )
    return result


def outbox_head(conn: Connection) -> int:
    """The newest outbox position (0 for an empty outbox)."""
    if _uses_driver(conn):
        return _rows(conn, _OUTBOX_HEAD_SQL, ())[0][0] or 0
    return conn.execute(_OUTBOX_HEAD).scalar() or 0


def _uses_driver(conn: Connection) -> bool:
    """SQLite through Python's ``sqlite3``, whose errors ``_rows`` knows."""
    return conn.dialect.driver == "pysqlite"


def _rows(conn: Connection, statement: str, params: Sequence[Any]) -> list[Any]:
    """The rows of ``statement`` from the driver under ``conn`` (in its transaction)."""
    try:
        return conn.connection.driver_connection.execute(statement, params).fetchall()
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, params, exc, sqlite3.Error) from exc
